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

}  // namespace kiln::nn
