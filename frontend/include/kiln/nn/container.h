#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kiln/module.h"

namespace kiln::nn {

/// Any module behind a type-erased handle, like libtorch's AnyModule: keeps
/// the module (shared) and, when it has a one-tensor forward, a way to call it.
class AnyModule {
 public:
  AnyModule() = default;
  template <class Impl>
  AnyModule(const ModuleHolder<Impl>& holder) : AnyModule(holder.ptr()) {}
  template <class Impl>
  AnyModule(std::shared_ptr<Impl> module) : module_(module) {
    static_assert(std::is_base_of_v<Module, Impl>, "AnyModule needs a kiln::nn::Module");
    if (!module) detail::fail("an empty module cannot be added to a container");
    if constexpr (detail::HasUnaryForward<Impl>::value) {
      forward_ = [m = std::move(module)](const Tensor& x, SourceLoc loc) -> Tensor {
        return detail::call_forward(*m, loc, x);
      };
    }
  }

  /// Throws Error when the module has no forward(Tensor) -> Tensor.
  Tensor forward(const Tensor& input, SourceLoc loc = SourceLoc::current()) const;
  Tensor operator()(const Tensor& input, SourceLoc loc = SourceLoc::current()) const {
    return forward(input, loc);
  }
  bool has_forward() const { return static_cast<bool>(forward_); }
  const std::shared_ptr<Module>& ptr() const { return module_; }
  /// The module as `T` (e.g. as<LinearImpl>()), or nullptr.
  template <class T>
  T* as() const {
    return dynamic_cast<T*>(module_.get());
  }

 private:
  std::shared_ptr<Module> module_;
  std::function<Tensor(const Tensor&, SourceLoc)> forward_;
};

/// Chains modules: forward feeds each child's output to the next, like
/// nn.Sequential. Children are named "0", "1", …; the Sequential itself
/// does not appear in the graph, only its leaves' calls, located at the
/// line that called the Sequential.
class SequentialImpl : public Module {
 public:
  template <class... Modules>
  explicit SequentialImpl(Modules&&... modules) : Module("Sequential") {
    (push_back(std::forward<Modules>(modules)), ...);
  }

  /// Appends a module that has forward(Tensor) -> Tensor.
  template <class M>
  void push_back(M&& module) {
    push_back_any(AnyModule(std::forward<M>(module)));
  }

  Tensor forward(const Tensor& input, SourceLoc loc = SourceLoc::current());

  size_t size() const { return modules_.size(); }
  const AnyModule& operator[](size_t index) const;
  auto begin() const { return modules_.begin(); }
  auto end() const { return modules_.end(); }

 private:
  void push_back_any(AnyModule module);
  std::vector<AnyModule> modules_;
};
KILN_MODULE(Sequential);

/// An indexed list of modules, named "0", "1", …, like nn.ModuleList. It has
/// no forward: the owner iterates over it (`for (auto& l : *layers) x = l(x);`).
class ModuleListImpl : public Module {
 public:
  template <class... Modules>
  explicit ModuleListImpl(Modules&&... modules) : Module("ModuleList") {
    (push_back(std::forward<Modules>(modules)), ...);
  }

  template <class M>
  void push_back(M&& module) {
    push_back_any(AnyModule(std::forward<M>(module)));
  }

  size_t size() const { return modules_.size(); }
  /// Throws Error when `index` is out of range.
  const AnyModule& operator[](size_t index) const;
  auto begin() const { return modules_.begin(); }
  auto end() const { return modules_.end(); }

 private:
  void push_back_any(AnyModule module);
  std::vector<AnyModule> modules_;
};
KILN_MODULE(ModuleList);

/// Modules by name, in insertion order, like nn.ModuleDict: each is a child
/// named by its key (a state_dict path part: non-empty, no '.'). No forward:
/// the owner calls `(*dict)["encoder"](x)`.
class ModuleDictImpl : public Module {
 public:
  ModuleDictImpl() : Module("ModuleDict") {}

  /// Adds `module` under `key`; throws Error when the key is taken.
  template <class M>
  void insert(std::string key, M&& module) {
    insert_any(std::move(key), AnyModule(std::forward<M>(module)));
  }

  size_t size() const { return modules_.size(); }
  bool contains(const std::string& key) const;
  std::vector<std::string> keys() const;
  /// Throws Error when there is no module under `key`.
  const AnyModule& operator[](const std::string& key) const;

 private:
  void insert_any(std::string key, AnyModule module);
  std::vector<std::pair<std::string, AnyModule>> modules_;
};
KILN_MODULE(ModuleDict);

/// Parameters named "0", "1", ..., like nn.ParameterList (state_dict keys
/// `<path>.0`, ...). `append` declares one and returns its handle.
class ParameterListImpl : public Module {
 public:
  ParameterListImpl() : Module("ParameterList") {}

  Tensor append(Shape shape, init::Spec init = init::normal(), SourceLoc loc = SourceLoc::current());
  size_t size() const { return own_parameters().size(); }
  /// Throws Error when `index` is out of range.
  Tensor operator[](size_t index) const;
};
KILN_MODULE(ParameterList);

/// Parameters by key, in insertion order, like nn.ParameterDict (state_dict
/// keys `<path>.<key>`; a key is non-empty and has no '.').
class ParameterDictImpl : public Module {
 public:
  ParameterDictImpl() : Module("ParameterDict") {}

  /// Declares parameter `key`; throws Error when the key is taken.
  Tensor insert(std::string key, Shape shape, init::Spec init = init::normal(),
                SourceLoc loc = SourceLoc::current());
  size_t size() const { return own_parameters().size(); }
  bool contains(const std::string& key) const;
  std::vector<std::string> keys() const;
  /// Throws Error when there is no parameter under `key`.
  Tensor operator[](const std::string& key) const { return parameter(key); }
};
KILN_MODULE(ParameterDict);

}  // namespace kiln::nn
