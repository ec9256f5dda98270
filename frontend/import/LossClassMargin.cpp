// Margin losses over int64 class indices: MultiMarginLoss (one class per
// row) and MultiLabelMarginLoss (classes per row, ended by -1). Each is
// torch 1.13's CPU kernel written with primitive nn ops: the target enters
// the graph only through nn.nll_loss of constants (which turns class
// indices into float class numbers and validity flags), everything after
// is compare / where / sum over the input, so autodiff and the lowering
// come free. nll_loss declares the target's index bounds
// (IndexOperandOpInterface), so the runtime refuses a class outside
// [0, C) before any kernel runs, as torch raises.
#include "frontend/import/Activation.h"
#include "frontend/import/Loss.h"

#include "ir/NNBuilders.h"

using namespace mlir;

namespace kiln::import {
namespace {

using nn::ComparePredicate;

/// A float32 constant of `shape` whose element at index i is value(i's
/// coordinate along `dim`, i's coordinate along `dim2`).
Value coordinateConstant(BuildContext &c, ArrayRef<int64_t> shape, int64_t dim, int64_t dim2,
                         const std::function<float(int64_t, int64_t)> &value) {
  int64_t numel = 1;
  for (int64_t d : shape)
    numel *= d;
  auto strideOf = [&](int64_t d) {
    int64_t s = 1;
    for (int64_t k = d + 1; k < static_cast<int64_t>(shape.size()); ++k)
      s *= shape[k];
    return s;
  };
  int64_t s1 = strideOf(dim), s2 = strideOf(dim2);
  std::vector<float> values(numel);
  for (int64_t i = 0; i < numel; ++i)
    values[i] = value((i / s1) % shape[dim], (i / s2) % shape[dim2]);
  auto type = RankedTensorType::get(shape, c.builder().getF32Type());
  return c.builder().create<arith::ConstantOp>(
      c.loc(), DenseElementsAttr::get(type, ArrayRef<float>(values)));
}

Value nll(BuildContext &c, Value input, Value target, int64_t ignoreIndex) {
  auto none = nn::ReductionAttr::get(c.builder().getContext(), nn::Reduction::none);
  return c.create<nn::NllLossOp>(input, target, Value(), none,
                                 c.builder().getI64IntegerAttr(ignoreIndex));
}

Value sumOver(BuildContext &c, Value v, ArrayRef<int64_t> dims, bool keepdim) {
  return c.create<nn::SumOp>(v, c.builder().getDenseI64ArrayAttr(dims),
                             keepdim ? c.builder().getUnitAttr() : UnitAttr());
}

Value reshaped(BuildContext &c, Value v, ArrayRef<int64_t> shape) {
  return nn::reshapeTo(c.builder(), c.loc(), v,
                       nn::f32Tensor(c.builder().getContext(), shape));
}

/// Checks an input [N, C] or [C] and an int64 target of `expected` shape.
void checkInputs(BuildContext &c, const std::string &loss, Value x, Value t,
                 ArrayRef<int64_t> expected, const std::string &targetWhat) {
  auto xs = typeOf(x).getShape();
  if (xs.empty() || xs.size() > 2)
    c.fail(loss + " needs an input [N, C] or [C], got " + nn::shapeStr(xs));
  auto tt = typeOf(t);
  if (!tt.getElementType().isInteger(64) || tt.getShape() != expected)
    failTarget(c, LossSite::Training,
               loss + " needs " + targetWhat + " of shape " + nn::shapeStr(expected) +
                   " for the input " + nn::shapeStr(xs) + ", got " +
                   (tt.getElementType().isF32() ? "float32 " : "int64 ") +
                   nn::shapeStr(tt.getShape()));
}

/// torch 1.13's multi_margin_loss: per row, the sum over the classes
/// d != y of w[y] max(0, margin - x[y] + x[d])^p, divided by C (z > 0
/// strictly: no gradient at z == 0, as the kernel's backward).
Value multiMargin(BuildContext &c) {
  Value x = c.operands()[0], t = c.operands()[1];
  auto xs = typeOf(x).getShape();
  bool batched = xs.size() == 2;
  checkInputs(c, "MultiMarginLoss", x, t,
              batched ? ArrayRef<int64_t>(xs).take_front(1) : ArrayRef<int64_t>(),
              "int64 class indices");
  const Options &o = c.options();
  int64_t p = o.getInt("p");
  if (p != 1 && p != 2)
    c.failAt(o.pathOf("p"), "only p == 1 and p == 2 supported");
  int64_t classes = xs.back(), rows = batched ? xs[0] : 1;
  Ew m{c};
  // y as a float class number: nll_loss of -(class number) at the target.
  // Two uses with different ignore_index values: the runtime checks the
  // target against the intersection of every use's bounds, so neither
  // ignore value is accepted (torch's multi_margin_loss has none) and
  // (a + a) / 2 is exactly a.
  Value negClass = coordinateConstant(c, xs, xs.size() - 1, xs.size() - 1,
                                      [](int64_t k, int64_t) { return -float(k); });
  Value y = m.mul(m.add(nll(c, negClass, t, -100), nll(c, negClass, t, -101)), m.k(0.5));
  Value classRow = coordinateConstant(c, {1, classes}, 1, 1,
                                      [](int64_t k, int64_t) { return float(k); });
  Value isTarget = m.cmp(ComparePredicate::eq, reshaped(c, y, {rows, 1}), classRow);
  Value x2 = reshaped(c, x, {rows, classes});
  Value xTarget = sumOver(c, m.where(isTarget, x2, m.k(0)), {1}, true);
  Value z = m.add(m.sub(m.k(o.getFloat("margin")), xTarget), x2);
  Value h = m.where(m.cmp(ComparePredicate::gt, z, m.k(0)), p == 1 ? z : m.mul(z, z), m.k(0));
  h = m.where(isTarget, m.k(0), h);
  if (!o.isNone("weight")) {
    std::vector<double> w = o.getFloats("weight");
    if (static_cast<int64_t>(w.size()) != classes)
      c.failAt(o.pathOf("weight"), "weight has " + std::to_string(w.size()) +
                                       " values; MultiMarginLoss needs one per class (" +
                                       std::to_string(classes) + ")");
    Value weights = coordinateConstant(c, {1, classes}, 1, 1,
                                       [&](int64_t k, int64_t) { return float(w[k]); });
    h = m.mul(h, sumOver(c, m.where(isTarget, weights, m.k(0)), {1}, true));
  }
  Value perRow = m.div(sumOver(c, h, {1}, false), m.k(double(classes)));
  return reduceLoss(c, batched ? perRow : reshaped(c, perRow, {}));
}

/// torch 1.13's multilabel_margin_loss: per row, the targets are the
/// classes before the first -1; the sum over those targets j and the
/// non-target classes d of max(0, 1 - x[y_j] + x[d]), divided by C.
Value multiLabelMargin(BuildContext &c) {
  Value x = c.operands()[0], t = c.operands()[1];
  auto xs = typeOf(x).getShape();
  checkInputs(c, "MultiLabelMarginLoss", x, t, xs,
              "int64 class indices (padded with -1)");
  bool batched = xs.size() == 2;
  int64_t classes = xs.back(), rows = batched ? xs[0] : 1;
  Ew m{c};
  // Per (row, slot j): the class number and whether the slot holds one
  // (1) or -1 (0), from nll_loss over [N, C(class), C(slot)] constants
  // (unbatched: [C(slot), C(class)], the slot as nll's batch). Every use
  // ignores -1: the runtime accepts [0, C) and -1. (torch stops at any
  // negative value and never reads past it; Kiln refuses other negative
  // values and out-of-range ones after the -1.)
  SmallVector<int64_t> nllShape = batched ? SmallVector<int64_t>{rows, classes, classes}
                                          : SmallVector<int64_t>{classes, classes};
  Value negClass = coordinateConstant(c, nllShape, 1, 1,
                                      [](int64_t k, int64_t) { return -float(k); });
  Value negOnes = coordinateConstant(c, nllShape, 1, 1, [](int64_t, int64_t) { return -1.0f; });
  Value y = reshaped(c, nll(c, negClass, t, -1), {rows, classes});
  Value present = reshaped(c, nll(c, negOnes, t, -1), {rows, classes});
  // A slot counts when no -1 comes at or before it: the number of -1 in
  // slots k <= j, as a sum against an upper-triangular [k, j] of ones.
  Value upper = coordinateConstant(c, {classes, classes}, 0, 1,
                                   [](int64_t k, int64_t j) { return k <= j ? 1.0f : 0.0f; });
  Value endsBefore = sumOver(
      c, m.mul(reshaped(c, m.sub(m.k(1), present), {rows, classes, 1}), upper), {1}, false);
  Value slotCounts = m.cmp(ComparePredicate::eq, reshaped(c, endsBefore, {rows, classes, 1}),
                           m.k(0)); // [N, C(slot), 1]
  Value classD = coordinateConstant(c, {1, 1, classes}, 2, 2,
                                    [](int64_t k, int64_t) { return float(k); });
  Value slotIsD = m.cmp(ComparePredicate::eq, reshaped(c, y, {rows, classes, 1}),
                        classD); // [N, C(slot), C(d)]
  Value hits = m.where(slotCounts, m.where(slotIsD, m.k(1), m.k(0)), m.k(0));
  Value isTarget = m.cmp(ComparePredicate::gt, sumOver(c, hits, {1}, true), m.k(0));
  Value x3 = reshaped(c, x, {rows, 1, classes});
  Value xTarget = sumOver(c, m.where(slotIsD, x3, m.k(0)), {2}, true); // [N, C(slot), 1]
  Value z = m.add(m.sub(m.k(1), xTarget), x3);
  Value h = m.where(m.cmp(ComparePredicate::gt, z, m.k(0)), z, m.k(0));
  h = m.where(slotCounts, m.where(isTarget, m.k(0), h), m.k(0));
  Value perRow = m.div(sumOver(c, h, {1, 2}, false), m.k(double(classes)));
  return reduceLoss(c, batched ? perRow : reshaped(c, perRow, {}));
}

} // namespace

void registerClassMarginLosses(Registry &r) {
  Entry multi{"nn.MultiMarginLoss", EntryKind::Loss,
              "nn.nll_loss, nn.compare, nn.where, nn.sum (decomposed)"};
  multi.options = {reductionOption(), intOption("p", 1), floatOption("margin", 1.0),
                   floatListOption("weight").orNone()};
  multi.numInputs = 2;
  multi.build = multiMargin;
  multi.example = {{"input", {4, 3}}, {"target", {{"shape", {4}}, {"dtype", "int64"}}}};
  r.add(std::move(multi));

  Entry label{"nn.MultiLabelMarginLoss", EntryKind::Loss,
              "nn.nll_loss, nn.compare, nn.where, nn.sum (decomposed)"};
  label.options = {reductionOption()};
  label.numInputs = 2;
  label.build = multiLabelMargin;
  label.example = {{"input", {4, 3}}, {"target", {{"shape", {4, 3}}, {"dtype", "int64"}}}};
  r.add(std::move(label));
}

} // namespace kiln::import
