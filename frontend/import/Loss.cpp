// The `loss` family of the inventory. A loss entry builds from the model's
// first output and the training target (BuildContext::operands()); its
// functional form from two graph values (Loss.h).
#include "frontend/import/Loss.h"

#include "frontend/import/Activation.h"
#include "ir/NNBuilders.h"

#include "ir/NNDialect.h"

using namespace mlir;

namespace kiln::import {

static std::string shapeStr(ArrayRef<int64_t> s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i)
    out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

static nn::ReductionAttr reductionAttr(BuildContext &c) {
  return nn::ReductionAttr::get(
      c.builder().getContext(),
      *nn::symbolizeReduction(c.options().getString("reduction")));
}

OptionSpec reductionOption() {
  return choiceOption("reduction", "mean", {"mean", "sum", "none"});
}

void failTarget(BuildContext &c, LossSite site, const std::string &message) {
  if (site == LossSite::Training)
    c.failAt("training.target", message);
  c.fail(message);
}

Value reduceLoss(BuildContext &c, Value perElement) {
  std::string reduction = c.options().getString("reduction");
  if (reduction == "none")
    return perElement;
  DenseI64ArrayAttr all = c.builder().getDenseI64ArrayAttr({});
  if (reduction == "sum")
    return c.create<nn::SumOp>(perElement, all, UnitAttr());
  return c.create<nn::MeanOp>(perElement, all, UnitAttr());
}

/// The class dimension of a classification loss's input: 1, or 0 for an
/// unbatched [C] input (torch's convention).
static int64_t classDim(Value input) { return typeOf(input).getRank() == 1 ? 0 : 1; }

/// The `weight` option as a [C, 1, ...] constant that broadcasts against
/// the input at its class dimension, or null; torch wants one per class.
static Value classWeight(BuildContext &c, Value input) {
  if (c.options().isNone("weight"))
    return Value();
  int64_t cd = classDim(input), rank = typeOf(input).getRank();
  int64_t classes = typeOf(input).getDimSize(cd);
  std::vector<double> w = c.options().getFloats("weight");
  if (static_cast<int64_t>(w.size()) != classes)
    c.failAt(c.options().pathOf("weight"),
             "weight tensor should be defined either for all " +
                 std::to_string(classes) + " classes or no classes but got " +
                 std::to_string(w.size()) + " values");
  SmallVector<int64_t> shape{classes};
  for (int64_t d = cd + 1; d < rank; ++d)
    shape.push_back(1);
  std::vector<float> f(w.begin(), w.end());
  auto type = RankedTensorType::get(shape, c.builder().getF32Type());
  return c.builder().create<arith::ConstantOp>(
      c.loc(), DenseElementsAttr::get(type, ArrayRef<float>(f)));
}

/// The weight as the [C] operand of nn.nll_loss.
static Value flatWeight(BuildContext &c, Value weight) {
  if (!weight)
    return weight;
  auto t = typeOf(weight);
  return nn::reshapeTo(c.builder(), c.loc(), weight,
                       RankedTensorType::get({t.getDimSize(0)}, t.getElementType()));
}

/// Checks int64 class indices of the input's shape without the class
/// dimension.
static void checkClassTarget(BuildContext &c, LossSite site, const char *loss,
                             Value input, Value target) {
  auto x = typeOf(input).getShape();
  if (x.empty())
    c.fail(std::string(loss) + " needs an input with a class dimension, got a scalar");
  SmallVector<int64_t> expected(x.begin(), x.end());
  expected.erase(expected.begin() + classDim(input));
  auto t = typeOf(target);
  if (!t.getElementType().isInteger(64) || t.getShape() != ArrayRef<int64_t>(expected))
    failTarget(c, site, std::string(loss) + " needs int64 class indices of shape " +
                            shapeStr(expected) + " for the input " + shapeStr(x) +
                            (std::string(loss) == "CrossEntropyLoss"
                                 ? " (or float32 class probabilities of the input's shape)"
                                 : "") +
                            ", got " +
                            (t.getElementType().isF32() ? "float32 " : "int64 ") +
                            shapeStr(t.getShape()));
}

static nn::ReductionAttr reductionAttrOf(BuildContext &c, const std::string &r) {
  return nn::ReductionAttr::get(c.builder().getContext(), *nn::symbolizeReduction(r));
}


static Value sumClasses(BuildContext &c, Value v) {
  return c.create<nn::SumOp>(v, c.builder().getDenseI64ArrayAttr({classDim(v)}),
                             UnitAttr());
}

static Value sumAll(BuildContext &c, Value v) {
  return c.create<nn::SumOp>(v, c.builder().getDenseI64ArrayAttr({}), UnitAttr());
}

/// torch 1.13's cross_entropy: log_softmax, then nll_loss (class indices)
/// or -sum(log p * target * w) (class probabilities), with label smoothing
/// as aten adds it. [N, C] logits with indices and no weight keep the fused
/// nn.cross_entropy_loss.
static Value crossEntropy(BuildContext &c, LossSite site) {
  Value x = c.operands()[0], t = c.operands()[1];
  const Options &o = c.options();
  OpBuilder &b = c.builder();
  std::string reduction = o.getString("reduction");
  double eps = o.getFloat("label_smoothing");
  int64_t ignore = o.getInt("ignore_index");
  auto xt = typeOf(x);
  if (xt.getRank() == 0)
    c.fail("CrossEntropyLoss needs an input with a class dimension, got a scalar");
  bool probabilities = typeOf(t).getElementType().isF32();
  if (probabilities && typeOf(t).getShape() != xt.getShape())
    checkClassTarget(c, site, "CrossEntropyLoss", x, t); // fails with the message
  if (!probabilities)
    checkClassTarget(c, site, "CrossEntropyLoss", x, t);
  if (probabilities && ignore != -100)
    c.failAt(o.pathOf("ignore_index"),
             "ignore_index is not supported for floating point target");
  Value weight = classWeight(c, x);
  if (!probabilities && !weight && xt.getRank() == 2)
    return c.create<nn::CrossEntropyLossOp>(x, t, reductionAttrOf(c, reduction),
                                            b.getF64FloatAttr(eps),
                                            b.getI64IntegerAttr(ignore));
  Ew m{c};
  int64_t classes = xt.getDimSize(classDim(x));
  Value lsm = logSoftmax(c, x, classDim(x));
  Value weighted = weight ? m.mul(lsm, weight) : lsm;
  if (probabilities) {
    // -(lsm * target * w) summed over the classes; mean divides the total
    // by the number of rows (numel / C).
    Value target = eps > 0 ? m.add(m.mul(t, m.k(1 - eps)), m.k(eps / classes)) : t;
    Value prod = m.mul(weighted, target);
    if (reduction == "none")
      return m.neg(sumClasses(c, prod));
    Value total = m.neg(sumAll(c, prod));
    if (reduction == "sum")
      return total;
    return m.div(total, m.k(static_cast<double>(xt.getNumElements() / classes)));
  }
  Value flat = flatWeight(c, weight);
  Value nll = c.create<nn::NllLossOp>(lsm, t, flat, reductionAttrOf(c, reduction),
                                      b.getI64IntegerAttr(ignore));
  if (eps == 0)
    return nll;
  // Smoothing: -sum_c(lsm w) per element, 0 where ignored; the mean divides
  // by the total weight (or count) of the elements not ignored. nll_loss of
  // -1 everywhere gives those weights (1 without a weight) per element.
  auto minusOnes = b.create<arith::ConstantOp>(
      c.loc(), DenseElementsAttr::get(RankedTensorType::get(xt.getShape(), b.getF32Type()),
                                      b.getF32FloatAttr(-1)));
  Value valid = c.create<nn::NllLossOp>(minusOnes, t, Value(),
                                        reductionAttrOf(c, "none"),
                                        b.getI64IntegerAttr(ignore));
  Value smooth = m.mul(m.neg(sumClasses(c, weighted)), valid);
  Value reduced = smooth;
  if (reduction != "none") {
    reduced = sumAll(c, smooth);
    if (reduction == "mean") {
      Value count = weight ? c.create<nn::NllLossOp>(minusOnes, t, flat,
                                                      reductionAttrOf(c, "none"),
                                                      b.getI64IntegerAttr(ignore))
                           : valid;
      reduced = m.div(reduced, sumAll(c, count));
    }
  }
  return m.add(m.mul(m.k(1 - eps), nll), m.mul(reduced, m.k(eps / classes)));
}

/// torch's nll_loss: -w[t] input[n, t, d...] over log-probabilities.
static Value nllLoss(BuildContext &c) {
  Value x = c.operands()[0], t = c.operands()[1];
  checkClassTarget(c, LossSite::Training, "NLLLoss", x, t);
  return c.create<nn::NllLossOp>(
      x, t, flatWeight(c, classWeight(c, x)),
      reductionAttrOf(c, c.options().getString("reduction")),
      c.builder().getI64IntegerAttr(c.options().getInt("ignore_index")));
}

static Value mse(BuildContext &c, LossSite site) {
  Value input = c.operands()[0], target = c.operands()[1];
  auto t = typeOf(target);
  if (!t.getElementType().isF32() || t.getShape() != typeOf(input).getShape())
    failTarget(c, site, "MSELoss needs a float32 target of the "
                        "input's shape " +
                            shapeStr(typeOf(input).getShape()) + ", got " +
                            shapeStr(t.getShape()));
  return c.create<nn::MseLossOp>(
      input, target, reductionAttr(c));
}

void registerLossFamily(Registry &r) {
  Entry ce{"nn.CrossEntropyLoss", EntryKind::Loss,
           "nn.cross_entropy_loss ([N, C], indices, no weight); else nn.amax, "
           "nn.exp, nn.log, nn.sum, nn.nll_loss (decomposed)"};
  ce.options = {reductionOption(), floatOption("label_smoothing", 0.0).inRange(0, 1),
                intOption("ignore_index", -100), floatListOption("weight").orNone()};
  ce.numInputs = 2;
  ce.build = [](BuildContext &c) { return crossEntropy(c, LossSite::Training); };
  ce.example = {{"input", {4, 3}}, {"target", {{"shape", {4}}, {"dtype", "int64"}}}};
  r.add(ce);

  // F.cross_entropy in the graph: class probabilities only (graph values
  // are float32).
  Entry ceFn{"cross_entropy", EntryKind::Function,
             "nn.amax, nn.exp, nn.log, nn.sum (decomposed)"};
  ceFn.options = ce.options;
  ceFn.numInputs = 2;
  ceFn.build = [](BuildContext &c) { return crossEntropy(c, LossSite::Graph); };
  ceFn.example = {{"input", {4, 3}}};
  r.add(std::move(ceFn));

  Entry nll{"nn.NLLLoss", EntryKind::Loss, "nn.nll_loss"};
  nll.options = {reductionOption(), intOption("ignore_index", -100),
                 floatListOption("weight").orNone()};
  nll.numInputs = 2;
  nll.build = nllLoss;
  nll.example = {{"input", {4, 3}}, {"target", {{"shape", {4}}, {"dtype", "int64"}}}};
  r.add(std::move(nll));

  Entry mseLoss{"nn.MSELoss", EntryKind::Loss, "nn.mse_loss"};
  mseLoss.options = {reductionOption()};
  mseLoss.numInputs = 2;
  mseLoss.build = [](BuildContext &c) { return mse(c, LossSite::Training); };
  mseLoss.example = {{"input", {4, 3}}, {"target", {{"shape", {4, 3}}, {"dtype", "float32"}}}};
  r.add(std::move(mseLoss));

  Entry mseFn{"mse_loss", EntryKind::Function, "nn.mse_loss"};
  mseFn.options = {reductionOption()};
  mseFn.numInputs = 2;
  mseFn.build = [](BuildContext &c) { return mse(c, LossSite::Graph); };
  mseFn.example = {{"input", {4, 3}}};
  r.add(std::move(mseFn));

  registerPointwiseLosses(r);
  registerMultiInputLosses(r);
  registerClassMarginLosses(r);
  registerCtcLoss(r);
}

} // namespace kiln::import
