// Shape rules of the rearranging layers (nn.Unflatten, nn.PixelShuffle,
// nn.PixelUnshuffle, nn.ChannelShuffle) and of nn.Upsample, shared like
// ShapeRules.h by the DSL's tracer and the importer, so that both reject the
// same models with torch's words. Standard library only.
#ifndef KILN_IR_VISIONSHAPERULES_H
#define KILN_IR_VISIONSHAPERULES_H

#include "ir/ShapeRules.h"

#include <cmath>

namespace kiln::shape_rules {

/// torch.unflatten(input, dim, sizes): dimension `dim` (negative counts from
/// the end) replaced by `sizes`, at most one of them -1 (inferred). The
/// sizes must multiply to the dimension's size.
inline Inferred unflatten(const Shape &in, int64_t dim, const Shape &sizes) {
  int64_t rank = static_cast<int64_t>(in.size());
  int64_t d = dim < 0 ? dim + rank : dim;
  if (rank == 0 || d < 0 || d >= rank)
    return failure("dim " + std::to_string(dim) +
                   " is out of range for an input of shape " + str(in));
  if (sizes.empty())
    return failure("unflattened_size must not be empty");
  int64_t known = 1, inferred = -1;
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] == -1) {
      if (inferred >= 0)
        return failure("unflattened_size " + str(sizes) +
                       ": only one dimension can be inferred (-1)");
      inferred = static_cast<int64_t>(i);
    } else if (sizes[i] < 0) {
      return failure("unflattened_size " + str(sizes) +
                     ": sizes must be non-negative or -1");
    } else {
      known *= sizes[i];
    }
  }
  Shape resolved = sizes;
  if (inferred >= 0) {
    if (known == 0 || in[d] % known != 0)
      return failure("unflattened_size " + str(sizes) +
                     " cannot be resolved for dimension " + std::to_string(dim) +
                     " of size " + std::to_string(in[d]) + " (input " + str(in) + ")");
    resolved[inferred] = in[d] / known;
  } else if (known != in[d]) {
    return failure("unflattened_size " + str(sizes) +
                   " does not multiply up to the size " + std::to_string(in[d]) +
                   " of dimension " + std::to_string(dim) + " (input " + str(in) +
                   ")");
  }
  Shape out(in.begin(), in.begin() + d);
  out.insert(out.end(), resolved.begin(), resolved.end());
  out.insert(out.end(), in.begin() + d + 1, in.end());
  return {out, ""};
}

/// F.pixel_shuffle: [*, C * r^2, H, W] -> [*, C, H * r, W * r].
inline Inferred pixelShuffle(const Shape &in, int64_t r) {
  if (r < 1)
    return failure("upscale_factor must be positive, got " + std::to_string(r));
  if (in.size() < 3)
    return failure("expected an input of shape [*, C * upscale_factor^2, H, W] "
                   "(at least 3 dimensions), got " + str(in));
  size_t c = in.size() - 3;
  if (in[c] % (r * r) != 0)
    return failure("the channel dimension " + std::to_string(in[c]) + " of " +
                   str(in) + " is not divisible by upscale_factor^2 = " +
                   std::to_string(r * r));
  Shape out = in;
  out[c] = in[c] / (r * r);
  out[c + 1] *= r;
  out[c + 2] *= r;
  return {out, ""};
}

/// F.pixel_unshuffle: [*, C, H * r, W * r] -> [*, C * r^2, H, W].
inline Inferred pixelUnshuffle(const Shape &in, int64_t r) {
  if (r < 1)
    return failure("downscale_factor must be positive, got " + std::to_string(r));
  if (in.size() < 3)
    return failure("expected an input of shape [*, C, H * downscale_factor, W * "
                   "downscale_factor] (at least 3 dimensions), got " + str(in));
  size_t c = in.size() - 3;
  for (size_t i : {c + 1, c + 2})
    if (in[i] % r != 0)
      return failure(std::string(i == c + 1 ? "height " : "width ") +
                     std::to_string(in[i]) + " of " + str(in) +
                     " is not divisible by downscale_factor " + std::to_string(r));
  Shape out = in;
  out[c] = in[c] * r * r;
  out[c + 1] /= r;
  out[c + 2] /= r;
  return {out, ""};
}

/// F.channel_shuffle: [N, C, *] (more than 2 dimensions) with C divisible by
/// groups; the shape is unchanged.
inline Inferred channelShuffle(const Shape &in, int64_t groups) {
  if (groups < 1)
    return failure("groups must be positive, got " + std::to_string(groups));
  if (in.size() <= 2)
    return failure("expected an input with more than 2 dimensions ([N, C, *]), got " +
                   str(in));
  if (in[1] % groups != 0)
    return failure("the number of channels " + std::to_string(in[1]) + " of " +
                   str(in) + " is not divisible by groups " + std::to_string(groups));
  return {in, ""};
}

/// The arguments of F.interpolate / nn.Upsample that decide the output
/// size. `sizeGiven` / `scaleGiven`: whether size / scale_factor is not None;
/// `sizeIsList` / `scaleIsList`: whether it is a list (checked against the
/// spatial rank) rather than one number for every dimension.
struct UpsampleArgs {
  std::string mode = "nearest";
  bool sizeGiven = false, sizeIsList = false;
  Shape size;
  bool scaleGiven = false, scaleIsList = false;
  std::vector<double> scale;
  bool alignCornersGiven = false;
  bool recomputeScaleFactor = false;
};

/// What the kernels see after torch 1.13's F.interpolate argument handling:
/// the output size and, per spatial dimension, the scale factor the source
/// index uses (0: none, the ratio in / out is used instead).
struct UpsamplePlan {
  Shape output;
  std::vector<double> scales;
  std::string error;
  bool ok() const { return error.empty(); }
};

/// F.interpolate's checks and output size in torch 1.13's order and words:
/// align_corners only for the interpolating modes; exactly one of size and
/// scale_factor, a list of one per spatial dimension; recompute_scale_factor
/// only with scale_factor (forced for "area"), then floor(in * scale) and no
/// scale; without it the kernels' int64(in * scale) and the scale kept;
/// modes by input rank (linear 3-D, bilinear / bicubic 4-D, trilinear 5-D;
/// nearest, nearest-exact, area 3-D to 5-D); every size at least 1.
inline UpsamplePlan upsample(const Shape &in, const UpsampleArgs &a) {
  UpsamplePlan plan;
  auto fail = [&](std::string why) {
    plan.error = std::move(why);
    return plan;
  };
  const std::string &m = a.mode;
  bool interpolating = m == "linear" || m == "bilinear" || m == "bicubic" || m == "trilinear";
  if (!interpolating && a.alignCornersGiven)
    return fail("align_corners option can only be set with the interpolating modes: "
                "linear | bilinear | bicubic | trilinear");
  int64_t rank = static_cast<int64_t>(in.size());
  int64_t dims = rank - 2;
  if (a.sizeGiven && a.scaleGiven)
    return fail("only one of size or scale_factor should be defined");
  if (!a.sizeGiven && !a.scaleGiven)
    return fail("either size or scale_factor should be defined");
  if (rank < 3 || rank > 5)
    return fail("only 3-D, 4-D and 5-D inputs ([N, C, *spatial]) are supported, got " + str(in));
  static const char *needs[] = {"", "", "", "linear", "bilinear or bicubic", "trilinear"};
  if ((m == "linear" && rank != 3) || ((m == "bilinear" || m == "bicubic") && rank != 4) ||
      (m == "trilinear" && rank != 5))
    return fail("got a " + std::to_string(rank) + "-D input " + str(in) + ", but " + m +
                " mode needs a " + std::to_string(m == "linear" ? 3 : m == "trilinear" ? 5 : 4) +
                "-D input (a " + std::to_string(rank) + "-D input takes mode " +
                needs[rank] + ", nearest, nearest-exact or area)");
  std::vector<double> scales(dims, 0.0);
  Shape out(dims);
  if (a.sizeGiven) {
    if (a.sizeIsList && static_cast<int64_t>(a.size.size()) != dims)
      return fail("input and output must have the same number of spatial dimensions, but got "
                  "input with spatial dimensions of " +
                  str(Shape(in.begin() + 2, in.end())) + " and output size of " + str(a.size));
    for (int64_t d = 0; d < dims; ++d)
      out[d] = a.sizeIsList ? a.size[d] : a.size.at(0);
    if (a.recomputeScaleFactor)
      return fail("recompute_scale_factor is not meaningful with an explicit size");
  } else {
    if (a.scaleIsList && static_cast<int64_t>(a.scale.size()) != dims)
      return fail("input and scale_factor must have the same number of spatial dimensions, "
                  "but got input with spatial dimensions of " +
                  str(Shape(in.begin() + 2, in.end())) + " and " + std::to_string(a.scale.size()) +
                  " scale factors");
    bool recompute = a.recomputeScaleFactor || m == "area";
    for (int64_t d = 0; d < dims; ++d) {
      double s = a.scaleIsList ? a.scale[d] : a.scale.at(0);
      double product = static_cast<double>(in[d + 2]) * s;
      if (!(product < 9.0e15))
        return fail("scale_factor " + std::to_string(s) + " makes spatial dimension " +
                    std::to_string(d) + " too large");
      out[d] = static_cast<int64_t>(recompute ? std::floor(product) : product);
      scales[d] = recompute ? 0.0 : s;
    }
  }
  for (int64_t d = 0; d < dims; ++d)
    if (in[d + 2] < 1 || out[d] < 1)
      return fail("input and output sizes should be greater than 0, but got input " +
                  str(Shape(in.begin() + 2, in.end())) + " and output " + str(out));
  plan.output = Shape(in.begin(), in.begin() + 2);
  plan.output.insert(plan.output.end(), out.begin(), out.end());
  plan.scales = scales;
  return plan;
}

} // namespace kiln::shape_rules

#endif // KILN_IR_VISIONSHAPERULES_H
