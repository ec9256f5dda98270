// The `vision` and `shuffle` families of the inventory: nn.PixelShuffle,
// nn.PixelUnshuffle, nn.ChannelShuffle, nn.Upsample,
// nn.UpsamplingNearest2d, nn.UpsamplingBilinear2d and the functional forms.
// Shuffles are rearrangements, decomposed into nn.reshape and nn.permute:
// the gradient is the inverse permutation and the lowering a copy loop.
// Upsampling in every mode is separable: along each spatial dimension the
// output is a fixed linear map of the input, so it is one nn.linear per
// dimension with a constant [out, in] matrix that holds torch's weights
// (one 1 per row for nearest, two for linear, four for cubic, a window for
// area); its gradient is the transposed map, as torch's backward. The
// matrix costs in * out multiply-adds per line where torch's kernels need
// 1 to 4 per output: fine for the feature-map sizes of the parity tests, a
// gather with constant indices would be the faster form.
#include "frontend/import/Registry.h"

#include "ir/NNBuilders.h"
#include "ir/VisionShapeRules.h"

#include <cmath>

using namespace mlir;

namespace kiln::import {
namespace {

Value reshape(BuildContext &c, Value x, llvm::ArrayRef<int64_t> shape) {
  return c.create<nn::ReshapeOp>(nn::f32Tensor(c.builder().getContext(), shape), x);
}

Value permute(BuildContext &c, Value x, llvm::ArrayRef<int64_t> dims) {
  return c.create<nn::PermuteOp>(x, c.builder().getDenseI64ArrayAttr(dims));
}

shape_rules::Shape shapeVec(Value x) {
  auto s = nn::shapeOf(x);
  return shape_rules::Shape(s.begin(), s.end());
}

/// The product of the dimensions before the last three (1 for none): the
/// batch dimensions pixel (un)shuffle carries along unchanged.
int64_t leadingProduct(const shape_rules::Shape &s) {
  int64_t n = 1;
  for (size_t i = 0; i + 3 < s.size(); ++i)
    n *= s[i];
  return n;
}

// pixel_shuffle(x, r)[b, c, h*r + i, w*r + j] = x[b, c*r*r + i*r + j, h, w]:
// [B, C, r, r, H, W] -> permute (0, 1, 4, 2, 5, 3) -> [B, C, H, r, W, r].
Value pixelShuffle(BuildContext &c, int64_t r) {
  Value x = c.operands()[0];
  shape_rules::Shape in = shapeVec(x);
  shape_rules::Inferred out = shape_rules::pixelShuffle(in, r);
  if (!out.ok())
    c.fail(out.error);
  size_t n = in.size();
  int64_t ch = in[n - 3] / (r * r), h = in[n - 2], w = in[n - 1];
  Value v = reshape(c, x, {leadingProduct(in), ch, r, r, h, w});
  v = permute(c, v, {0, 1, 4, 2, 5, 3});
  return reshape(c, v, out.shape);
}

// The inverse: [B, C, H, r, W, r] -> permute (0, 1, 3, 5, 2, 4) ->
// [B, C, r, r, H, W].
Value pixelUnshuffle(BuildContext &c, int64_t r) {
  Value x = c.operands()[0];
  shape_rules::Shape in = shapeVec(x);
  shape_rules::Inferred out = shape_rules::pixelUnshuffle(in, r);
  if (!out.ok())
    c.fail(out.error);
  size_t n = in.size();
  int64_t ch = in[n - 3], h = in[n - 2] / r, w = in[n - 1] / r;
  Value v = reshape(c, x, {leadingProduct(in), ch, h, r, w, r});
  v = permute(c, v, {0, 1, 3, 5, 2, 4});
  return reshape(c, v, out.shape);
}

// channel_shuffle(x, g): channel k * g + j of the result is channel
// j * (C / g) + k of x: [N, g, C / g, S] -> permute (0, 2, 1, 3).
Value channelShuffle(BuildContext &c, int64_t groups) {
  Value x = c.operands()[0];
  shape_rules::Shape in = shapeVec(x);
  shape_rules::Inferred out = shape_rules::channelShuffle(in, groups);
  if (!out.ok())
    c.fail(out.error);
  int64_t spatial = 1;
  for (size_t i = 2; i < in.size(); ++i)
    spatial *= in[i];
  Value v = reshape(c, x, {in[0], groups, in[1] / groups, spatial});
  v = permute(c, v, {0, 2, 1, 3});
  return reshape(c, v, in);
}

/// A layer and the torch function of the same computation, both with one
/// int option (`layerOption` / `functionOption`, torch's names differ).
void addPair(Registry &r, const char *layer, const char *function,
             const char *layerOption, const char *functionOption,
             Value (*build)(BuildContext &, int64_t), json example) {
  Entry e{std::string("nn.") + layer, EntryKind::Layer, "nn.reshape, nn.permute"};
  e.options = {intOption(layerOption).atLeast(1)};
  std::string lo = layerOption;
  e.build = [build, lo](BuildContext &c) { return build(c, c.options().getInt(lo)); };
  e.example = {{"options", {{layerOption, 2}}}, {"input", example}};
  r.add(std::move(e));

  Entry f{function, EntryKind::Function, "nn.reshape, nn.permute"};
  f.options = {intOption(functionOption).atLeast(1)};
  std::string fo = functionOption;
  f.build = [build, fo](BuildContext &c) { return build(c, c.options().getInt(fo)); };
  f.example = {{"options", {{functionOption, 2}}}, {"input", example}};
  r.add(std::move(f));
}

/// torch 1.13's compute_scales_value<float>: 1 / scale when a scale factor
/// was given (the kernels keep it unless recompute_scale_factor), else
/// in / out.
float scaleValue(double scale, int64_t in, int64_t out) {
  if (scale > 0)
    return static_cast<float>(1.0 / scale);
  return static_cast<float>(in) / static_cast<float>(out);
}

/// area_pixel_compute_scale<float>: the input step per output step of the
/// interpolating modes, with and without antialiasing.
float areaPixelScale(int64_t in, int64_t out, bool alignCorners, double scale) {
  if (alignCorners)
    return out > 1 ? static_cast<float>(in - 1) / static_cast<float>(out - 1) : 0.0f;
  return scaleValue(scale, in, out);
}

/// area_pixel_compute_source_index<float>: where output index `o` reads
/// the input (in float, as torch's kernels for float tensors).
float sourceIndex(float scale, int64_t o, bool alignCorners, bool cubic) {
  if (alignCorners)
    return scale * static_cast<float>(o);
  float src = static_cast<float>(scale * (o + 0.5) - 0.5);
  return (!cubic && src < 0) ? 0.0f : src;
}

/// The [out, in] matrix of one spatial dimension: row o holds the weights
/// output o gives each input position, exactly as torch 1.13's CPU kernels
/// compute them (UpSample.h, UpSampleKernel.cpp):
///  - nearest: src = min(floor(o * scale), in - 1); the channels-last
///    kernel (taken for [N, 1, *] and [N, C, 1, ...] inputs of rank 4 and 5,
///    `shortcut`) copies when out == in and takes o / 2 when out == 2 in;
///  - nearest-exact: min(floor((o + 0.5) * scale), in - 1);
///  - linear: identity when out == in, else i0 = min(floor(src), in - 1),
///    l1 = clamp(src - i0, 0, 1), i1 = i0 + (i0 < in - 1), weights (1 - l1, l1);
///  - cubic: Keys' cubic convolution with A = -0.75 over floor(src) - 1 ..
///    floor(src) + 2, indices clamped to the input;
///  - area: adaptive average pooling's window [floor(o in / out),
///    ceil((o + 1) in / out)).
std::vector<float> upsampleWeights(const std::string &mode, int64_t in, int64_t out,
                                   bool alignCorners, double scale, bool shortcut) {
  std::vector<float> w(static_cast<size_t>(in * out), 0.0f);
  auto at = [&](int64_t o, int64_t i) -> float & { return w[o * in + i]; };
  for (int64_t o = 0; o < out; ++o) {
    if (mode == "nearest" || mode == "nearest-exact") {
      int64_t i;
      if (shortcut && mode == "nearest" && out == in)
        i = o;
      else if (shortcut && mode == "nearest" && out == 2 * in)
        i = o >> 1;
      else {
        float s = scaleValue(scale, in, out);
        float pos = mode == "nearest" ? static_cast<float>(o) * s
                                      : static_cast<float>(o + 0.5) * s;
        i = std::min(static_cast<int64_t>(std::floor(pos)), in - 1);
      }
      at(o, i) = 1.0f;
    } else if (mode == "area") {
      int64_t start = (o * in) / out, end = ((o + 1) * in + out - 1) / out;
      for (int64_t i = start; i < end; ++i)
        at(o, i) = 1.0f / static_cast<float>(end - start);
    } else {
      float s = areaPixelScale(in, out, alignCorners, scale);
      if (mode == "bicubic") {
        float src = sourceIndex(s, o, alignCorners, /*cubic=*/true);
        int64_t i = static_cast<int64_t>(std::floor(src));
        float t = src - static_cast<float>(i);
        const float a = -0.75f;
        auto near = [&](float x) { return ((a + 2) * x - (a + 3)) * x * x + 1; };
        auto far = [&](float x) { return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a; };
        float coeffs[4] = {far(t + 1.0f), near(t), near(1.0f - t), far(2.0f - t)};
        for (int64_t j = 0; j < 4; ++j)
          at(o, std::max<int64_t>(std::min(i - 1 + j, in - 1), 0)) += coeffs[j];
      } else if (out == in) {
        at(o, o) += 1.0f;
      } else {
        float src = sourceIndex(s, o, alignCorners, /*cubic=*/false);
        int64_t i0 = std::min(static_cast<int64_t>(std::floor(src)), in - 1);
        float l1 = std::min(std::max(src - static_cast<float>(i0), 0.0f), 1.0f);
        int64_t i1 = i0 + (i0 < in - 1 ? 1 : 0);
        at(o, i0) += 1.0f - l1;
        at(o, i1) += l1;
      }
    }
  }
  return w;
}

/// F.interpolate(antialias=True)'s filters (torch 1.13's aa_filter, from
/// PIL's Resample.c): the triangle for bilinear, Keys' cubic with A = -0.5
/// (not -0.75 as without antialiasing) for bicubic. Evaluated with torch's
/// types: a float argument, double arithmetic, a float result.
float antialiasFilter(bool cubic, float x) {
  if (x < 0.0)
    x = -x;
  if (!cubic)
    return x < 1.0 ? static_cast<float>(1.0 - x) : 0.0f;
  const double a = -0.5;
  if (x < 1.0)
    return static_cast<float>(((a + 2.0) * x - (a + 3.0)) * x * x + 1);
  if (x < 2.0)
    return static_cast<float>((((x - 5) * x + 8) * x - 4) * a);
  return 0.0f;
}

/// The [out, in] matrix of one spatial dimension with antialiasing, as
/// torch 1.13's _compute_indices_weights_aa builds it (in float): output o
/// is centred at scale (o + 0.5) and reads the inputs within `support` of
/// it, support being the filter's half-width widened by the scale when
/// downsampling (scale > 1), the filter's argument shrunk by the same
/// factor; each row is normalised to sum 1. `scale` is area_pixel_compute_
/// scale's (align_corners changes only the scale, not the centres).
std::vector<float> antialiasWeights(bool cubic, int64_t in, int64_t out, float scale) {
  std::vector<float> w(static_cast<size_t>(in * out), 0.0f);
  const int interpSize = cubic ? 4 : 2;
  float support = scale >= 1.0 ? static_cast<float>((interpSize * 0.5) * scale)
                               : static_cast<float>(interpSize * 0.5);
  float invscale = scale >= 1.0 ? static_cast<float>(1.0 / scale) : 1.0f;
  for (int64_t o = 0; o < out; ++o) {
    float center = static_cast<float>(scale * (o + 0.5));
    int64_t xmin = std::max(static_cast<int64_t>(center - support + 0.5), int64_t{0});
    int64_t xsize = std::min(static_cast<int64_t>(center + support + 0.5), in) - xmin;
    float *row = w.data() + o * in + xmin;
    float total = 0.0f;
    for (int64_t j = 0; j < xsize; ++j) {
      row[j] = antialiasFilter(
          cubic, static_cast<float>((static_cast<float>(j + xmin) - center + 0.5) * invscale));
      total += row[j];
    }
    if (total != 0.0f)
      for (int64_t j = 0; j < xsize; ++j)
        row[j] /= total;
  }
  return w;
}

/// Options common to nn.Upsample and F.interpolate, read into the rule's
/// arguments (a list or one number for every dimension, as torch).
shape_rules::UpsampleArgs upsampleArgs(const Options &o, const std::string &mode,
                                       bool alignCornersGiven, bool recompute) {
  shape_rules::UpsampleArgs a;
  a.mode = mode;
  a.sizeGiven = !o.isNone("size");
  if (a.sizeGiven) {
    a.sizeIsList = o.raw().at("size").is_array();
    a.size = o.getInts("size");
  }
  a.scaleGiven = !o.isNone("scale_factor");
  if (a.scaleGiven) {
    a.scaleIsList = o.raw().at("scale_factor").is_array();
    a.scale = o.getFloats("scale_factor");
  }
  a.alignCornersGiven = alignCornersGiven;
  a.recomputeScaleFactor = recompute;
  return a;
}

// y = x with each spatial dimension d mapped by its weight matrix, the last
// dimension first (torch's kernels interpolate the innermost dimension
// first, then combine those rows with the outer dimensions' weights). A
// dimension is moved last for its nn.linear and back (a transposition is
// its own inverse).
Value upsample(BuildContext &c, const shape_rules::UpsampleArgs &args, bool alignCorners,
               bool antialias = false) {
  Value x = c.operands()[0];
  shape_rules::Shape in = shapeVec(x);
  shape_rules::UpsamplePlan plan = shape_rules::upsample(in, args);
  if (!plan.ok())
    c.fail(plan.error);
  int64_t rank = static_cast<int64_t>(in.size());
  bool shortcut = rank >= 4 && (in[1] == 1 || std::all_of(in.begin() + 2, in.end(),
                                                          [](int64_t v) { return v == 1; }));
  OpBuilder &b = c.builder();
  Value y = x;
  for (int64_t d = rank - 1; d >= 2; --d) {
    int64_t n = in[d], m = plan.output[d];
    std::vector<float> w;
    if (antialias) {
      w = antialiasWeights(args.mode == "bicubic", n, m,
                           areaPixelScale(n, m, alignCorners, plan.scales[d - 2]));
    } else {
      w = upsampleWeights(args.mode, n, m, alignCorners, plan.scales[d - 2], shortcut);
    }
    bool identity = n == m;
    for (int64_t o = 0; identity && o < m; ++o)
      for (int64_t i = 0; identity && i < n; ++i)
        identity = w[o * n + i] == (o == i ? 1.0f : 0.0f);
    if (identity)
      continue;
    auto type = nn::f32Tensor(b.getContext(), {m, n});
    auto constant = [&](const std::vector<float> &values) -> Value {
      return b.create<arith::ConstantOp>(
          c.loc(), DenseElementsAttr::get(type, llvm::ArrayRef<float>(values)));
    };
    Value weight = constant(w);
    SmallVector<int64_t> perm;
    for (int64_t i = 0; i < rank; ++i)
      perm.push_back(i);
    std::swap(perm[d], perm[rank - 1]);
    Value moved = d == rank - 1 ? y : permute(c, y, perm);
    Value mapped = c.create<nn::LinearOp>(moved, weight, Value());
    if (args.mode == "nearest" && !antialias && !shortcut) {
      // torch 1.13's nearest backward (cpu_upsample_nearest_backward's
      // nearest_idx) takes the out == in and out == 2 in shortcuts that its
      // generic forward does not: with a scale_factor near 1 or 2 its
      // gradient is not the forward's adjoint. The oracle's gradient is the
      // backward's matrix: value from the forward's, gradient from it, as
      // detach(F x) + (B x - detach(B x)) (exactly F x: B x - B x is 0).
      std::vector<float> wb = upsampleWeights(args.mode, n, m, alignCorners, plan.scales[d - 2],
                                              /*shortcut=*/true);
      if (wb != w) {
        Value backward = c.create<nn::LinearOp>(moved, constant(wb), Value());
        mapped = c.create<nn::AddOp>(
            c.create<nn::DetachOp>(mapped),
            c.create<nn::SubOp>(backward, c.create<nn::DetachOp>(backward)));
      }
    }
    y = d == rank - 1 ? mapped : permute(c, mapped, perm);
  }
  return y;
}

/// nn.Upsample / F.interpolate: align_corners None means False for the
/// interpolating modes; recompute_scale_factor None means False.
Value upsampleFromOptions(BuildContext &c) {
  const Options &o = c.options();
  std::string mode = o.getString("mode");
  bool alignGiven = !o.isNone("align_corners");
  bool align = alignGiven && o.getBool("align_corners");
  bool recompute = !o.isNone("recompute_scale_factor") && o.getBool("recompute_scale_factor");
  bool antialias = o.raw().contains("antialias") && o.getBool("antialias");
  if (antialias && mode != "bilinear" && mode != "bicubic")
    c.failAt(o.pathOf("antialias"),
             "Anti-alias option is only supported for bilinear and bicubic modes (mode is '" +
                 mode + "')");
  return upsample(c, upsampleArgs(o, mode, alignGiven, recompute), align, antialias);
}

std::vector<OptionSpec> sizeAndScaleOptions() {
  return {intListOption("size").orNone(), floatListOption("scale_factor").orNone()};
}

} // namespace

void registerVisionFamily(Registry &r) {
  const std::vector<std::string> modes = {"nearest", "linear", "bilinear", "bicubic",
                                          "trilinear", "area", "nearest-exact"};
  for (bool layer : {true, false}) {
    Entry e{layer ? "nn.Upsample" : "interpolate", layer ? EntryKind::Layer : EntryKind::Function,
            "nn.linear per spatial dimension with a constant weight matrix"};
    e.options = sizeAndScaleOptions();
    e.options.push_back(choiceOption("mode", "nearest", modes));
    e.options.push_back(boolOption("align_corners").orNone());
    e.options.push_back(boolOption("recompute_scale_factor").orNone());
    if (!layer)
      e.options.push_back(boolOption("antialias", false));
    e.build = upsampleFromOptions;
    e.example = {{"options", {{"scale_factor", 2.0}, {"mode", "bilinear"}}},
                 {"input", {1, 2, 3, 4}}};
    r.add(std::move(e));
  }

  // nn.UpsamplingNearest2d(size, scale_factor): interpolate(mode="nearest").
  Entry nearest{"nn.UpsamplingNearest2d", EntryKind::Layer,
                "nn.linear per spatial dimension (as Upsample, mode nearest)"};
  nearest.options = sizeAndScaleOptions();
  nearest.build = [](BuildContext &c) {
    return upsample(c, upsampleArgs(c.options(), "nearest", false, false), false);
  };
  nearest.example = {{"options", {{"scale_factor", 2.0}}}, {"input", {1, 2, 3, 4}}};
  r.add(std::move(nearest));

  // nn.UpsamplingBilinear2d(size, scale_factor): interpolate(mode="bilinear",
  // align_corners=True).
  Entry bilinear{"nn.UpsamplingBilinear2d", EntryKind::Layer,
                 "nn.linear per spatial dimension (as Upsample, mode bilinear, align_corners)"};
  bilinear.options = sizeAndScaleOptions();
  bilinear.build = [](BuildContext &c) {
    return upsample(c, upsampleArgs(c.options(), "bilinear", true, false), true);
  };
  bilinear.example = {{"options", {{"size", {5, 6}}}}, {"input", {1, 2, 3, 4}}};
  r.add(std::move(bilinear));

  addPair(r, "PixelShuffle", "pixel_shuffle", "upscale_factor", "upscale_factor",
          pixelShuffle, {2, 8, 3, 3});
  addPair(r, "PixelUnshuffle", "pixel_unshuffle", "downscale_factor",
          "downscale_factor", pixelUnshuffle, {2, 2, 4, 6});
  addPair(r, "ChannelShuffle", "channel_shuffle", "groups", "groups",
          channelShuffle, {2, 6, 3});
}

} // namespace kiln::import
