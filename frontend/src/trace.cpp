#include "kiln/trace.h"

#include <atomic>
#include <cctype>

#include "kiln/module.h"

namespace kiln::detail {
namespace {

thread_local Trace* active_trace = nullptr;
std::atomic<uint64_t> next_trace_id{1};

}  // namespace

bool is_c_identifier(const std::string& s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return true;
}

Trace::Trace(const nn::Module& root, std::set<std::string> reserved, SourceLoc loc)
    : id_(next_trace_id++), reserved_(std::move(reserved)), previous_(active_trace) {
  if (active_trace) fail(loc, "save_model cannot be called while another model is being traced");
  for (const auto& [path, m] : root.named_modules()) {
    auto [it, inserted] = paths_.emplace(m, path);
    if (!inserted) {
      fail(loc, "module '" + path + "' (" + m->type_name() + ") is the same instance as module '" + it->second +
                    "': register a module once and call it twice to share it");
    }
  }
  active_trace = this;
}

Trace::~Trace() { active_trace = previous_; }

Trace& Trace::active(const std::string& what, SourceLoc loc) {
  if (!active_trace) {
    fail(loc, what + " was called outside kiln::save_model; modules only run while a model is traced");
  }
  return *active_trace;
}

Trace* Trace::current() { return active_trace; }

const std::string& Trace::parameter_value(const ParamRef& ref, const Shape& shape) {
  auto key = std::make_pair(ref.owner, ref.name);
  auto it = parameter_values_.find(key);
  if (it != parameter_values_.end()) return it->second;
  const std::string& path = path_of(*ref.owner, ref.loc);
  for (const Reparametrization& r : ref.owner->reparametrizations()) {
    if (r.parameter == ref.name) {
      fail(ref.loc, "parameter '" + (path.empty() ? ref.name : path + "." + ref.name) + "' is re-parametrized (" +
                        r.kind + "): it is computed at each call of its layer, not a parameter to read");
    }
  }
  GraphNode node;
  node.parameter = path.empty() ? ref.name : path + "." + ref.name;
  // A layer's parameter (a tied weight) was registered inside the DSL's
  // sources: that line would mislead, so the node has no loc.
  if (!ref.owner->layer_options()) node.loc = ref.loc;
  Tensor value = record(std::move(node), shape, Dtype::Float32);
  return parameter_values_.emplace(key, value.name_).first->second;
}

Tensor Trace::bind_input(const Tensor& declared, SourceLoc loc) {
  if (declared.param_) {
    fail(loc, "parameter '" + declared.param_->name + "' cannot be a model input (inputs are kiln::input()s)");
  }
  const std::string& name = declared.name_;
  if (declared.trace_id_ != 0) fail(loc, "model input '" + name + "' must be a kiln::input(), not a traced value");
  if (!is_c_identifier(name)) {
    fail(loc, "model input name '" + name + "' must be a C identifier (it names an argument of the generated C API)");
  }
  for (const Tensor& t : inputs_) {
    if (t.name_ == name) fail(loc, "two model inputs are named '" + name + "'");
  }
  for (int64_t d : declared.shape_) {
    if (d < 1) {
      fail(loc, "model input '" + name + "' has shape " + shape_str(declared.shape_) +
                    "; shapes are static and every dimension must be >= 1");
    }
  }
  if (declared.dtype_ == Dtype::Bool) {
    fail(loc, "model input '" + name + "' is bool: model inputs are float32 (or int64 targets)");
  }
  Tensor t(name, declared.shape_, declared.dtype_, id_);
  inputs_.push_back(t);
  return t;
}

void Trace::check_value(const Tensor& t, const std::string& what, SourceLoc loc) const {
  if (!t.defined()) fail(loc, what + " got an undefined tensor");
  if (t.param_) {
    if (!paths_.count(t.param_->owner)) {
      fail(loc, what + " got parameter '" + t.param_->name +
                    "' of a module that is not part of the model being traced (register its module "
                    "with register_module())");
    }
    return;
  }
  if (t.trace_id_ != id_) {
    fail(loc, what + " got tensor '" + t.name_ +
                  "', which is not a value of the model being traced (pass model inputs to kiln::save_model "
                  "and use what forward receives)");
  }
}

const std::string& Trace::path_of(const nn::Module& m, SourceLoc loc) const {
  auto it = paths_.find(&m);
  if (it == paths_.end()) {
    fail(loc, "a " + m.type_name() +
                  " module was called but is not registered in the model being saved; register it with "
                  "register_module() in its parent's constructor");
  }
  return it->second;
}

std::string Trace::fresh_name() {
  std::string name;
  do {
    name = "v" + std::to_string(counter_++);
  } while (reserved_.count(name));
  return name;
}

Tensor Trace::record(GraphNode node, Shape shape, Dtype dtype) {
  Tensor out(fresh_name(), std::move(shape), dtype, id_);
  node.outputs = {out.name_};
  node.loc = resolve_caller_loc(node.loc);  // the scope ends before saving
  nodes_.push_back(std::move(node));
  return out;
}

std::vector<Tensor> Trace::record(GraphNode node, const std::vector<std::pair<Shape, Dtype>>& outputs) {
  std::vector<Tensor> values;
  node.outputs.clear();
  for (const auto& [shape, dtype] : outputs) {
    values.push_back(Tensor(fresh_name(), shape, dtype, id_));
    node.outputs.push_back(values.back().name_);
  }
  node.loc = resolve_caller_loc(node.loc);
  nodes_.push_back(std::move(node));
  return values;
}

}  // namespace kiln::detail
