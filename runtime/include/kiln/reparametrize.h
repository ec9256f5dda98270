/* torch.nn.utils.remove_weight_norm, remove_spectral_norm and
 * parametrize.remove_parametrizations (1.13 / 2.x) on model instances.
 * Plain C ABI; see runtime.h for the status codes.
 *
 * torch's functions replace a re-parametrized tensor by a plain parameter
 * holding its current value (the module then trains that parameter
 * directly). A compiled model keeps its tensors, so the plain copy is a
 * parameter of another instance `to`, typically a build of the same
 * network without the `reparametrize` entry: these compute the value from
 * `from`'s tensors and write it into `to`'s parameter `name`. `to` may be
 * `from` only if it has such a plain parameter.
 *
 * `name` is the parameter's torch name ("fc.weight"). Shapes are checked
 * before anything is written; on an error `to` is unchanged. */
#ifndef KILN_REPARAMETRIZE_H
#define KILN_REPARAMETRIZE_H

#include <kiln/runtime.h>

#ifdef __cplusplus
extern "C" {
#endif

/* remove_weight_norm(module, name): weight = v * (g / norm_except_dim(v,
 * 2, dim)) from `<name>_g` and `<name>_v` (dim read from g's shape). */
kiln_status kiln_remove_weight_norm(kiln_model *from, const char *name, kiln_model *to);

/* remove_spectral_norm(module, name): weight = orig / (u . W v) from
 * `<name>_orig`, `<name>_u`, `<name>_v`, W the weight as a matrix with
 * dimension `dim` first (the reparametrization's dim: 0, or 1 for a
 * ConvTranspose's weight; negative counts from the end); no power
 * iteration, as torch's. */
kiln_status kiln_remove_spectral_norm(kiln_model *from, const char *name, int64_t dim,
                                      kiln_model *to);

/* parametrize.remove_parametrizations(module, tensor_name,
 * leave_parametrized) for Kiln's parametrizations (the model file's
 * "parametrizations.weight_norm" / "parametrizations.spectral_norm"):
 * leave_parametrized non-zero writes the parametrized value (weight_norm:
 * original0 = g, original1 = v; spectral_norm: original / (u . W v) with
 * `dim` as above, or a 1-D original / max(||original||, 1e-12)); zero
 * writes the original (spectral_norm only: torch refuses it for
 * weight_norm's two originals). A spectral norm's `from` must be in eval
 * mode: torch's would run the power iterations of a train-mode call
 * first. `dim` is ignored for weight_norm. */
kiln_status kiln_remove_parametrizations(kiln_model *from, const char *name, int64_t dim,
                                         int leave_parametrized, kiln_model *to);

#ifdef __cplusplus
}
#endif

#endif /* KILN_REPARAMETRIZE_H */
