#include "kiln/nn/container.h"

namespace kiln::nn {

Tensor AnyModule::forward(const Tensor& input, SourceLoc loc) const {
  if (!module_) detail::fail(loc, "calling an empty AnyModule");
  if (!forward_) detail::fail(loc, module_->type_name() + " has no forward(Tensor) -> Tensor to call");
  return forward_(input, loc);
}

void SequentialImpl::push_back_any(AnyModule module) {
  if (!module.has_forward()) {
    detail::fail("Sequential: child " + std::to_string(modules_.size()) + " (" + module.ptr()->type_name() +
                 ") has no forward(Tensor) -> Tensor");
  }
  register_child(std::to_string(modules_.size()), module.ptr());
  modules_.push_back(std::move(module));
}

Tensor SequentialImpl::forward(const Tensor& input, SourceLoc loc) {
  Tensor x = input;
  for (const AnyModule& m : modules_) x = m.forward(x, loc);
  return x;
}

const AnyModule& SequentialImpl::operator[](size_t index) const {
  if (index >= modules_.size()) {
    detail::fail("Sequential index " + std::to_string(index) + " out of range (size " +
                 std::to_string(modules_.size()) + ")");
  }
  return modules_[index];
}

void ModuleListImpl::push_back_any(AnyModule module) {
  register_child(std::to_string(modules_.size()), module.ptr());
  modules_.push_back(std::move(module));
}

const AnyModule& ModuleListImpl::operator[](size_t index) const {
  if (index >= modules_.size()) {
    detail::fail("ModuleList index " + std::to_string(index) + " out of range (size " +
                 std::to_string(modules_.size()) + ")");
  }
  return modules_[index];
}

void ModuleDictImpl::insert_any(std::string key, AnyModule module) {
  register_child(key, module.ptr());  // checks the key
  modules_.emplace_back(std::move(key), std::move(module));
}

bool ModuleDictImpl::contains(const std::string& key) const {
  for (const auto& [k, _] : modules_) {
    if (k == key) return true;
  }
  return false;
}

std::vector<std::string> ModuleDictImpl::keys() const {
  std::vector<std::string> out;
  for (const auto& [k, _] : modules_) out.push_back(k);
  return out;
}

const AnyModule& ModuleDictImpl::operator[](const std::string& key) const {
  for (const auto& [k, m] : modules_) {
    if (k == key) return m;
  }
  detail::fail("ModuleDict has no module under key '" + key + "'");
}

Tensor ParameterListImpl::append(Shape shape, init::Spec init, SourceLoc loc) {
  return register_parameter(std::to_string(size()), std::move(shape), std::move(init), loc);
}

Tensor ParameterListImpl::operator[](size_t index) const {
  if (index >= size()) {
    detail::fail("ParameterList index " + std::to_string(index) + " out of range (size " + std::to_string(size()) +
                 ")");
  }
  return parameter(std::to_string(index));
}

Tensor ParameterDictImpl::insert(std::string key, Shape shape, init::Spec init, SourceLoc loc) {
  return register_parameter(std::move(key), std::move(shape), std::move(init), loc);
}

bool ParameterDictImpl::contains(const std::string& key) const { return find_parameter(key) != nullptr; }

std::vector<std::string> ParameterDictImpl::keys() const {
  std::vector<std::string> out;
  for (const auto& [k, _] : own_parameters()) out.push_back(k);
  return out;
}

}  // namespace kiln::nn
