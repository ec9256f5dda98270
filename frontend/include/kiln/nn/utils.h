#pragma once

#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "kiln/module.h"

/// torch.nn.utils' re-parametrizations of a built-in layer's parameter
/// (torch 1.13's module hooks, and their state_dict names): each replaces
/// the parameter and returns the module, as torch's do, so that
/// `register_module("fc", nn::utils::weight_norm(nn::Linear(4, 8)))` reads
/// like Python. The model file records them on the layer's node
/// (`reparametrize`); kilnc computes the weight at each call.
namespace kiln::nn::utils {

/// weight_norm(module, name="weight", dim=0): `<name>_g` and `<name>_v`,
/// <name> = v * (g / norm_except_dim(v, 2, dim)); g starts as v's norm, so
/// the layer starts with its usual weight. dim nullopt (torch's None) or -1
/// is the norm over every dimension. Throws Error for a dim outside [-1, rank).
Module& weight_norm(Module& module, const std::string& name = "weight", std::optional<int64_t> dim = 0);

/// spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12,
/// dim=None): `<name>_orig` and the buffers `<name>_u`, `<name>_v`;
/// <name> = orig / sigma with sigma from n_power_iterations steps of the
/// power method per train-mode call. dim None is 1 for ConvTranspose
/// layers, else 0, as torch.
Module& spectral_norm(Module& module, const std::string& name = "weight", int64_t n_power_iterations = 1,
                      double eps = 1e-12, std::optional<int64_t> dim = std::nullopt);

namespace prune {
/// prune.identity(module, name): `<name>_orig` and the buffer `<name>_mask`
/// (ones), <name> = orig * mask. The mask is a buffer of the weights file:
/// set it there (torch's other pruning methods compute it; a checkpoint of
/// a pruned torch model carries it).
Module& identity(Module& module, const std::string& name);
/// prune.is_pruned(module): whether a module of the tree has a pruned
/// parameter.
bool is_pruned(const Module& module);
}  // namespace prune

namespace detail {
template <class H>
using IsHolder = decltype(std::declval<const H&>().ptr());
}  // namespace detail

/// The same on a module holder (nn::Linear), returned for chaining.
template <class H, class = detail::IsHolder<H>>
H weight_norm(H module, const std::string& name = "weight", std::optional<int64_t> dim = 0) {
  weight_norm(static_cast<Module&>(*module.ptr()), name, dim);
  return module;
}
template <class H, class = detail::IsHolder<H>>
H spectral_norm(H module, const std::string& name = "weight", int64_t n_power_iterations = 1, double eps = 1e-12,
                std::optional<int64_t> dim = std::nullopt) {
  spectral_norm(static_cast<Module&>(*module.ptr()), name, n_power_iterations, eps, dim);
  return module;
}
/// skip_init(module_cls, *args, **kwargs): the module M (a holder such as
/// nn::Linear, or a user module's) built from `args`, marked so that the
/// runtime's init_parameters leaves its parameters and buffers, and its
/// children's, as they are (torch leaves them uninitialized): give them
/// values with a weights file. `skip_init<nn::Linear>(4, 8)` is torch's
/// `skip_init(nn.Linear, 4, 8)`.
template <class M, class... Args>
M skip_init(Args&&... args) {
  M module(std::forward<Args>(args)...);
  static_cast<Module&>(*module).set_skip_init();
  return module;
}

namespace prune {
template <class H, class = utils::detail::IsHolder<H>>
H identity(H module, const std::string& name) {
  identity(static_cast<Module&>(*module.ptr()), name);
  return module;
}
}  // namespace prune

/// torch.nn.utils.parametrizations: the same functions as register_parametrization
/// computes them, under the layer's ParametrizationList names (torch 2's
/// default for weight_norm; torch 1.13's only spectral_norm there).
namespace parametrizations {
/// weight_norm(module, name="weight", dim=0): `parametrizations.<name>.original0`
/// (g) and `.original1` (v), as weight_norm computes them.
Module& weight_norm(Module& module, const std::string& name = "weight", std::optional<int64_t> dim = 0);
/// spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12,
/// dim=None): `parametrizations.<name>.original` and the buffers
/// `parametrizations.<name>.0._u`, `._v` (none for a 1-D parameter, which
/// is normalized). Each train-mode call updates u = normalize(W v), then
/// v = normalize(W^T u). u and v start as random unit vectors; torch also
/// runs 15 power iterations when registering (docs/design.md).
Module& spectral_norm(Module& module, const std::string& name = "weight", int64_t n_power_iterations = 1,
                      double eps = 1e-12, std::optional<int64_t> dim = std::nullopt);

template <class H, class = utils::detail::IsHolder<H>>
H weight_norm(H module, const std::string& name = "weight", std::optional<int64_t> dim = 0) {
  weight_norm(static_cast<Module&>(*module.ptr()), name, dim);
  return module;
}
template <class H, class = utils::detail::IsHolder<H>>
H spectral_norm(H module, const std::string& name = "weight", int64_t n_power_iterations = 1, double eps = 1e-12,
                std::optional<int64_t> dim = std::nullopt) {
  spectral_norm(static_cast<Module&>(*module.ptr()), name, n_power_iterations, eps, dim);
  return module;
}
}  // namespace parametrizations

namespace parametrize {
/// is_parametrized(module, tensor_name=None): whether `module` itself has a
/// parametrization (on `tensor_name`, or on any of its parameters when
/// empty), as torch's (which looks at the module, not its children).
bool is_parametrized(const Module& module, const std::string& tensor_name = "");
}  // namespace parametrize

}  // namespace kiln::nn::utils
