// nn.ConvTranspose1d/2d/3d: the transposed convolution is the adjoint of a
// convolution with respect to its input, so it is built from
// nn.conv_backward_input (whose gradient rule, a conv and a
// conv_backward_weight, makes it trainable) plus the bias. torch's weight
// [in_channels, out_channels / groups, *kernel] is exactly the weight of
// that convolution (which maps out_channels to in_channels).
#include "frontend/import/ConvCommon.h"
#include "frontend/import/Pad.h"
#include "frontend/import/Registry.h"

#include "ir/NNBuilders.h"

#include <algorithm>
#include <cmath>

using namespace mlir;

namespace kiln::import {
namespace {

std::string str(int64_t v) { return std::to_string(v); }

/// torch's rules (_ConvNd's constructor, ConvUtils' check_shape_forward), at
/// the option's JSON path.
void checkConvTransposeOptions(const Options &o, int rank) {
  checkChannelGroups(o);
  std::vector<int64_t> stride = o.getInts("stride"),
                       dilation = o.getInts("dilation"),
                       outputPadding = o.getInts("output_padding");
  for (int i = 0; i < rank; ++i)
    if (outputPadding[i] >= stride[i] && outputPadding[i] >= dilation[i])
      fail(o.pathOf("output_padding"),
           "output padding must be smaller than either stride or dilation, got "
           "output_padding " +
               str(outputPadding[i]) + ", stride " + str(stride[i]) +
               " and dilation " + str(dilation[i]) + " in dimension " + str(i));
}

/// torch's default initialisation (_ConvNd.reset_parameters): fan_in is
/// computed from the weight [in, out / groups, *k] as for any weight,
/// out / groups * prod(kernel); the bias uses the same bound.
void declareConvTranspose(LayerDecl &decl, int rank) {
  const Options &o = decl.options();
  checkConvTransposeOptions(o, rank);
  declareConvParameters(decl, o.getInt("in_channels"),
                        o.getInt("out_channels") / o.getInt("groups"));
}

/// y[n, f, i] = sum over c, k with i + padding = o * stride + k * dilation of
/// x[n, c, o] * weight[c, f', k], plus bias; per spatial dimension, with
/// full = (in - 1) * stride + dilation * (kernel - 1) + 1 (every row a tap
/// reaches, before cropping):
///   out = full - 2 * padding + output_padding.
/// nn.conv_backward_input needs the convolution of its result to give x's
/// size back: with padding (lo, hi) = (padding, padding - e) it does for
/// e = max(0, output_padding - (stride - 1)). When that hi would be
/// negative (output_padding > padding + stride - 1, which torch allows while
/// output_padding < dilation), the rows past full - padding are reached by
/// no tap: the op is built with hi = 0 and out = full - padding, and the
/// remaining output_padding - padding rows are zeros.
Value buildConvTransposeWith(BuildContext &c, int rank, Value weight, Value bias,
                             int64_t in, int64_t out,
                             const std::vector<int64_t> &kernel) {
  const Options &o = c.options();
  OpBuilder &b = c.builder();
  MLIRContext *ctx = b.getContext();
  Value x = c.operands()[0];
  auto shape = nn::shapeOf(x);
  int64_t r = rank;
  if (static_cast<int64_t>(shape.size()) != r + 1 &&
      static_cast<int64_t>(shape.size()) != r + 2)
    c.fail("expected a " + str(r + 1) + "-D (unbatched) or " + str(r + 2) +
           "-D (batched) input, got " + nn::shapeStr(shape));
  bool unbatched = static_cast<int64_t>(shape.size()) == r + 1;
  if (unbatched) {
    SmallVector<int64_t> batched{1};
    batched.append(shape.begin(), shape.end());
    x = c.create<nn::ReshapeOp>(nn::f32Tensor(ctx, batched), x);
    shape = nn::shapeOf(x);
  }
  if (shape[1] != in)
    c.fail("expected " + str(in) + " input channels, got input of shape " +
           nn::shapeStr(shape));
  std::vector<int64_t> stride = o.getInts("stride"),
                       padding = o.getInts("padding"),
                       dilation = o.getInts("dilation"),
                       outputPadding = o.getInts("output_padding");
  SmallVector<int64_t> yShape{shape[0], out}, padLow, padHigh, zeroRows;
  bool extraRows = false;
  for (int64_t i = 0; i < r; ++i) {
    int64_t full =
        (shape[i + 2] - 1) * stride[i] + dilation[i] * (kernel[i] - 1) + 1;
    int64_t size = full - 2 * padding[i] + outputPadding[i];
    if (size < 1)
      c.fail("output size " + str(size) + " of spatial dimension " + str(i) +
             " (input " + nn::shapeStr(shape) + ", padding " + str(padding[i]) +
             ") is too small: it must be at least 1");
    int64_t high =
        padding[i] - std::max<int64_t>(0, outputPadding[i] - (stride[i] - 1));
    int64_t built = size, zeros = 0;
    if (high < 0) {
      high = 0;
      built = full - padding[i];
      zeros = size - built;
    }
    // Then every output row lies past the last one a kernel tap reaches:
    // the output would be the bias alone, independent of input and weight.
    if (built < 1)
      c.fail(
          "no kernel tap reaches any output element in spatial dimension " +
          str(i) + " (padding " + str(padding[i]) + " crops all " + str(full) +
          " reachable rows); Kiln does not compile this degenerate transposed "
          "convolution");
    yShape.push_back(built);
    padLow.push_back(padding[i]);
    padHigh.push_back(high);
    zeroRows.push_back(zeros);
    extraRows |= zeros != 0;
  }
  SmallVector<int64_t> pads(padLow);
  pads.append(padHigh.begin(), padHigh.end());
  Value y = c.create<nn::ConvBackwardInputOp>(
      nn::f32Tensor(ctx, yShape), x, weight,
      b.getDenseI64ArrayAttr(stride), b.getDenseI64ArrayAttr(pads),
      b.getDenseI64ArrayAttr(dilation),
      b.getI64IntegerAttr(o.getInt("groups")));
  if (extraRows)
    y = padSeparable(c, y, 2, SmallVector<int64_t>(r, 0), zeroRows, "constant");
  if (bias) {
    SmallVector<int64_t> perChannel{out};
    perChannel.append(r, 1);
    y = c.create<nn::AddOp>(
        y, nn::reshapeTo(b, c.loc(), bias, nn::f32Tensor(ctx, perChannel)));
  }
  if (unbatched)
    y = c.create<nn::ReshapeOp>(nn::f32Tensor(ctx, nn::shapeOf(y).drop_front()),
                                y);
  return y;
}

Value buildConvTranspose(BuildContext &c, int rank) {
  const Options &o = c.options();
  return buildConvTransposeWith(c, rank, c.parameter("weight"), c.parameter("bias"),
                                o.getInt("in_channels"), o.getInt("out_channels"),
                                o.getInts("kernel_size"));
}

/// F.conv_transpose{D}d(input, weight, bias=None, stride, padding,
/// output_padding, groups, dilation): the weight [C_in, C_out / groups,
/// *kernel] and the bias [C_out] are the call's second and third inputs.
Value buildConvTransposeFunction(BuildContext &c, int rank) {
  const Options &o = c.options();
  Value weight = c.operands()[1];
  auto w = nn::shapeOf(weight);
  if (static_cast<int>(w.size()) != rank + 2)
    c.fail("weight (input 1) must be [C_in, C_out / groups, *kernel] with " +
           str(rank) + " kernel dimensions, got " + nn::shapeStr(w));
  int64_t groups = o.getInt("groups");
  if (w[0] % groups != 0)
    c.fail("weight " + nn::shapeStr(w) + ": in_channels " + str(w[0]) +
           " must be divisible by groups " + str(groups));
  int64_t out = w[1] * groups;
  Value bias = c.operands().size() > 2 ? c.operands()[2] : Value();
  if (bias && nn::shapeOf(bias) != ArrayRef<int64_t>{out})
    c.fail("bias (input 2) must be [" + str(out) + "] for the weight " +
           nn::shapeStr(w) + ", got " + nn::shapeStr(nn::shapeOf(bias)));
  std::vector<int64_t> stride = o.getInts("stride"), dilation = o.getInts("dilation"),
                       outputPadding = o.getInts("output_padding");
  for (int i = 0; i < rank; ++i)
    if (outputPadding[i] >= stride[i] && outputPadding[i] >= dilation[i])
      c.failAt(o.pathOf("output_padding"),
               "output padding must be smaller than either stride or dilation, "
               "got output_padding " + str(outputPadding[i]) + ", stride " +
                   str(stride[i]) + " and dilation " + str(dilation[i]) +
                   " in dimension " + str(i));
  return buildConvTransposeWith(c, rank, weight, bias, w[0], out,
                                std::vector<int64_t>(w.begin() + 2, w.end()));
}

} // namespace

void registerConvTransposeFamily(Registry &r) {
  for (int rank : {1, 2, 3}) {
    // torch.conv_transpose{D}d / F.conv_transpose{D}d, torch's argument order.
    Entry f{"conv_transpose" + str(rank) + "d", EntryKind::Function,
            "nn.conv_backward_input (+ nn.add for the bias; weight and bias: "
            "the second and third inputs)"};
    f.options = {intTupleOption("stride", rank, 1).atLeast(1),
                 intTupleOption("padding", rank, 0).atLeast(0),
                 intTupleOption("output_padding", rank, 0).atLeast(0),
                 intOption("groups", 1).atLeast(1),
                 intTupleOption("dilation", rank, 1).atLeast(1)};
    f.numInputs = 3;
    f.numOptionalInputs = 1;
    f.build = [rank](BuildContext &c) { return buildConvTransposeFunction(c, rank); };
    // The example feeds its input twice: [4, 4, 3(, 3)] is also a weight of
    // 4 input and 4 output channels and a kernel of 3 (x 3).
    json input = {4, 4, 3};
    for (int i = 1; i < rank; ++i)
      input.push_back(3);
    f.example = {{"options", {{"stride", 2}, {"padding", 1}}}, {"input", input}};
    r.add(std::move(f));
  }
  for (int rank : {1, 2, 3}) {
    for (bool lazy : {false, true}) {
      std::string layer =
          (lazy ? "LazyConvTranspose" : "ConvTranspose") + str(rank) + "d";
      Entry conv{"nn." + layer, EntryKind::Layer,
                 lazy ? "nn.conv_backward_input (+ nn.add for the bias; as "
                        "ConvTranspose" +
                            str(rank) +
                            "d, in_channels resolved from the first input at "
                            "trace time)"
                      : "nn.conv_backward_input (+ nn.add for the bias)"};
      conv.options = {intOption("in_channels").atLeast(lazy ? 0 : 1),
                      intOption("out_channels").atLeast(1),
                      intTupleOption("kernel_size", rank).atLeast(1),
                      intTupleOption("stride", rank, 1).atLeast(1),
                      intTupleOption("padding", rank, 0).atLeast(0),
                      intTupleOption("output_padding", rank, 0).atLeast(0),
                      intOption("groups", 1).atLeast(1),
                      boolOption("bias", true),
                      intTupleOption("dilation", rank, 1).atLeast(1),
                      // torch: 'Only "zeros" padding mode is supported'.
                      choiceOption("padding_mode", "zeros", {"zeros"})};
      conv.declare = [rank, lazy, layer](LayerDecl &decl) {
        if (lazy)
          checkLazyInChannels(decl.options(), layer);
        declareConvTranspose(decl, rank);
      };
      conv.build = [rank](BuildContext &c) {
        return buildConvTranspose(c, rank);
      };
      json input = {2, 4};
      for (int i = 0; i < rank; ++i)
        input.push_back(5 - i);
      conv.example = {{"options",
                       {{"in_channels", 4},
                        {"out_channels", 6},
                        {"kernel_size", 3},
                        {"stride", 2},
                        {"padding", 1},
                        {"output_padding", 1},
                        {"groups", 2}}},
                      {"input", input}};
      r.add(std::move(conv));
    }
  }
}

} // namespace kiln::import
