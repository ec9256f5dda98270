// The `convolution` family of the inventory: nn.Conv1d, nn.Conv2d,
// nn.Conv3d, all lowered to nn.conv; padding modes other than zeros pad
// the input with nn.slice + nn.concat first, as torch pads with F.pad.
#include "frontend/import/Registry.h"

#include "ir/NNBuilders.h"

#include <algorithm>
#include <cmath>

using namespace mlir;

namespace kiln::import {
namespace {

std::string str(int64_t v) { return std::to_string(v); }

/// Reflection padding is built from one slice per padded row (nn.slice has
/// no negative step): bounded so that a model file cannot ask for millions
/// of ops.
constexpr int64_t kMaxReflectPadding = 64;

/// Cross-option rules torch's _ConvNd constructor enforces, at the option's
/// JSON path.
void checkConvOptions(const Options &o, int rank) {
  int64_t groups = o.getInt("groups");
  if (o.getInt("in_channels") % groups != 0)
    fail(o.pathOf("groups"), "in_channels " + str(o.getInt("in_channels")) +
                                 " must be divisible by groups " + str(groups));
  if (o.getInt("out_channels") % groups != 0)
    fail(o.pathOf("groups"), "out_channels " + str(o.getInt("out_channels")) +
                                 " must be divisible by groups " + str(groups));
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
  int64_t in = o.getInt("in_channels"), out = o.getInt("out_channels");
  std::vector<int64_t> shape{out, in / o.getInt("groups")};
  // In double: the sizes are bounded one by one, not yet their product
  // (addParameter checks the shape).
  double fanIn = static_cast<double>(shape[1]);
  for (int64_t k : o.getInts("kernel_size")) {
    shape.push_back(k);
    fanIn *= static_cast<double>(k);
  }
  double bound = 1.0 / std::sqrt(fanIn);
  decl.addParameter("weight", shape, Init::uniform(-bound, bound));
  if (o.getBool("bias"))
    decl.addParameter("bias", {out}, Init::uniform(-bound, bound));
}

/// Elements [start, end) of dimension `dim` of x.
Value sliceDim(BuildContext &c, Value x, int64_t dim, int64_t start, int64_t end) {
  OpBuilder &b = c.builder();
  auto shape = nn::shapeOf(x);
  SmallVector<int64_t> lo(shape.size(), 0), hi(shape), step(shape.size(), 1);
  lo[dim] = start;
  hi[dim] = end;
  return c.create<nn::SliceOp>(x, b.getDenseI64ArrayAttr(lo),
                               b.getDenseI64ArrayAttr(hi),
                               b.getDenseI64ArrayAttr(step));
}

/// x [N, C, *spatial] padded by (lo, hi) per spatial dimension as torch's
/// F.pad(mode=padding_mode) before a convolution with padding_mode other
/// than "zeros": nn.slice + nn.concat per dimension (the modes are
/// separable), so the gradient comes from their adjoints. Along one
/// dimension of size n:
///   reflect:   x[lo], ..., x[1] | x | x[n-2], ..., x[n-1-hi]   (lo, hi < n)
///   replicate: x[0] lo times    | x | x[n-1] hi times
///   circular:  x[n-lo:n]        | x | x[0:hi]                 (lo, hi <= n)
Value padWithMode(BuildContext &c, Value x, ArrayRef<int64_t> lo,
                  ArrayRef<int64_t> hi, const std::string &mode) {
  OpBuilder &b = c.builder();
  auto shape = nn::shapeOf(x);
  shape_rules::Inferred padded = shape_rules::padSpatial(
      shape_rules::Shape(shape.begin(), shape.end()),
      shape_rules::Shape(lo.begin(), lo.end()),
      shape_rules::Shape(hi.begin(), hi.end()), mode);
  if (!padded.ok())
    c.fail(padded.error);
  for (size_t i = 0; i < lo.size(); ++i) {
    int64_t dim = static_cast<int64_t>(i) + 2, n = nn::shapeOf(x)[dim];
    if (lo[i] == 0 && hi[i] == 0)
      continue;
    if (mode == "reflect" && std::max(lo[i], hi[i]) > kMaxReflectPadding)
      c.fail("padding_mode \"reflect\": padding (" + str(lo[i]) + ", " +
             str(hi[i]) + ") of spatial dimension " + str(i) +
             " is larger than Kiln supports (" + str(kMaxReflectPadding) + ")");
    // Side pieces: `count` rows ending at `edge` (replicate: one row
    // broadcast), one row per padded index (reflect) or one slice (circular).
    SmallVector<Value> pieces;
    auto side = [&](int64_t count, bool before) {
      if (count == 0)
        return;
      if (mode == "circular") {
        pieces.push_back(before ? sliceDim(c, x, dim, n - count, n)
                                : sliceDim(c, x, dim, 0, count));
      } else if (mode == "replicate") {
        int64_t edge = before ? 0 : n - 1;
        Value row = sliceDim(c, x, dim, edge, edge + 1);
        SmallVector<int64_t> shape(nn::shapeOf(row));
        shape[dim] = count;
        pieces.push_back(c.create<nn::BroadcastToOp>(
            nn::f32Tensor(b.getContext(), shape), row));
      } else {
        for (int64_t k = 1; k <= count; ++k) {
          int64_t at = before ? count + 1 - k : n - 1 - k;
          pieces.push_back(sliceDim(c, x, dim, at, at + 1));
        }
      }
    };
    side(lo[i], true);
    pieces.push_back(x);
    side(hi[i], false);
    x = c.create<nn::ConcatOp>(ValueRange(pieces), b.getI64IntegerAttr(dim));
  }
  return x;
}

/// nn.conv with the options' geometry; an unbatched input [C, *spatial]
/// (accepted by torch >= 1.11) is convolved as a batch of one.
Value buildConv(BuildContext &c, int rank) {
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
  std::vector<int64_t> kernel = o.getInts("kernel_size"),
                       dilation = o.getInts("dilation");
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
  std::string mode = o.getString("padding_mode");
  if (mode != "zeros") {
    ArrayRef<int64_t> all(padding);
    ArrayRef<int64_t> lo = all.take_front(r),
                      hi = all.size() == static_cast<size_t>(r) ? lo : all.drop_front(r);
    x = padWithMode(c, x, lo, hi, mode);
    padding.assign(r, 0);
  }
  Value y = c.create<nn::ConvOp>(
      x, c.parameter("weight"), c.parameter("bias"),
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

} // namespace

void registerConvFamily(Registry &r) {
  for (int rank : {1, 2, 3}) {
    std::string name = "nn.Conv" + str(rank) + "d";
    Entry conv{name, EntryKind::Layer, "nn.conv"};
    OptionSpec padding = intTupleOption("padding", rank, 0).atLeast(0);
    padding.choices = {"valid", "same"};
    conv.options = {intOption("in_channels").atLeast(1),
                    intOption("out_channels").atLeast(1),
                    intTupleOption("kernel_size", rank).atLeast(1),
                    intTupleOption("stride", rank, 1).atLeast(1),
                    padding,
                    intTupleOption("dilation", rank, 1).atLeast(1),
                    intOption("groups", 1).atLeast(1),
                    boolOption("bias", true),
                    choiceOption("padding_mode", "zeros",
                                 {"zeros", "reflect", "replicate", "circular"})};
    conv.declare = [rank](LayerDecl &decl) { declareConv(decl, rank); };
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

} // namespace kiln::import
