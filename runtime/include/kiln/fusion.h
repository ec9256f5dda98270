/* torch.nn.utils.fuse_conv_bn_eval and fuse_linear_bn_eval (1.13) on model
 * instances. Plain C ABI; see runtime.h for the status codes.
 *
 * torch's functions take a convolution (or Linear) and the BatchNorm after
 * it, both in eval mode, and return a copy of the layer whose weight and
 * bias fold the batch norm in:
 *   rsqrt  = 1 / sqrt(running_var + eps)
 *   conv:   weight * (bn.weight * rsqrt) per output channel,
 *           (bias - running_mean) * rsqrt * bn.weight + bn.bias
 *   linear: scale = bn.weight * rsqrt,
 *           weight * scale per row, (bias - running_mean) * scale + bn.bias
 * (a missing layer bias is zeros, a missing bn.weight ones and bn.bias
 * zeros), so that the copy alone computes bn(layer(x)).
 *
 * A compiled model cannot swap a module, so the copy is a layer of another
 * instance `to` (typically an inference build of the same network with a
 * plain layer, with a bias, where `from` has the pair): these read the
 * pair's current values from `from` and write the fused ones into `to`'s
 * parameters `<fused>.weight` and `<fused>.bias`. `to` may be `from`
 * itself when that has such a layer.
 *
 * Names are module paths of the state_dict ("features.0", "features.1").
 * `bn_eps` is the batch norm's eps (a compile-time option the instance does
 * not carry). `from` must be in eval mode (kiln_model_set_training(from,
 * 0)), as torch asserts "Fusion only for eval!"; the batch norm must track
 * running statistics. Shapes are checked before anything is written; on
 * an error `to` is unchanged. */
#ifndef KILN_FUSION_H
#define KILN_FUSION_H

#include <kiln/runtime.h>

#ifdef __cplusplus
extern "C" {
#endif

/* fuse_conv_bn_eval(conv, bn, transpose): `conv` a Conv1d/2d/3d (weight
 * [out, in / groups, *kernel]) or, with transpose non-zero, a
 * ConvTranspose (weight [in, out / groups, *kernel], the batch norm's
 * channels on dimension 1). */
kiln_status kiln_fuse_conv_bn_eval(kiln_model *from, const char *conv, const char *bn,
                                   double bn_eps, int transpose, kiln_model *to,
                                   const char *fused);

/* fuse_linear_bn_eval(linear, bn): `linear` a Linear (weight [out, in]);
 * torch 1.13 needs the batch norm's weight and bias (affine). */
kiln_status kiln_fuse_linear_bn_eval(kiln_model *from, const char *linear, const char *bn,
                                     double bn_eps, kiln_model *to, const char *fused);

#ifdef __cplusplus
}
#endif

#endif /* KILN_FUSION_H */
