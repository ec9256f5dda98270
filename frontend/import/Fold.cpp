// nn.Unfold and nn.Fold (the `convolution` family of the inventory) as
// decompositions into the convolution ops: extracting sliding blocks is a
// depthwise convolution with a constant one-hot weight, and Fold, which sums
// blocks back into an image, is its adjoint. Autodiff and every lowering of
// nn.conv / nn.conv_backward_input then serve them.
//
//   Unfold: x [N, C, H, W] -> [N, C*K, L]  (K = kh*kw blocks positions,
//           L = OH*OW blocks, channel index c*K + i*kw + j as torch)
//           = reshape(conv(x, onehot, groups = C))
//   Fold:   x [N, C*K, L] -> [N, C, *output_size]
//           = conv_backward_input(reshape(x, [N, C*K, OH, OW]), onehot, groups = C)
// with onehot [C*K, 1, kh, kw], onehot[c*K + k, 0, i, j] = (k == i*kw + j).
#include "frontend/import/Registry.h"

#include "ir/NNBuilders.h"

using namespace mlir;

namespace kiln::import {
namespace {

std::string str(int64_t v) { return std::to_string(v); }

struct BlockGeometry {
  std::vector<int64_t> kernel, dilation, padding, stride;
  int64_t positions() const { return kernel[0] * kernel[1]; }
  /// Blocks along spatial dimension d of an image of `size` (< 1: none fit).
  int64_t blocks(int d, int64_t size) const {
    return (size + 2 * padding[d] - dilation[d] * (kernel[d] - 1) - 1) / stride[d] + 1;
  }
};

BlockGeometry geometryOf(const Options &o) {
  return {o.getInts("kernel_size"), o.getInts("dilation"), o.getInts("padding"),
          o.getInts("stride")};
}

/// The one-hot weight [C*K, 1, kh, kw] of the depthwise block extraction.
Value oneHotWeight(BuildContext &c, int64_t channels, const BlockGeometry &g) {
  int64_t k = g.positions();
  std::vector<float> values(static_cast<size_t>(channels * k * k), 0.0f);
  for (int64_t ch = 0; ch < channels; ++ch)
    for (int64_t p = 0; p < k; ++p)
      values[static_cast<size_t>((ch * k + p) * k + p)] = 1.0f;
  auto type = nn::f32Tensor(c.builder().getContext(),
                            {channels * k, 1, g.kernel[0], g.kernel[1]});
  return c.builder().create<arith::ConstantOp>(
      c.loc(), DenseElementsAttr::get(type, ArrayRef<float>(values)));
}

Value buildUnfold(BuildContext &c) {
  OpBuilder &b = c.builder();
  MLIRContext *ctx = b.getContext();
  Value x = c.operands()[0];
  auto shape = nn::shapeOf(x);
  if (shape.size() != 3 && shape.size() != 4)
    c.fail("expected a 3-D (unbatched) or 4-D (batched) input, got " + nn::shapeStr(shape));
  bool unbatched = shape.size() == 3;
  SmallVector<int64_t> batched(shape.begin(), shape.end());
  if (unbatched) {
    batched.insert(batched.begin(), 1);
    x = c.create<nn::ReshapeOp>(nn::f32Tensor(ctx, batched), x);
  }
  BlockGeometry g = geometryOf(c.options());
  int64_t channels = batched[1], rows = g.blocks(0, batched[2]), cols = g.blocks(1, batched[3]);
  if (rows < 1 || cols < 1)
    c.fail("no sliding block fits the input " + nn::shapeStr(shape) +
           " (padded by " + str(g.padding[0]) + ", " + str(g.padding[1]) +
           "; dilated kernel " + str(g.dilation[0] * (g.kernel[0] - 1) + 1) + "x" +
           str(g.dilation[1] * (g.kernel[1] - 1) + 1) + ")");
  Value blocks = c.create<nn::ConvOp>(
      x, oneHotWeight(c, channels, g), Value(), b.getDenseI64ArrayAttr(g.stride),
      b.getDenseI64ArrayAttr(g.padding), b.getDenseI64ArrayAttr(g.dilation),
      b.getI64IntegerAttr(channels));
  SmallVector<int64_t> out{batched[0], channels * g.positions(), rows * cols};
  if (unbatched)
    out.erase(out.begin());
  return c.create<nn::ReshapeOp>(nn::f32Tensor(ctx, out), blocks);
}

Value buildFold(BuildContext &c) {
  const Options &o = c.options();
  OpBuilder &b = c.builder();
  MLIRContext *ctx = b.getContext();
  Value x = c.operands()[0];
  auto shape = nn::shapeOf(x);
  if (shape.size() != 2 && shape.size() != 3)
    c.fail("expected a 2-D (unbatched) or 3-D (batched) input, got " + nn::shapeStr(shape));
  bool unbatched = shape.size() == 2;
  SmallVector<int64_t> batched(shape.begin(), shape.end());
  if (unbatched)
    batched.insert(batched.begin(), 1);
  BlockGeometry g = geometryOf(o);
  std::vector<int64_t> size = o.getInts("output_size");
  int64_t k = g.positions();
  if (batched[1] % k != 0)
    c.fail("expected the size of dimension " + str(unbatched ? 0 : 1) + " of the input " +
           nn::shapeStr(shape) + " to be divisible by the product of kernel_size (" +
           str(k) + ")");
  int64_t rows = g.blocks(0, size[0]), cols = g.blocks(1, size[1]);
  if (rows < 1 || cols < 1 || rows * cols != batched[2])
    c.fail("given output_size [" + str(size[0]) + ", " + str(size[1]) +
           "] and the block geometry, " + str(std::max<int64_t>(rows, 0)) + " x " +
           str(std::max<int64_t>(cols, 0)) + " blocks are expected, but the input " +
           nn::shapeStr(shape) + " has " + str(batched[2]));
  int64_t channels = batched[1] / k;
  Value blocks = c.create<nn::ReshapeOp>(
      nn::f32Tensor(ctx, {batched[0], batched[1], rows, cols}), x);
  SmallVector<int64_t> out{batched[0], channels, size[0], size[1]};
  Value y = c.create<nn::ConvBackwardInputOp>(
      nn::f32Tensor(ctx, out), blocks, oneHotWeight(c, channels, g),
      b.getDenseI64ArrayAttr(g.stride), b.getDenseI64ArrayAttr(g.padding),
      b.getDenseI64ArrayAttr(g.dilation), b.getI64IntegerAttr(channels));
  if (unbatched)
    y = c.create<nn::ReshapeOp>(nn::f32Tensor(ctx, {channels, size[0], size[1]}), y);
  return y;
}

std::vector<OptionSpec> blockOptions() {
  return {intTupleOption("kernel_size", 2).atLeast(1),
          intTupleOption("dilation", 2, 1).atLeast(1),
          intTupleOption("padding", 2, 0).atLeast(0),
          intTupleOption("stride", 2, 1).atLeast(1)};
}

} // namespace

void registerFoldFamily(Registry &r) {
  Entry unfold{"nn.Unfold", EntryKind::Layer,
               "nn.conv (depthwise, constant one-hot weight) + nn.reshape"};
  unfold.options = blockOptions();
  unfold.build = buildUnfold;
  unfold.example = {{"options", {{"kernel_size", json::array({2, 3})}, {"padding", 1}}},
                    {"input", {2, 3, 5, 6}}};
  r.add(std::move(unfold));

  Entry fold{"nn.Fold", EntryKind::Layer,
             "nn.reshape + nn.conv_backward_input (the adjoint of Unfold)"};
  fold.options = blockOptions();
  fold.options.insert(fold.options.begin(), intTupleOption("output_size", 2).atLeast(1));
  fold.build = buildFold;
  fold.example = {{"options", {{"output_size", json::array({5, 6})},
                               {"kernel_size", json::array({2, 3})},
                               {"padding", 1}}},
                  {"input", {2, 18, 36}}};
  r.add(std::move(fold));

  // F.unfold / F.fold: the layers' options and builds as graph functions
  // (torch.* has neither; the oracle calls F.<name>).
  for (const char *name : {"unfold", "fold"}) {
    const Entry *layer = r.find(std::string(name) == "unfold" ? "nn.Unfold" : "nn.Fold");
    Entry f{name, EntryKind::Function, layer->lowering};
    f.options = layer->options;
    f.build = layer->build;
    f.example = layer->example;
    r.add(std::move(f));
  }
}

} // namespace kiln::import
