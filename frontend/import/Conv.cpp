// The `convolution` family of the inventory: nn.Conv1d, nn.Conv2d,
// nn.Conv3d, all lowered to nn.conv; padding modes other than zeros pad
// the input with nn.slice + nn.concat first, as torch pads with F.pad.
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

/// Cross-option rules torch's _ConvNd constructor enforces, at the option's
/// JSON path.
void checkConvOptions(const Options &o, int rank) {
  checkChannelGroups(o);
  const json &padding = o.raw().at("padding");
  if (padding.is_string() && padding.get<std::string>() == "same") {
    std::vector<int64_t> stride = o.getInts("stride");
    for (int i = 0; i < rank; ++i)
      if (stride[i] != 1)
        fail(o.pathOf("padding"),
             "padding=\"same\" is not supported for strided convolutions "
             "(stride " + str(stride[i]) + " in dimension " + str(i) + ")");
  }
}

/// torch's default initialisation (_ConvNd.reset_parameters):
/// kaiming_uniform_(a=sqrt(5)) == U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with
/// fan_in = in_channels / groups * prod(kernel_size); the bias uses the
/// same bound.
void declareConv(LayerDecl &decl, int rank) {
  const Options &o = decl.options();
  checkConvOptions(o, rank);
  declareConvParameters(decl, o.getInt("out_channels"),
                        o.getInt("in_channels") / o.getInt("groups"));
}

/// x [N, C, *spatial] padded by (lo, hi) per spatial dimension as torch's
/// F.pad(mode=padding_mode) before a convolution with padding_mode other
/// than "zeros" (padSeparable, frontend/import/Pad.h).
Value padWithMode(BuildContext &c, Value x, ArrayRef<int64_t> lo,
                  ArrayRef<int64_t> hi, const std::string &mode) {
  auto shape = nn::shapeOf(x);
  shape_rules::Inferred padded = shape_rules::padSpatial(
      shape_rules::Shape(shape.begin(), shape.end()),
      shape_rules::Shape(lo.begin(), lo.end()),
      shape_rules::Shape(hi.begin(), hi.end()), mode);
  if (!padded.ok())
    c.fail(padded.error);
  for (size_t i = 0; i < lo.size(); ++i)
    if (mode == "reflect" && std::max(lo[i], hi[i]) > kMaxReflectPadding)
      c.fail("padding_mode \"reflect\": padding (" + str(lo[i]) + ", " +
             str(hi[i]) + ") of spatial dimension " + str(i) +
             " is larger than Kiln supports (" + str(kMaxReflectPadding) + ")");
  return padSeparable(c, x, 2, lo, hi, mode);
}

/// nn.conv of the call's input with `weight` and `bias` (null: none) and
/// the options' geometry; an unbatched input [C, *spatial] (accepted by
/// torch >= 1.11) is convolved as a batch of one. `kernel` is the weight's
/// spatial size; `mode` torch's padding_mode ("zeros" for F.conv{D}d).
Value buildConvWith(BuildContext &c, int rank, Value weight, Value bias,
                    const std::vector<int64_t> &kernel, const std::string &mode) {
  const Options &o = c.options();
  OpBuilder &b = c.builder();
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
    x = c.create<nn::ReshapeOp>(nn::f32Tensor(b.getContext(), batched), x);
  }
  std::vector<int64_t> dilation = o.getInts("dilation");
  SmallVector<int64_t> padding;
  const json &p = o.raw().at("padding");
  if (p.is_string() && p.get<std::string>() == "same") {
    SmallVector<int64_t> lo, hi;
    for (int64_t i = 0; i < r; ++i) {
      auto [l, h] = shape_rules::convSamePadding(kernel[i], dilation[i]);
      lo.push_back(l);
      hi.push_back(h);
    }
    padding = lo;
    if (lo != hi)
      padding.append(hi.begin(), hi.end());
  } else if (p.is_string()) { // "valid"
    padding.assign(r, 0);
  } else {
    std::vector<int64_t> pad = o.getInts("padding");
    padding.assign(pad.begin(), pad.end());
  }
  if (mode != "zeros") {
    ArrayRef<int64_t> all(padding);
    ArrayRef<int64_t> lo = all.take_front(r),
                      hi = all.size() == static_cast<size_t>(r) ? lo : all.drop_front(r);
    x = padWithMode(c, x, lo, hi, mode);
    padding.assign(r, 0);
  }
  Value y = c.create<nn::ConvOp>(
      x, weight, bias,
      b.getDenseI64ArrayAttr(o.getInts("stride")),
      b.getDenseI64ArrayAttr(padding), b.getDenseI64ArrayAttr(dilation),
      b.getI64IntegerAttr(o.getInt("groups")));
  if (unbatched) {
    auto batched = nn::shapeOf(y);
    y = c.create<nn::ReshapeOp>(
        nn::f32Tensor(b.getContext(), batched.drop_front()), y);
  }
  return y;
}

Value buildConv(BuildContext &c, int rank) {
  const Options &o = c.options();
  return buildConvWith(c, rank, c.parameter("weight"), c.parameter("bias"),
                       o.getInts("kernel_size"), o.getString("padding_mode"));
}

/// F.conv{D}d(input, weight, bias=None, stride, padding, dilation, groups):
/// the weight [C_out, C_in / groups, *kernel] and the bias [C_out] are the
/// call's second and third inputs; zero padding ("same" needs stride 1, as
/// torch).
Value buildConvFunction(BuildContext &c, int rank) {
  const Options &o = c.options();
  Value weight = c.operands()[1];
  auto w = nn::shapeOf(weight);
  if (static_cast<int>(w.size()) != rank + 2)
    c.fail("weight (input 1) must be [C_out, C_in / groups, *kernel] with " +
           str(rank) + " kernel dimensions, got " + nn::shapeStr(w));
  int64_t groups = o.getInt("groups");
  if (w[0] % groups != 0)
    c.fail("weight " + nn::shapeStr(w) + ": out_channels " + str(w[0]) +
           " must be divisible by groups " + str(groups));
  Value bias = c.operands().size() > 2 ? c.operands()[2] : Value();
  if (bias && nn::shapeOf(bias) != ArrayRef<int64_t>{w[0]})
    c.fail("bias (input 2) must be [" + str(w[0]) + "] for the weight " +
           nn::shapeStr(w) + ", got " + nn::shapeStr(nn::shapeOf(bias)));
  const json &padding = o.raw().at("padding");
  if (padding.is_string() && padding.get<std::string>() == "same")
    for (int64_t s : o.getInts("stride"))
      if (s != 1)
        c.failAt(o.pathOf("padding"),
                 "padding='same' is not supported for strided convolutions");
  return buildConvWith(c, rank, weight, bias,
                       std::vector<int64_t>(w.begin() + 2, w.end()), "zeros");
}

} // namespace

void registerConvFamily(Registry &r) {
  for (int rank : {1, 2, 3}) {
    Entry f{"conv" + str(rank) + "d", EntryKind::Function,
            "nn.conv (weight and bias: the second and third inputs)"};
    OptionSpec padding = intTupleOption("padding", rank, 0).atLeast(0);
    padding.choices = {"valid", "same"};
    f.options = {intTupleOption("stride", rank, 1).atLeast(1), padding,
                 intTupleOption("dilation", rank, 1).atLeast(1),
                 intOption("groups", 1).atLeast(1)};
    f.numInputs = 3;
    f.numOptionalInputs = 1;
    f.build = [rank](BuildContext &c) { return buildConvFunction(c, rank); };
    // The example feeds its input twice: a [4, 4, 3(, 3)] input is also a
    // weight of 4 output channels and a kernel of 3 (x 3).
    json input = {4, 4, 3};
    for (int i = 1; i < rank; ++i)
      input.push_back(3);
    f.example = {{"options", {{"padding", 1}}}, {"input", input}};
    r.add(std::move(f));
  }

  for (int rank : {1, 2, 3}) {
    for (bool lazy : {false, true}) {
      std::string layer = (lazy ? "LazyConv" : "Conv") + str(rank) + "d";
      std::string name = "nn." + layer;
      Entry conv{name, EntryKind::Layer,
                 lazy ? "nn.conv (as Conv" + str(rank) +
                            "d; in_channels resolved from the first input at trace time)"
                      : "nn.conv"};
      OptionSpec padding = intTupleOption("padding", rank, 0).atLeast(0);
      padding.choices = {"valid", "same"};
      conv.options = {intOption("in_channels").atLeast(lazy ? 0 : 1),
                      intOption("out_channels").atLeast(1),
                      intTupleOption("kernel_size", rank).atLeast(1),
                      intTupleOption("stride", rank, 1).atLeast(1),
                      padding,
                      intTupleOption("dilation", rank, 1).atLeast(1),
                      intOption("groups", 1).atLeast(1),
                      boolOption("bias", true),
                      choiceOption("padding_mode", "zeros",
                                   {"zeros", "reflect", "replicate", "circular"})};
      conv.declare = [rank, lazy, layer](LayerDecl &decl) {
        if (lazy)
          checkLazyInChannels(decl.options(), layer);
        declareConv(decl, rank);
      };
      conv.build = [rank](BuildContext &c) { return buildConv(c, rank); };
      json input = {2, 4};
      for (int i = 0; i < rank; ++i)
        input.push_back(6 - i);
      conv.example = {{"options", {{"in_channels", 4},
                                   {"out_channels", 6},
                                   {"kernel_size", 3},
                                   {"padding", 1},
                                   {"groups", 2}}},
                      {"input", input}};
      r.add(std::move(conv));
    }
  }
}

} // namespace kiln::import
