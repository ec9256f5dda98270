#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "kiln/error.h"
#include "kiln/init.h"
#include "kiln/options.h"
#include "kiln/tensor.h"

namespace kiln {

/// How a parameter is initialized by the generated `<name>_init` (PyTorch's
/// defaults; the compiler derives the actual numbers from the layer type).
enum class Init {
  Zeros,
  Ones,
  /// kaiming_uniform_(a=sqrt(5)), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)):
  /// nn.Linear's weight.
  KaimingUniform,
  /// U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with the owning layer's fan_in:
  /// nn.Linear's bias.
  FanInUniform,
  /// Every element the layer's `init` option (nn.PReLU's weight).
  Constant,
  /// N(0, 1): nn.Embedding's weight.
  Normal,
  /// xavier_uniform_: U(+-sqrt(6 / (fan_in + fan_out))), nn.MultiheadAttention's
  /// projection weights.
  XavierUniform,
  /// xavier_normal_: N(0, 2 / (fan_in + fan_out)), nn.MultiheadAttention's
  /// bias_k and bias_v.
  XavierNormal,
};

struct Parameter {
  Shape shape;
  Init init = Init::Zeros;
  /// A user module's initializer (torch.nn.init's); built-in layers use
  /// `init`, whose numbers depend on the layer.
  std::optional<nn::init::Spec> spec;
  SourceLoc loc;  ///< where it was registered
};

struct NamedParameter {
  std::string name;  ///< state_dict key, e.g. "layers.0.bias"
  Shape shape;
  Init init;
};

/// A torch.nn.utils re-parametrization of one of a built-in layer's
/// parameters (nn::utils::weight_norm, spectral_norm, prune::identity): the
/// model file's `reparametrize` entry. The parameter is replaced by others
/// (weight_g and weight_v; weight_orig and buffers), as in torch's state_dict.
struct Reparametrization {
  std::string kind;       ///< "prune", "weight_norm", "spectral_norm", "parametrizations.weight_norm", ...
  std::string parameter;  ///< the layer's parameter ("weight")
  OptionList options;     ///< dim, n_power_iterations, eps
};

namespace nn {

/// Base of every module, like torch::nn::Module: an ordered set of named
/// children and parameters. Built-in layers (Linear, ReLU, …) are the leaves
/// that appear in the traced graph; containers and user-defined modules only
/// structure the tree and the state_dict names.
class Module {
 public:
  /// `type_name` is what the model file calls the module ("Linear").
  /// User modules leave it empty: their demangled class name is used, with a
  /// trailing "Impl" removed (struct NetImpl -> "Net").
  explicit Module(std::string type_name = "");
  virtual ~Module();
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  /// The model file's "type". For user modules whose class name is a
  /// template, or that would be mistaken for a built-in layer, "Module".
  std::string type_name() const;

  /// Options of a built-in leaf layer, in torch's argument order; nullopt for
  /// containers and user-defined modules (they have children instead).
  virtual std::optional<OptionList> layer_options() const { return std::nullopt; }

  /// Registers `module` (a holder such as Linear, or a shared_ptr to a
  /// Module) as a child called `name` and returns it, like libtorch.
  /// `name` must be non-empty, contain no '.', and be unique in this module.
  template <class M>
  std::decay_t<M> register_module(std::string name, M&& module) {
    register_child(std::move(name), child_ptr(module));
    return std::forward<M>(module);
  }

  /// Declares a parameter (shape only: there is no data at this stage) and
  /// returns its handle, as libtorch's register_parameter returns the tensor:
  /// a user module keeps it (`pos = register_parameter(...)`) and uses it in
  /// forward like any tensor. `name` must be non-empty, contain no '.', and
  /// be unique in this module; every dimension >= 1 ([] is a scalar).
  /// A user module's parameter takes a Zeros, Ones, Normal (torch.randn),
  /// XavierUniform, XavierNormal or KaimingUniform (a = sqrt(5)) Init, or an
  /// init::Spec; FanInUniform and Constant belong to built-in layers.
  Tensor register_parameter(std::string name, Shape shape, Init init = Init::Zeros,
                            SourceLoc loc = SourceLoc::current());
  Tensor register_parameter(std::string name, Shape shape, init::Spec init,
                            SourceLoc loc = SourceLoc::current());
  /// The handle of this module's parameter `name` (a layer's "weight", for
  /// weight tying); throws Error when it has none of that name.
  Tensor parameter(const std::string& name) const;

  /// Declares a buffer, torch's register_buffer (persistent): a float32
  /// state_dict entry the optimizer never touches, e.g. a fixed positional
  /// encoding or a mask. There is no data at this stage: it starts as
  /// `init` says (zeros by default), and a weights file (torch's
  /// state_dict) or the runtime's kiln_model_buffer gives it its values.
  /// Returns its handle, used in forward like a parameter's (its value is
  /// read where it is first used). Names as register_parameter's, unique
  /// among the module's parameters, buffers and children.
  Tensor register_buffer(std::string name, Shape shape, init::Spec init = init::zeros(),
                         SourceLoc loc = SourceLoc::current());
  /// This module's own buffers in registration order (not the children's).
  const std::vector<std::pair<std::string, Parameter>>& own_buffers() const { return buffers_; }

  /// Children in registration order.
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& named_children() const {
    return children_;
  }
  /// This module's own parameters in registration order (not the children's).
  const std::vector<std::pair<std::string, Parameter>>& own_parameters() const { return params_; }
  /// This module's own parameter `name`, or nullptr.
  const Parameter* find_parameter(const std::string& name) const;
  /// Every parameter of the tree with its PyTorch state_dict name
  /// ("fc1.weight", "layers.0.bias"), depth first in registration order;
  /// a re-parametrized one as torch names what replaces it (fc.weight_g,
  /// fc.weight_v after the layer's other parameters).
  std::vector<NamedParameter> named_parameters() const;

  /// Adds a re-parametrization (nn::utils::weight_norm and friends call
  /// this). Throws Error unless this is a built-in layer with parameter
  /// `r.parameter`, not re-parametrized yet.
  void add_reparametrization(Reparametrization r);
  const std::vector<Reparametrization>& reparametrizations() const { return reparams_; }
  /// torch.nn.utils.skip_init (nn::utils::skip_init sets it): the model
  /// file's `skip_init: true` on this module's node, whose parameters and
  /// buffers (its children's too) the runtime's init_parameters leaves.
  void set_skip_init() { skip_init_ = true; }
  bool skip_init() const { return skip_init_; }
  /// Every module of the tree with its dotted path; the root is "".
  std::vector<std::pair<std::string, const Module*>> named_modules() const;

 protected:
  void register_child(std::string name, std::shared_ptr<Module> child);

 private:
  template <class M>
  static std::shared_ptr<Module> child_ptr(const std::shared_ptr<M>& m) {
    static_assert(std::is_base_of_v<Module, M>, "register_module needs a kiln::nn::Module");
    return m;
  }
  template <class H, class = decltype(std::declval<const H&>().ptr())>
  static std::shared_ptr<Module> child_ptr(const H& holder) {
    return child_ptr(holder.ptr());
  }
  void check_new_name(const std::string& name, const char* what) const;

  std::string type_name_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  std::vector<std::pair<std::string, Parameter>> params_;
  std::vector<std::pair<std::string, Parameter>> buffers_;
  std::vector<Reparametrization> reparams_;
  bool skip_init_ = false;
};

}  // namespace nn

namespace detail {

template <class M, class = void, class... Args>
struct ForwardTakesLoc : std::false_type {};
template <class M, class... Args>
struct ForwardTakesLoc<M,
                       std::void_t<decltype(std::declval<M&>().forward(
                           std::declval<Args>()..., std::declval<SourceLoc>()))>,
                       Args...> : std::true_type {};

/// Calls m.forward(args..., loc) when forward accepts a SourceLoc (built-in
/// layers, Sequential), else m.forward(args...): user modules capture the
/// lines of their own calls.
template <class M, class... Args>
decltype(auto) call_forward(M& m, SourceLoc loc, Args&&... args) {
  if constexpr (ForwardTakesLoc<M, void, Args&&...>::value) {
    return m.forward(std::forward<Args>(args)..., loc);
  } else {
    // A default SourceLoc in forward would name this line: see
    // CallerLocScope (error.h).
    kiln::detail::CallerLocScope caller(loc);
    return m.forward(std::forward<Args>(args)...);
  }
}

template <class M, class = void>
struct HasUnaryForward : std::false_type {};
template <class M>
struct HasUnaryForward<M, std::void_t<decltype(std::declval<M&>().forward(std::declval<const Tensor&>()))>>
    : std::is_convertible<decltype(std::declval<M&>().forward(std::declval<const Tensor&>())), Tensor> {};

}  // namespace detail

namespace nn {

/// A shared handle to a module implementation, like libtorch's ModuleHolder:
/// `Linear` holds a `LinearImpl`. Copies share the module (and therefore its
/// parameters). Calling the holder captures the caller's source line.
template <class Impl>
class ModuleHolder {
 public:
  using ContainedType = Impl;

  /// Default-constructs the module when it has a default constructor.
  template <class T = Impl, std::enable_if_t<std::is_default_constructible_v<T>, int> = 0>
  ModuleHolder() : impl_(std::make_shared<Impl>()) {}
  /// An empty holder, to be assigned later (`Linear fc1{nullptr};`).
  ModuleHolder(std::nullptr_t) {}
  ModuleHolder(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  /// Constructs the module from its constructor arguments.
  template <class Head, class... Tail,
            std::enable_if_t<!(sizeof...(Tail) == 0 &&
                               (std::is_same_v<std::decay_t<Head>, std::nullptr_t> ||
                                std::is_base_of_v<ModuleHolder, std::decay_t<Head>> ||
                                std::is_same_v<std::decay_t<Head>, std::shared_ptr<Impl>>)),
                             int> = 0>
  explicit ModuleHolder(Head&& head, Tail&&... tail)
      : impl_(std::make_shared<Impl>(std::forward<Head>(head), std::forward<Tail>(tail)...)) {}

  Impl* operator->() const { return get(); }
  Impl& operator*() const { return *get(); }
  Impl* get() const {
    if (!impl_) detail::fail("accessing an empty module holder (constructed with nullptr)");
    return impl_.get();
  }
  const std::shared_ptr<Impl>& ptr() const noexcept { return impl_; }
  bool is_empty() const noexcept { return impl_ == nullptr; }

  /// module(x): runs forward, recording the call site for errors and "loc".
  template <class T = Impl>
  auto operator()(const Tensor& a, SourceLoc loc = SourceLoc::current()) const
      -> decltype(detail::call_forward(std::declval<T&>(), loc, a)) {
    return detail::call_forward(*get(), loc, a);
  }
  template <class T = Impl>
  auto operator()(const Tensor& a, const Tensor& b, SourceLoc loc = SourceLoc::current()) const
      -> decltype(detail::call_forward(std::declval<T&>(), loc, a, b)) {
    return detail::call_forward(*get(), loc, a, b);
  }
  template <class T = Impl>
  auto operator()(const Tensor& a, const Tensor& b, const Tensor& c,
                  SourceLoc loc = SourceLoc::current()) const
      -> decltype(detail::call_forward(std::declval<T&>(), loc, a, b, c)) {
    return detail::call_forward(*get(), loc, a, b, c);
  }

  /// module(packed): an argument that is not a tensor (RNN's
  /// utils::rnn::PackedSequence), the call site recorded the same way.
  template <class A, class T = Impl, std::enable_if_t<!std::is_convertible_v<const A&, const Tensor&>, int> = 0>
  auto operator()(const A& a, SourceLoc loc = SourceLoc::current()) const
      -> decltype(detail::call_forward(std::declval<T&>(), loc, a)) {
    return detail::call_forward(*get(), loc, a);
  }

  /// Forwards indexing to the module (ModuleList: `layers[0]`).
  template <class Arg>
  decltype(auto) operator[](Arg&& arg) const {
    return (*get())[std::forward<Arg>(arg)];
  }

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace nn
}  // namespace kiln

/// Defines the holder `Name` for `NameImpl`, like TORCH_MODULE:
/// `struct NetImpl : kiln::nn::Module {...}; KILN_MODULE(Net);`
#define KILN_MODULE(Name)                                   \
  class Name : public ::kiln::nn::ModuleHolder<Name##Impl> { \
   public:                                                  \
    using ::kiln::nn::ModuleHolder<Name##Impl>::ModuleHolder; \
  }
