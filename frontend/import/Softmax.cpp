// The softmax family (Softmax, LogSoftmax, Softmin, Softmax2d and their
// functional forms) and GLU: decompositions into primitive nn ops.
//
//   softmax(x)     = exp(x - m) / sum(exp(x - m)),  m = amax(x) along dim
//   log_softmax(x) = (x - m) - log(sum(exp(x - m)))
//   softmin(x)     = softmax(-x)
//   glu(x)         = a * sigmoid(b), a and b the halves of x along dim
//
// Subtracting the maximum keeps exp from overflowing. The results do not
// depend on the value subtracted, so the maximum is detached: its gradient
// (through nn.amax) would cancel in exact arithmetic, and computing it cost
// a comparison with the maximum, a count of ties and five elementwise ops
// per element that only added rounding. The backward is then torch's:
// dy - softmax(x) sum(dy) for log_softmax.
#include "frontend/import/Activation.h"

#include "ir/NNBuilders.h"
#include "ir/ShapeRules.h"

#include <algorithm>

using namespace mlir;

namespace kiln::import {

int64_t normalisedDim(BuildContext &c, int64_t dim) {
  int64_t rank = nn::shapeOf(c.operands()[0]).size();
  int64_t lo = -std::max<int64_t>(rank, 1), hi = std::max<int64_t>(rank, 1) - 1;
  if (dim < lo || dim > hi)
    c.fail("Dimension out of range (expected to be in range of [" +
           std::to_string(lo) + ", " + std::to_string(hi) + "], but got " +
           std::to_string(dim) + ") for an input of shape " +
           nn::shapeStr(nn::shapeOf(c.operands()[0])));
  return dim < 0 ? dim + rank : dim;
}

namespace {

enum class Kind { Softmax, LogSoftmax, Softmin };

/// x minus its maximum along `dims`, the maximum detached (see above).
Value shiftedByMax(BuildContext &c, Value x, DenseI64ArrayAttr dims) {
  Value max = c.create<nn::AmaxOp>(x, dims, c.builder().getUnitAttr());
  return Ew{c}.sub(x, c.create<nn::DetachOp>(max));
}

Value softmax(BuildContext &c, Value x, int64_t dim, Kind kind) {
  Ew m{c};
  OpBuilder &b = c.builder();
  if (kind == Kind::Softmin)
    x = m.neg(x);
  auto dims = b.getDenseI64ArrayAttr({dim});
  Value shifted = shiftedByMax(c, x, dims);
  Value e = m.exp(shifted);
  Value total = c.create<nn::SumOp>(e, dims, b.getUnitAttr());
  if (kind == Kind::LogSoftmax)
    return m.sub(shifted, m.log(total));
  return m.div(e, total);
}

/// torch's implicit dim of nn.Softmax(dim=None) (_get_softmax_dim, with a
/// deprecation warning in torch): 0 for 0-, 1- and 3-D inputs, else 1.
int64_t implicitDim(Value x) {
  size_t rank = nn::shapeOf(x).size();
  return rank == 0 || rank == 1 || rank == 3 ? 0 : 1;
}

void registerSoftmax(Registry &r, const char *layer, const char *function,
                     Kind kind) {
  const char *lowering =
      kind == Kind::Softmax      ? "nn.amax, nn.sub, nn.exp, nn.sum, nn.div (decomposed)"
      : kind == Kind::LogSoftmax ? "nn.amax, nn.sub, nn.exp, nn.sum, nn.log (decomposed)"
                                 : "nn.neg, nn.amax, nn.sub, nn.exp, nn.sum, nn.div (decomposed)";
  Entry e{layer, EntryKind::Layer, lowering};
  e.options = {intOption("dim").orNone()};
  e.build = [kind](BuildContext &c) {
    Value x = c.operands()[0];
    int64_t dim = c.options().isNone("dim") ? implicitDim(x)
                                            : c.options().getInt("dim");
    return softmax(c, x, normalisedDim(c, dim), kind);
  };
  e.example = {{"options", {{"dim", -1}}}, {"input", {2, 4}}};
  Entry f = e;
  r.add(std::move(e));
  // torch.softmax / torch.log_softmax need dim; F.softmin defaults to None.
  f.torchName = function;
  f.kind = EntryKind::Function;
  if (kind != Kind::Softmin)
    f.options = {intOption("dim")};
  r.add(std::move(f));
}

} // namespace

Value logSoftmax(BuildContext &c, Value x, int64_t dim) {
  return softmax(c, x, dim, Kind::LogSoftmax);
}

Value softmax(BuildContext &c, Value x, int64_t dim) {
  return softmax(c, x, dim, Kind::Softmax);
}

void registerSoftmaxFamily(Registry &r) {
  registerSoftmax(r, "nn.Softmax", "softmax", Kind::Softmax);
  registerSoftmax(r, "nn.LogSoftmax", "log_softmax", Kind::LogSoftmax);
  registerSoftmax(r, "nn.Softmin", "softmin", Kind::Softmin);

  // Softmax2d: softmax over the channels (dim -3) of a 3-D or 4-D input.
  Entry softmax2d{"nn.Softmax2d", EntryKind::Layer,
                  "nn.amax, nn.sub, nn.exp, nn.sum, nn.div (decomposed)"};
  softmax2d.build = [](BuildContext &c) {
    Value x = c.operands()[0];
    size_t rank = nn::shapeOf(x).size();
    if (rank != 3 && rank != 4)
      c.fail("Softmax2d: expected a 3-D (unbatched) or 4-D (batched) input, got " +
             nn::shapeStr(nn::shapeOf(x)));
    return softmax(c, x, rank - 3, Kind::Softmax);
  };
  softmax2d.example = {{"input", {2, 3, 4}}};
  r.add(std::move(softmax2d));

  // GLU(dim=-1): the first half of x along dim times the sigmoid of the
  // second (a slice each; their gradients come back through slice_backward).
  for (bool isLayer : {true, false}) {
    Entry glu{isLayer ? "nn.GLU" : "glu",
              isLayer ? EntryKind::Layer : EntryKind::Function,
              "nn.slice, nn.sigmoid, nn.mul (decomposed)"};
    glu.options = {intOption("dim", -1)};
    glu.build = [](BuildContext &c) {
      Value x = c.operands()[0];
      auto shape = nn::shapeOf(x);
      if (shape.empty())
        c.fail("glu does not support scalars because halving size must be even");
      int64_t dim = normalisedDim(c, c.options().getInt("dim"));
      if (shape[dim] % 2 != 0)
        c.fail("Halving dimension must be even, but dimension " + std::to_string(dim) +
               " is size " + std::to_string(shape[dim]) + " (input shape " +
               nn::shapeStr(shape) + ")");
      shape_rules::Shape s(shape.begin(), shape.end());
      int64_t half = shape[dim] / 2;
      OpBuilder &b = c.builder();
      auto slice = [&](int64_t start) {
        shape_rules::SliceBounds bounds = shape_rules::narrow(s, dim, start, half);
        return c.create<nn::SliceOp>(x, b.getDenseI64ArrayAttr(bounds.start),
                                     b.getDenseI64ArrayAttr(bounds.end),
                                     b.getDenseI64ArrayAttr(bounds.step));
      };
      Ew m{c};
      return m.mul(slice(0), c.create<nn::SigmoidOp>(slice(half)));
    };
    glu.example = {{"input", {2, 4}}};
    r.add(std::move(glu));
  }
}

} // namespace kiln::import
