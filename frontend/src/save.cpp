#include "kiln/save.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "ir/FormatNumber.h"

namespace kiln::detail {
namespace {

// ordered_json keeps keys in insertion order, so files read like the spec.
using Json = nlohmann::ordered_json;

Json options_json(const OptionList& options) {
  Json j = Json::object();
  for (const auto& [key, value] : options) {
    std::visit([&, &key = key](const auto& v) { j[key] = v; }, value);
  }
  return j;
}

/// training.scheduler: {type, options[, schedulers]}; kilnc checks it.
Json scheduler_json(const optim::LRScheduler& s) {
  Json j{{"type", s.type}, {"options", options_json(s.options)}};
  if (!s.schedulers.empty()) {
    Json kids = Json::array();
    for (const optim::LRScheduler& k : s.schedulers) kids.push_back(scheduler_json(k));
    j["schedulers"] = std::move(kids);
  }
  return j;
}

Json tensor_json(const Tensor& t) {
  return Json{{"name", t.name()}, {"shape", t.sizes()}, {"dtype", dtype_name(t.dtype())}};
}

/// A user module's parameter initializer as the model file's numbers.
Json init_json(const std::string& what, const Parameter& p) {
  nn::init::Spec spec;
  if (p.spec) {
    spec = *p.spec;
  } else {
    switch (p.init) {
      case Init::Zeros: spec = nn::init::zeros(); break;
      case Init::Ones: spec = nn::init::ones(); break;
      case Init::Normal: spec = nn::init::normal(0, 1); break;
      case Init::XavierUniform: spec = nn::init::xavier_uniform(); break;
      case Init::XavierNormal: spec = nn::init::xavier_normal(); break;
      // Built-in layers' KaimingUniform is kaiming_uniform_(a=sqrt(5)).
      case Init::KaimingUniform: spec = nn::init::kaiming_uniform(std::sqrt(5.0)); break;
      case Init::FanInUniform:
      case Init::Constant:
        fail(p.loc, what + ": Init::FanInUniform and Init::Constant take their numbers from a built-in "
                           "layer; a user module's parameter takes an init::Spec (init::uniform(a, b), "
                           "init::constant(v), ...)");
    }
  }
  spec = nn::init::resolve(spec, p.shape, what);
  switch (spec.kind) {
    case nn::init::Spec::Zeros: return Json{{"kind", "zeros"}};
    case nn::init::Spec::Ones: return Json{{"kind", "ones"}};
    case nn::init::Spec::Constant: return Json{{"kind", "constant"}, {"value", spec.a}};
    case nn::init::Spec::Uniform: return Json{{"kind", "uniform"}, {"a", spec.a}, {"b", spec.b}};
    default: return Json{{"kind", "normal"}, {"mean", spec.a}, {"std", spec.b}};
  }
}

// Built-in layers carry "options"; containers and user modules "children"
// and their own "parameters" (torch's nn.Parameter attributes).
Json module_json(const nn::Module& m, const std::string* name, const std::string& path) {
  Json j = Json::object();
  if (name) j["name"] = *name;
  j["type"] = m.type_name();
  if (m.skip_init()) j["skip_init"] = true;
  if (auto options = m.layer_options()) {
    j["options"] = options_json(*options);
    if (!m.reparametrizations().empty()) {
      Json list = Json::array();
      for (const Reparametrization& r : m.reparametrizations()) {
        Json e{{"kind", r.kind}, {"parameter", r.parameter}};
        Json options = options_json(r.options);  // (items() of a temporary would dangle)
        for (const auto& [key, value] : options.items()) e[key] = value;
        list.push_back(std::move(e));
      }
      j["reparametrize"] = std::move(list);
    }
  } else {
    if (!m.own_parameters().empty()) {
      Json params = Json::array();
      for (const auto& [pname, p] : m.own_parameters()) {
        std::string key = path.empty() ? pname : path + "." + pname;
        params.push_back(Json{{"name", pname}, {"shape", p.shape},
                              {"init", init_json("parameter '" + key + "'", p)}});
      }
      j["parameters"] = std::move(params);
    }
    if (!m.own_buffers().empty()) {
      Json buffers = Json::array();
      for (const auto& [bname, b] : m.own_buffers()) {
        std::string key = path.empty() ? bname : path + "." + bname;
        buffers.push_back(Json{{"name", bname}, {"shape", b.shape},
                               {"init", init_json("buffer '" + key + "'", b)}});
      }
      j["buffers"] = std::move(buffers);
    }
    Json children = Json::array();
    for (const auto& [child_name, child] : m.named_children()) {
      children.push_back(module_json(*child, &child_name, path.empty() ? child_name : path + "." + child_name));
    }
    j["children"] = std::move(children);
  }
  return j;
}

Json node_json(const GraphNode& node) {
  Json j = Json::object();
  if (!node.parameter.empty()) {
    j["parameter"] = node.parameter;
  } else if (node.function.empty()) {
    j["module"] = node.module;
    if (!node.method.empty()) j["method"] = node.method;
    // A layer's forward arguments besides its inputs, when it has any.
    if (!node.options.empty()) j["options"] = options_json(node.options);
  } else {
    j["function"] = node.function;
    j["options"] = options_json(node.options);
  }
  j["inputs"] = node.inputs;
  j["outputs"] = node.outputs;
  std::string loc = node.loc.short_str();
  if (!loc.empty()) j["loc"] = loc;
  return j;
}

}  // namespace

std::set<std::string> reserved_names(const std::vector<Tensor>& inputs, const std::optional<Training>& training) {
  std::set<std::string> names;
  for (const Tensor& t : inputs) names.insert(t.name());
  if (training && training->target().defined()) names.insert(training->target().name());
  return names;
}

std::string default_model_name(const std::string& path) {
  std::string stem = path;
  size_t slash = stem.find_last_of('/');
  if (slash != std::string::npos) stem = stem.substr(slash + 1);
  size_t dot = stem.find('.');
  if (dot != std::string::npos) stem = stem.substr(0, dot);
  return stem;
}

void validate_model_name(const std::string& name, SourceLoc loc) {
  if (!is_c_identifier(name)) {
    fail(loc, "model name '" + name +
                  "' is not a C identifier ([A-Za-z_][A-Za-z0-9_]*), but it prefixes the generated C functions; "
                  "rename the output file or pass a name to save_model");
  }
  if (name == "kiln" || name.rfind("kiln_", 0) == 0) {
    fail(loc, "model name '" + name + "' would clash with the runtime's C API prefix 'kiln_'");
  }
}

/// training.optimizer.param_groups: each group's modules expanded to their
/// parameters' state_dict names (kilnc checks the names and that no
/// parameter is in two groups); its options as given, if any.
Json param_groups_json(const nn::Module& root, const optim::Optimizer& optimizer, SourceLoc loc) {
  const std::vector<optim::ParamGroup>& groups = optimizer.param_groups();
  const std::vector<NamedParameter> params = root.named_parameters();
  const auto modules = root.named_modules();
  Json out = Json::array();
  for (size_t g = 0; g < groups.size(); ++g) {
    Json names = Json::array();
    for (const optim::ParamRef& ref : groups[g].params()) {
      if (!ref.module()) {
        names.push_back(ref.name());
        continue;
      }
      const std::string* path = nullptr;
      for (const auto& [p, m] : modules)
        if (m == ref.module()) path = &p;
      if (!path)
        fail(loc, "parameter group " + std::to_string(g) + ": a module of it is not part of the model");
      for (const NamedParameter& p : params)
        if (path->empty() || p.name.rfind(*path + ".", 0) == 0) names.push_back(p.name);
    }
    Json group = Json{{"params", std::move(names)}};
    // Options of another optimizer: a group of that optimizer.
    if (!groups[g].options_type().empty() && groups[g].options_type() != optimizer.type_name())
      group["type"] = groups[g].options_type();
    if (groups[g].options()) group["options"] = options_json(*groups[g].options());
    out.push_back(std::move(group));
  }
  return out;
}

std::string serialize_model(const Trace& trace, const nn::Module& root, const std::vector<Tensor>& outputs,
                            const std::optional<Training>& training, const std::string& name, SourceLoc loc) {
  if (outputs.empty()) fail(loc, "the model's forward returned no tensor");
  Json output_names = Json::array();
  for (const Tensor& t : outputs) {
    trace.check_value(t, "the model's output", loc);
    if (t.dtype() == Dtype::Bool) {
      fail(loc, "the model's output '" + t.name() +
                    "' is a bool mask (a comparison's result); outputs are float32 or int64 (select with "
                    "where())");
    }
    output_names.push_back(t.name());
  }

  Json j = Json::object();
  j["format"] = "kiln-model";
  j["version"] = 1;
  j["name"] = name;
  Json inputs = Json::array();
  for (const Tensor& t : trace.inputs()) inputs.push_back(tensor_json(t));
  j["inputs"] = std::move(inputs);
  j["module"] = module_json(root, nullptr, "");
  Json graph = Json::array();
  for (const GraphNode& node : trace.nodes()) graph.push_back(node_json(node));
  j["graph"] = std::move(graph);
  j["outputs"] = std::move(output_names);

  if (training) {
    if (!training->loss() && !training->loss_output())
      fail(loc, "Training has no loss; set one with .loss(kiln::nn::CrossEntropyLoss()) or .loss_output(i)");
    if (training->loss() && training->loss_output())
      fail(loc, "Training has both a loss module and a loss_output; one of the two");
    if (!training->optimizer()) fail(loc, "Training has no optimizer; set one with .optimizer(kiln::optim::SGD(...))");
    const Tensor& target = training->target();
    if (target.defined()) {
      if (!is_c_identifier(target.name())) {
        fail(loc, "target name '" + target.name() + "' must be a C identifier (it names an argument of the generated C API)");
      }
      for (const Tensor& t : trace.inputs()) {
        if (t.name() == target.name()) fail(loc, "the target and a model input are both named '" + t.name() + "'");
      }
      for (int64_t d : target.sizes()) {
        if (d < 1) fail(loc, "target '" + target.name() + "' has shape " + shape_str(target.sizes()) +
                                 "; every dimension must be >= 1");
      }
    }
    auto require_target = [&](const std::string& why) {
      if (!target.defined()) fail(loc, "Training has no target, but " + why + "; set one with .target(kiln::input(\"target\", ...))");
    };
    Json t = Json::object();
    if (const std::optional<int>& index = training->loss_output()) {
      if (*index < 0 || static_cast<size_t>(*index) >= outputs.size())
        fail(loc, "Training::loss_output: " + std::to_string(*index) + " is not an output index (forward returns " +
                      std::to_string(outputs.size()) + ")");
      const Tensor& value = outputs[static_cast<size_t>(*index)];
      if (!value.sizes().empty() || value.dtype() != kFloat32)
        fail(loc, "Training::loss_output: output " + std::to_string(*index) + " has shape " +
                      shape_str(value.sizes()) + "; the loss must be a float32 scalar");
      t["loss"] = Json{{"output", value.name()}};
    } else {
      const nn::Loss& loss = *training->loss();
      std::vector<Tensor> loss_args;
      Json loss_names = Json::array();
      if (training->loss_inputs().empty()) {
        size_t wanted = static_cast<size_t>(loss.num_inputs()) - 1;
        if (outputs.size() != wanted) {
          fail(loc, wanted == 1 ? "training needs a model with exactly one output (the loss input), this one has " +
                                      std::to_string(outputs.size())
                                : std::string(loss.type_name()) + " takes " + std::to_string(wanted) +
                                      " model outputs and the target; forward returns " +
                                      std::to_string(outputs.size()) + " (or name them with Training::loss_inputs)");
        }
        require_target(std::string(loss.type_name()) + " takes the model's outputs and the target");
        loss_args = outputs;
        loss_args.push_back(target);
      } else {
        for (int k : training->loss_inputs()) {
          size_t input = static_cast<size_t>(-2 - static_cast<int64_t>(k));  // Training::model_input
          if (k == Training::kTarget) {
            require_target("Training::loss_inputs names Training::kTarget");
            loss_args.push_back(target);
          } else if (k >= 0 && static_cast<size_t>(k) < outputs.size()) {
            loss_args.push_back(outputs[k]);
          } else if (k <= -2 && input < trace.inputs().size()) {
            loss_args.push_back(trace.inputs()[input]);
          } else {
            fail(loc, "Training::loss_inputs: " + std::to_string(k) + " is neither an output index (forward returns " +
                          std::to_string(outputs.size()) + "), Training::kTarget nor a Training::model_input(i) (" +
                          std::to_string(trace.inputs().size()) + " inputs)");
          }
          loss_names.push_back(loss_args.back().name());
        }
        if (loss_args.size() != static_cast<size_t>(loss.num_inputs())) {
          fail(loc, std::string(loss.type_name()) + " takes " + std::to_string(loss.num_inputs()) +
                        " inputs, Training::loss_inputs names " + std::to_string(loss_args.size()));
        }
      }
      loss.check_inputs(loss_args, loc);
      t["loss"] = Json{{"type", loss.type_name()}, {"options", options_json(loss.option_list())}};
      if (!loss_names.empty()) t["loss"]["inputs"] = std::move(loss_names);
    }
    if (target.defined()) t["target"] = tensor_json(target);
    t["optimizer"] = Json{{"type", training->optimizer()->type_name()},
                          {"options", options_json(training->optimizer()->option_list())}};
    if (!training->optimizer()->param_groups().empty())
      t["optimizer"]["param_groups"] = param_groups_json(root, *training->optimizer(), loc);
    if (const auto& clip = training->clip()) {
      if (clip->by_norm) {
        if (!(clip->value > 0) || !std::isfinite(clip->value))
          fail(loc, "clip_grad_norm: max_norm " + formatExact(clip->value) + " must be finite and > 0");
        if (!(clip->norm_type > 0))
          fail(loc, "clip_grad_norm: norm_type " + formatExact(clip->norm_type) +
                        " is not supported (a number > 0 or INFINITY)");
        Json norm_type = std::isinf(clip->norm_type) ? Json("inf") : Json(clip->norm_type);
        t["clip_grad_norm"] = Json{{"max_norm", clip->value}, {"norm_type", norm_type},
                                   {"error_if_nonfinite", clip->error_if_nonfinite}};
      } else {
        if (!(clip->value >= 0) || !std::isfinite(clip->value))
          fail(loc, "clip_grad_value: clip_value " + formatExact(clip->value) + " must be finite and >= 0");
        t["clip_grad_value"] = Json{{"clip_value", clip->value}};
      }
    }
    if (const auto& scheduler = training->scheduler()) t["scheduler"] = scheduler_json(*scheduler);
    if (training->wants_update_bn()) t["update_bn"] = true;
    if (!training->frozen().empty()) {
      // Each entry must name a parameter or a module with parameters.
      const std::vector<NamedParameter> params = root.named_parameters();
      for (const std::string& key : training->frozen()) {
        bool found = false;
        for (const NamedParameter& p : params) found |= p.name == key || p.name.rfind(key + ".", 0) == 0;
        if (!found) fail(loc, "Training::frozen: '" + key + "' is no parameter and no module with parameters");
      }
      t["frozen"] = training->frozen();
    }
    j["training"] = std::move(t);
  }
  return j.dump(2) + "\n";
}

void write_file_atomic(const std::string& path, const std::string& contents, SourceLoc loc) {
  auto error = [&](const std::string& what, int err) {
    fail(loc, "cannot write model file '" + path + "': " + what + ": " + std::strerror(err));
  };
  std::string tmp = path + ".tmp.XXXXXX";
  int fd = ::mkstemp(tmp.data());
  if (fd < 0) error("cannot create a temporary file next to it", errno);
  ::fchmod(fd, 0644);  // mkstemp creates 0600; the model file is not secret
  const char* p = contents.data();
  size_t left = contents.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      error("write failed", err);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    error("cannot flush '" + tmp + "'", err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    error("cannot rename '" + tmp + "' to it", err);
  }
}

}  // namespace kiln::detail
