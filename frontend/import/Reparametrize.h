// torch.nn.utils' re-parametrizations of a layer's parameter, as the module
// hooks of torch 1.13 define them (state_dict names included):
//   prune (torch.nn.utils.prune): `<p>_orig` (parameter) and `<p>_mask`
//     (buffer); the layer reads <p> = <p>_orig * <p>_mask.
//   weight_norm: `<p>_g` and `<p>_v` (parameters); <p> = v * (g /
//     norm_except_dim(v, 2, dim)); g starts as that norm of v's initial value.
//   spectral_norm: `<p>_orig` (parameter), `<p>_u` and `<p>_v` (buffers,
//     unit vectors); in train mode each call runs n_power_iterations of the
//     power method on the detached weight (as a [h, w] matrix with `dim`
//     first) and stores u and v; <p> = <p>_orig / (u . (W v)).
// torch.nn.utils.parametrizations (register_parametrization, torch 2's
// default) names them under the layer's ParametrizationList:
//   parametrizations.weight_norm: `parametrizations.<p>.original0` (g) and
//     `.original1` (v), the same function as weight_norm;
//   parametrizations.spectral_norm: `parametrizations.<p>.original` and the
//     buffers `parametrizations.<p>.0._u`, `._v`; each power iteration
//     updates u = normalize(W v) before v = normalize(W^T u), and a 1-D
//     parameter is F.normalize(p) (no buffers).
// The replacing tensors go after the layer's other parameters and buffers,
// as torch appends them. A leaf node asks with `reparametrize`.
#ifndef KILN_FRONTEND_IMPORT_REPARAMETRIZE_H
#define KILN_FRONTEND_IMPORT_REPARAMETRIZE_H

#include "frontend/import/ImportCalls.h"

#include <nlohmann/json.hpp>

namespace kiln::import {

/// Reads the leaf node's `reparametrize` array (absent: none) and replaces
/// each named parameter of `leaf` (declared under `prefix`) in `params` and
/// `buffers`, recording it in leaf.reparams. Fails at the entry's JSON path
/// for an unknown kind or key, a parameter the layer does not have or that
/// is named twice, and out-of-range options.
void declareReparametrizations(const nlohmann::json &node, const std::string &jsonPath,
                               const std::string &prefix, Leaf &leaf,
                               std::vector<Param> &params, std::vector<Param> &buffers);

/// The value the layer reads as `r.local` in this call (a train-mode
/// spectral_norm also sets its u and v buffers). Precondition: the call's
/// parameters and buffers are the leaf's.
mlir::Value reparametrized(Call &call, const Reparam &r);

} // namespace kiln::import

#endif // KILN_FRONTEND_IMPORT_REPARAMETRIZE_H
