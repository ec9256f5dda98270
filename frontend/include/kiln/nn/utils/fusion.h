#pragma once

#include <optional>
#include <tuple>

#include "kiln/tensor.h"

/// torch.nn.utils.fuse_conv_bn_weights and fuse_linear_bn_weights (torch
/// 1.13's torch/nn/utils/fusion.py): an eval-mode batch norm folded into
/// the weight and bias of the convolution or linear layer before it. Each
/// records the graph function of the same name (kilnc's
/// frontend/import/Fusion.cpp). The results are detached, as torch's new
/// nn.Parameters are: nothing reached only through them gives the inputs a
/// gradient.
namespace kiln::nn::utils {

/// (conv_w * (bn_w * rsqrt(bn_rv + bn_eps)) per output channel,
///  (conv_b - bn_rm) * rsqrt(bn_rv + bn_eps) * bn_w + bn_b).
/// conv_w: [out, in / groups, *kernel] (transpose: [in, out / groups,
/// *kernel], the channels dimension 1), 3 to 5 dimensions; every other
/// tensor [channels]. nullopt is torch's None: zeros for conv_b and bn_b,
/// ones for bn_w. Throws Error on other shapes.
std::tuple<Tensor, Tensor> fuse_conv_bn_weights(const Tensor& conv_w, const std::optional<Tensor>& conv_b,
                                                const Tensor& bn_rm, const Tensor& bn_rv, double bn_eps,
                                                const std::optional<Tensor>& bn_w,
                                                const std::optional<Tensor>& bn_b, bool transpose = false,
                                                SourceLoc loc = SourceLoc::current());

/// (linear_w * (bn_w * rsqrt(bn_rv + bn_eps)) per row,
///  (linear_b - bn_rm) * bn_w * rsqrt(bn_rv + bn_eps) + bn_b).
/// linear_w: [out, in]; the others [out]; linear_b nullopt is zeros (torch
/// 1.13 needs bn_w and bn_b).
std::tuple<Tensor, Tensor> fuse_linear_bn_weights(const Tensor& linear_w, const std::optional<Tensor>& linear_b,
                                                  const Tensor& bn_rm, const Tensor& bn_rv, double bn_eps,
                                                  const Tensor& bn_w, const Tensor& bn_b,
                                                  SourceLoc loc = SourceLoc::current());

}  // namespace kiln::nn::utils
