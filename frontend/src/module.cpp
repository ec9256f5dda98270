#include "kiln/module.h"

#include <cxxabi.h>

#include <cstdlib>
#include <variant>
#include <typeinfo>

namespace kiln::nn {
namespace {

// Types the model file gives a meaning to: a user module spelled like one of
// them is written as "Module" so the importer cannot mistake it for a layer.
bool is_builtin_type(const std::string& name) {
  // "Transformer": a container the importer gives a meaning to (its
  // matrices start xavier_uniform_).
  static const char* const kBuiltin[] = {"Module", "Sequential", "ModuleList", "Linear", "ReLU",
                                         "Flatten", "CrossEntropyLoss", "MSELoss", "Transformer"};
  for (const char* b : kBuiltin) {
    if (name == b) return true;
  }
  return false;
}

std::string demangled_class_name(const std::type_info& type) {
  int status = 0;
  char* raw = abi::__cxa_demangle(type.name(), nullptr, nullptr, &status);
  std::string name = status == 0 && raw ? raw : type.name();
  std::free(raw);
  return name;
}

}  // namespace

Module::Module(std::string type_name) : type_name_(std::move(type_name)) {}
Module::~Module() = default;

std::string Module::type_name() const {
  if (!type_name_.empty()) return type_name_;
  std::string name = demangled_class_name(typeid(*this));
  if (name.find('<') != std::string::npos) return "Module";  // templates
  size_t colon = name.rfind("::");  // namespaces, enclosing classes or functions
  if (colon != std::string::npos) name = name.substr(colon + 2);
  if (name.find_first_of("() ") != std::string::npos) return "Module";
  const std::string impl = "Impl";
  if (name.size() > impl.size() && name.compare(name.size() - impl.size(), impl.size(), impl) == 0) {
    name.resize(name.size() - impl.size());
  }
  if (name.empty() || is_builtin_type(name)) return "Module";
  return name;
}

void Module::check_new_name(const std::string& name, const char* what) const {
  if (name.empty() || name.find('.') != std::string::npos) {
    detail::fail(std::string(what) + " name '" + name + "' in " + type_name() +
                 " must be non-empty and contain no '.' (dots separate state_dict path components)");
  }
  for (const auto& [n, _] : children_) {
    if (n == name) detail::fail(type_name() + " already has a submodule named '" + name + "'");
  }
  if (find_parameter(name)) detail::fail(type_name() + " already has a parameter named '" + name + "'");
  for (const auto& [n, _] : buffers_) {
    if (n == name) detail::fail(type_name() + " already has a buffer named '" + name + "'");
  }
}

const Parameter* Module::find_parameter(const std::string& name) const {
  for (const auto& [n, p] : params_) {
    if (n == name) return &p;
  }
  return nullptr;
}

void Module::register_child(std::string name, std::shared_ptr<Module> child) {
  check_new_name(name, "submodule");
  if (!child) detail::fail("register_module(\"" + name + "\"): the module is empty (constructed with nullptr)");
  if (child.get() == this) detail::fail("register_module(\"" + name + "\"): a module cannot contain itself");
  children_.emplace_back(std::move(name), std::move(child));
}

Tensor Module::register_parameter(std::string name, Shape shape, Init init, SourceLoc loc) {
  check_new_name(name, "parameter");
  for (int64_t d : shape) {
    if (d < 1) {
      detail::fail(loc, "register_parameter(\"" + name + "\"): every dimension must be >= 1, got " +
                            shape_str(shape));
    }
  }
  params_.emplace_back(name, Parameter{shape, init, std::nullopt, loc});
  return Tensor(detail::ParamRef{this, std::move(name), loc}, std::move(shape));
}

Tensor Module::register_parameter(std::string name, Shape shape, init::Spec init, SourceLoc loc) {
  Tensor handle = register_parameter(std::move(name), std::move(shape), Init::Zeros, loc);
  params_.back().second.spec = std::move(init);
  return handle;
}

Tensor Module::register_buffer(std::string name, Shape shape, init::Spec init, SourceLoc loc) {
  if (layer_options()) {
    detail::fail(loc, "register_buffer(\"" + name + "\"): " + type_name() +
                          " is a built-in layer; its buffers follow from its type and options");
  }
  check_new_name(name, "buffer");
  for (int64_t d : shape) {
    if (d < 1) {
      detail::fail(loc, "register_buffer(\"" + name + "\"): every dimension must be >= 1, got " + shape_str(shape));
    }
  }
  buffers_.emplace_back(name, Parameter{shape, Init::Zeros, std::move(init), loc});
  return Tensor(detail::ParamRef{this, std::move(name), loc}, std::move(shape));
}

Tensor Module::parameter(const std::string& name) const {
  if (const Parameter* p = find_parameter(name)) return Tensor(detail::ParamRef{this, name, p->loc}, p->shape);
  std::string known;
  for (const auto& [n, _] : params_) known += (known.empty() ? "" : ", ") + n;
  detail::fail(type_name() + " has no parameter '" + name + "' (it has: " +
               (known.empty() ? std::string("none") : known) + ")");
}

std::vector<std::pair<std::string, const Module*>> Module::named_modules() const {
  std::vector<std::pair<std::string, const Module*>> out;
  // Depth first in registration order, like torch's named_modules(); a cycle
  // (a module registered inside its own subtree) is reported, not followed.
  std::vector<const Module*> stack;
  auto visit = [&](auto& self, const Module& m, const std::string& path) -> void {
    for (const Module* s : stack) {
      if (s == &m) detail::fail("module '" + path + "' (" + m.type_name() + ") is registered inside itself");
    }
    out.emplace_back(path, &m);
    stack.push_back(&m);
    for (const auto& [name, child] : m.children_) self(self, *child, path.empty() ? name : path + "." + name);
    stack.pop_back();
  };
  visit(visit, *this, "");
  return out;
}

void Module::add_reparametrization(Reparametrization r) {
  if (!layer_options()) {
    detail::fail(r.kind + "(" + type_name() + ", '" + r.parameter +
                 "'): Kiln re-parametrizes the parameters of built-in layers only");
  }
  if (!find_parameter(r.parameter)) detail::fail(r.kind + ": " + type_name() + " has no parameter '" + r.parameter + "'");
  for (const Reparametrization& other : reparams_) {
    if (other.parameter == r.parameter) {
      detail::fail(r.kind + ": parameter '" + r.parameter + "' of " + type_name() + " is already re-parametrized (" +
                   other.kind + ")");
    }
  }
  reparams_.push_back(std::move(r));
}

namespace {

/// What replaces a re-parametrized parameter, in torch's order.
std::vector<std::pair<std::string, Shape>> replacements(const Reparametrization& r, const Shape& shape) {
  // torch.nn.utils.parametrizations: under the ParametrizationList.
  bool listed = r.kind.rfind("parametrizations.", 0) == 0;
  std::string list = "parametrizations." + r.parameter;
  if (r.kind != "weight_norm" && r.kind != "parametrizations.weight_norm")
    return {{listed ? list + ".original" : r.parameter + "_orig", shape}};
  int64_t dim = 0;
  for (const auto& [key, value] : r.options) {
    if (key == "dim") dim = std::holds_alternative<int64_t>(value) ? std::get<int64_t>(value) : -1;
  }
  Shape g;
  if (dim >= 0) {
    g.assign(shape.size(), 1);
    g[static_cast<size_t>(dim)] = shape[static_cast<size_t>(dim)];
  }
  if (listed) return {{list + ".original0", g}, {list + ".original1", shape}};
  return {{r.parameter + "_g", g}, {r.parameter + "_v", shape}};
}

}  // namespace

std::vector<NamedParameter> Module::named_parameters() const {
  std::vector<NamedParameter> out;
  for (const auto& [path, m] : named_modules()) {
    auto key = [&path = path](const std::string& name) { return path.empty() ? name : path + "." + name; };
    auto reparametrized = [&m = m](const std::string& name) {
      for (const Reparametrization& r : m->reparams_) {
        if (r.parameter == name) return true;
      }
      return false;
    };
    for (const auto& [name, p] : m->params_) {
      if (!reparametrized(name)) out.push_back({key(name), p.shape, p.init});
    }
    // torch deletes a re-parametrized parameter and registers what replaces
    // it last, in the order the re-parametrizations were applied.
    for (const Reparametrization& r : m->reparams_) {
      const Parameter* p = m->find_parameter(r.parameter);
      for (const auto& [rep, shape] : replacements(r, p->shape)) out.push_back({key(rep), shape, p->init});
    }
  }
  return out;
}

}  // namespace kiln::nn
