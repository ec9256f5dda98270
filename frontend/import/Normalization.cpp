// The `normalization` family of the inventory. Normalising with batch
// statistics is nn.batch_norm for every layer (Norm.h): batch norm and its
// variants (BatchNorm.cpp),
// instance norm (InstanceNorm.cpp), and here LayerNorm, GroupNorm and
// LocalResponseNorm, which have no buffers and no train/eval difference.
#include "frontend/import/Norm.h"
#include "frontend/import/Pad.h"

using namespace mlir;

namespace kiln::import {
namespace {

/// LocalResponseNorm sums `size` neighbouring channels with one nn.slice
/// each (at most 2C - 1 of them contribute): bounded so that a model file
/// cannot ask for thousands of ops.
constexpr int64_t kMaxLocalResponseWindow = 128;

/// LayerNorm over the trailing dimensions equal to normalized_shape, as
/// torch's layer_norm:
///   y = (x - mean) * rsqrt(var + eps) * weight + bias
/// with mean and biased var over those dimensions; weight and bias (when
/// elementwise_affine) have shape normalized_shape.
Value buildLayerNorm(BuildContext &c) {
  const Options &o = c.options();
  Value x = c.operands()[0];
  auto shape = nn::shapeOf(x);
  std::vector<int64_t> normalized = o.getInts("normalized_shape");
  size_t k = normalized.size(), rank = shape.size();
  bool matches = rank >= k;
  for (size_t i = 0; matches && i < k; ++i)
    matches = shape[rank - k + i] == normalized[i];
  if (!matches)
    c.fail("expected an input whose trailing dimensions are normalized_shape " +
           nn::shapeStr(normalized) + ", got input of shape " + nn::shapeStr(shape));
  SmallVector<int64_t> dims;
  for (size_t d = rank - k; d < rank; ++d)
    dims.push_back(static_cast<int64_t>(d));
  Value y = normalizeOver(c, x, dims, o.getFloat("eps"));
  if (Value w = c.parameter("weight"))
    y = c.create<nn::AddOp>(c.create<nn::MulOp>(y, w), c.parameter("bias"));
  return y;
}

void declareLayerNorm(LayerDecl &decl) {
  const Options &o = decl.options();
  std::vector<int64_t> normalized = o.getInts("normalized_shape");
  if (normalized.empty())
    fail(o.pathOf("normalized_shape"), "must name at least one dimension");
  if (o.getBool("elementwise_affine")) {
    decl.addParameter("weight", normalized, normOnes());
    decl.addParameter("bias", normalized, Init());
  }
}

/// GroupNorm on an [N, C, *] input, as torch's group_norm: the input viewed
/// as [N, G, C / G * prod(*)] is normalised over its last dimension
/// (biased variance), then scaled per channel:
///   y = (x - mean_g) * rsqrt(var_g + eps) * weight[c] + bias[c]
Value buildGroupNorm(BuildContext &c) {
  const Options &o = c.options();
  OpBuilder &b = c.builder();
  Location loc = c.loc();
  Value x = c.operands()[0];
  SmallVector<int64_t> shape(nn::shapeOf(x));
  if (shape.size() < 2)
    c.fail("expected an input with at least 2 dimensions (N, C, *), got " +
           nn::shapeStr(shape));
  // The layer declares num_channels; the function (torch.group_norm) takes
  // the input's.
  bool layer = o.raw().contains("num_channels");
  int64_t groups = o.getInt("num_groups"), channels = layer ? o.getInt("num_channels") : shape[1];
  if (shape[1] != channels)
    c.fail("input " + nn::shapeStr(shape) + " has " + normStr(shape[1]) +
           " channels (dimension 1), but num_channels is " + normStr(channels));
  if (channels % groups != 0)
    c.failAt(o.pathOf("num_groups"), "the input's " + normStr(channels) +
                                         " channels must be divisible by num_groups " +
                                         normStr(groups));
  int64_t perGroup = channels / groups;
  for (size_t d = 2; d < shape.size(); ++d)
    perGroup *= shape[d];
  Value grouped = nn::reshapeTo(b, loc, x, nn::f32Tensor(b.getContext(), {shape[0], groups, perGroup}));
  Value y = normalizeOver(c, grouped, {2}, o.getFloat("eps"));
  y = nn::reshapeTo(b, loc, y, nn::f32Tensor(b.getContext(), shape));
  return affinePerChannel(c, y, shape.size());
}

void declareGroupNorm(LayerDecl &decl) {
  const Options &o = decl.options();
  int64_t groups = o.getInt("num_groups"), channels = o.getInt("num_channels");
  if (channels % groups != 0)
    fail(o.pathOf("num_groups"), "num_channels " + normStr(channels) +
                                     " must be divisible by num_groups " + normStr(groups));
  if (o.getBool("affine")) {
    decl.addParameter("weight", {channels}, normOnes());
    decl.addParameter("bias", {channels}, Init());
  }
}

/// LocalResponseNorm on an [N, C, *] input, as torch 1.13's
/// F.local_response_norm (an avg_pool over channels of the zero-padded
/// squares, the padding counted):
///   avg[c] = sum(x[c']^2 for c' in [c - size//2, c + (size-1)//2]) / size
///   y = x / (k + alpha * avg)^beta
/// The window sum is a sum of shifted slices of the squares padded with
/// zeros; shifts past the channel range only add zeros, so the padding is
/// clipped to C - 1 per side.
Value buildLocalResponseNorm(BuildContext &c) {
  const Options &o = c.options();
  OpBuilder &b = c.builder();
  Location loc = c.loc();
  Value x = c.operands()[0];
  auto shape = nn::shapeOf(x);
  if (shape.size() < 3)
    c.fail("expected 3D or higher dimensionality input, got " + nn::shapeStr(shape));
  int64_t size = o.getInt("size"), channels = shape[1];
  int64_t lo = std::min(size / 2, channels - 1), hi = std::min((size - 1) / 2, channels - 1);
  int64_t window = lo + hi + 1;
  if (window > kMaxLocalResponseWindow)
    c.fail("a window of " + normStr(window) + " channels (size " + normStr(size) + ", " +
           normStr(channels) + " channels) is larger than Kiln supports (" +
           normStr(kMaxLocalResponseWindow) + ": one slice per channel of the window)");
  Value squares = c.create<nn::MulOp>(x, x);
  Value padded = padSeparable(c, squares, 1, {lo}, {hi}, "constant", 0.0);
  Value sum = sliceDim(c, padded, 1, 0, channels);
  for (int64_t j = 1; j < window; ++j)
    sum = c.create<nn::AddOp>(sum, sliceDim(c, padded, 1, j, j + channels));
  Value avg = c.create<nn::DivOp>(sum, nn::scalarConstant(b, loc, static_cast<double>(size)));
  Value base = c.create<nn::AddOp>(
      c.create<nn::MulOp>(avg, nn::scalarConstant(b, loc, o.getFloat("alpha"))),
      nn::scalarConstant(b, loc, o.getFloat("k")));
  Value div = c.create<nn::PowOp>(base, nn::scalarConstant(b, loc, o.getFloat("beta")));
  return c.create<nn::DivOp>(x, div);
}

} // namespace

void registerNormalizationFamily(Registry &r) {
  registerBatchNormEntries(r);
  registerInstanceNormEntries(r);

  Entry layer{"nn.LayerNorm", EntryKind::Layer,
              "nn.batch_norm (of the [1, prod(leading dims), prod(normalized_shape)] view), "
              "nn.mul, nn.add (elementwise affine)"};
  layer.options = {intListOption("normalized_shape").atLeast(1),
                   floatOption("eps", 1e-5),
                   boolOption("elementwise_affine", true)};
  layer.declare = declareLayerNorm;
  layer.build = buildLayerNorm;
  layer.example = {{"options", {{"normalized_shape", {3, 4}}}}, {"input", {2, 3, 4}}};
  r.add(std::move(layer));

  Entry group{"nn.GroupNorm", EntryKind::Layer,
              "nn.batch_norm (of the [1, N * num_groups, *] view), nn.mul, nn.add (affine)"};
  group.options = {intOption("num_groups").atLeast(1), intOption("num_channels").atLeast(1),
                   floatOption("eps", 1e-5), boolOption("affine", true)};
  group.declare = declareGroupNorm;
  group.build = buildGroupNorm;
  group.example = {{"options", {{"num_groups", 2}, {"num_channels", 4}}}, {"input", {2, 4, 5}}};
  r.add(std::move(group));

  Entry lrn{"nn.LocalResponseNorm", EntryKind::Layer,
            "nn.mul, nn.concat, nn.slice, nn.add, nn.div, nn.pow (decomposed: a window sum "
            "over channels)"};
  lrn.options = {intOption("size").atLeast(1), floatOption("alpha", 1e-4),
                 floatOption("beta", 0.75), floatOption("k", 1.0)};
  lrn.build = buildLocalResponseNorm;
  lrn.example = {{"options", {{"size", 3}}}, {"input", {2, 4, 5}}};
  r.add(std::move(lrn));

  // The functional forms: torch.layer_norm and torch.group_norm without
  // weight and bias, F.local_response_norm (torch.* has no such function).
  Entry layerFn{"layer_norm", EntryKind::Function, "nn.batch_norm (of the [1, prod(leading dims), prod(normalized_shape)] view)"};
  layerFn.options = {intListOption("normalized_shape").atLeast(1), floatOption("eps", 1e-5)};
  layerFn.build = [](BuildContext &c) {
    if (c.options().getInts("normalized_shape").empty())
      c.failAt(c.options().pathOf("normalized_shape"), "must name at least one dimension");
    return buildLayerNorm(c);
  };
  layerFn.example = {{"options", {{"normalized_shape", {4}}}}, {"input", {2, 3, 4}}};
  r.add(std::move(layerFn));

  Entry groupFn{"group_norm", EntryKind::Function,
                "nn.batch_norm (of the [1, N * num_groups, *] view)"};
  groupFn.options = {intOption("num_groups").atLeast(1), floatOption("eps", 1e-5)};
  groupFn.build = buildGroupNorm;
  groupFn.example = {{"options", {{"num_groups", 2}}}, {"input", {2, 4, 5}}};
  r.add(std::move(groupFn));

  Entry lrnFn{"local_response_norm", EntryKind::Function,
              "nn.mul, nn.concat, nn.slice, nn.add, nn.div, nn.pow (decomposed)"};
  lrnFn.options = {intOption("size").atLeast(1), floatOption("alpha", 1e-4),
                   floatOption("beta", 0.75), floatOption("k", 1.0)};
  lrnFn.build = buildLocalResponseNorm;
  lrnFn.example = {{"options", {{"size", 3}}}, {"input", {2, 4, 5}}};
  r.add(std::move(lrnFn));
}

} // namespace kiln::import
