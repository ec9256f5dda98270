// Losses with one float input and a float target of the same shape, each a
// composite of primitive nn ops (compare, where, abs, exp, log1p, sum, ...)
// so that autodiff and the lowering come free; BCELoss alone has an op of
// its own (nn.binary_cross_entropy) for its clamped gradient at 0 and 1.
//
// Each follows torch 1.13's kernel formula; where the kernel's backward
// singles out a point (|x - y| = delta), the branch is chosen by the same
// comparison. Branches that are not taken but could produce NaN or infinity
// (x log x of the target at 0) only ever hold target data, which is never
// differentiated, so no 0 * inf reaches a gradient.
#include "frontend/import/Activation.h"
#include "frontend/import/Loss.h"

#include "ir/NNBuilders.h"

#include <cmath>

using namespace mlir;

namespace kiln::import {
namespace {

using nn::ComparePredicate;
using O = const Options &;

std::string shapeText(ArrayRef<int64_t> s) { return nn::shapeStr(s); }

/// The per-element loss of (input, target); `c` for options and errors.
using PerElement = std::function<Value(BuildContext &c, Ew &m, Value x, Value y)>;

struct PointwiseLoss {
  const char *torchName;    // "nn.L1Loss"
  const char *function;     // "l1_loss" (torch.nn.functional)
  const char *lowering;     // for docs/coverage.md
  std::vector<OptionSpec> options; // besides reduction
  PerElement perElement;
  /// Replaces reduceLoss (KLDivLoss's batchmean, MultiLabelSoftMarginLoss's
  /// mean over classes first).
  std::function<Value(BuildContext &c, Ew &m, Value perElement)> reduce = nullptr;
  std::vector<std::string> reductions = {"mean", "sum", "none"};
};

/// A 1-D option tensor (weight, pos_weight) that torch broadcasts against
/// the input: one value, or one per element of the last dimension.
Value optionVector(BuildContext &c, const std::string &name, Value input) {
  std::vector<double> values = c.options().getFloats(name);
  auto shape = nn::shapeOf(input);
  int64_t last = shape.empty() ? 1 : shape.back();
  if (values.size() != 1 && static_cast<int64_t>(values.size()) != last)
    c.failAt(c.options().pathOf(name),
             name + " has " + std::to_string(values.size()) +
                 " values; it must broadcast against the input " +
                 shapeText(shape) + " (1 or " + std::to_string(last) + " values)");
  std::vector<float> f(values.begin(), values.end());
  auto type = RankedTensorType::get({static_cast<int64_t>(f.size())},
                                    c.builder().getF32Type());
  return c.builder().create<arith::ConstantOp>(
      c.loc(), DenseElementsAttr::get(type, ArrayRef<float>(f)));
}

Value weighted(BuildContext &c, Ew &m, Value loss, const char *option = "weight") {
  if (c.options().isNone(option))
    return loss;
  return m.mul(loss, optionVector(c, option, loss));
}

// log sigmoid(x) = min(x, 0) - log1p(exp(-|x|)), torch's CPU kernel.
Value logSigmoid(Ew &m, Value x) {
  return m.sub(m.minimum(x, m.k(0)), m.log1p(m.exp(m.neg(m.abs(x)))));
}

std::vector<PointwiseLoss> pointwiseLosses() {
  return {
      {"nn.L1Loss", "l1_loss", "nn.abs, nn.sub (decomposed)", {},
       // |x - y|
       [](BuildContext &, Ew &m, Value x, Value y) { return m.abs(m.sub(x, y)); }},
      {"nn.HuberLoss", "huber_loss", "nn.compare, nn.where, nn.abs (decomposed)",
       {floatOption("delta", 1.0)},
       // z = |x - y|: z < delta ? 0.5 z^2 : delta (z - 0.5 delta)
       [](BuildContext &c, Ew &m, Value x, Value y) {
         double delta = c.options().getFloat("delta");
         if (!(delta > 0))
           c.failAt(c.options().pathOf("delta"),
                    "huber_loss does not support non-positive values for delta");
         Value d = m.sub(x, y), z = m.abs(d);
         return m.where(m.cmp(ComparePredicate::lt, z, m.k(delta)),
                        m.mul(m.mul(m.k(0.5), d), d),
                        m.mul(m.k(delta), m.sub(z, m.k(0.5 * delta))));
       }},
      {"nn.SmoothL1Loss", "smooth_l1_loss", "nn.compare, nn.where, nn.abs (decomposed)",
       {floatOption("beta", 1.0)},
       // z = |x - y|: z < beta ? 0.5 z^2 / beta : z - 0.5 beta; beta = 0 is
       // the L1 loss (aten's special case).
       [](BuildContext &c, Ew &m, Value x, Value y) {
         double beta = c.options().getFloat("beta");
         if (!(beta >= 0))
           c.failAt(c.options().pathOf("beta"),
                    "smooth_l1_loss does not support negative values for beta");
         Value d = m.sub(x, y), z = m.abs(d);
         if (beta == 0)
           return z;
         return m.where(m.cmp(ComparePredicate::lt, z, m.k(beta)),
                        m.div(m.mul(m.mul(m.k(0.5), d), d), m.k(beta)),
                        m.sub(z, m.k(0.5 * beta)));
       }},
      {"nn.SoftMarginLoss", "soft_margin_loss", "nn.exp, nn.log1p (decomposed)", {},
       // log(1 + exp(-y x))
       [](BuildContext &, Ew &m, Value x, Value y) {
         return m.log1p(m.exp(m.neg(m.mul(x, y))));
       }},
      {"nn.HingeEmbeddingLoss", "hinge_embedding_loss",
       "nn.compare, nn.where (decomposed)", {floatOption("margin", 1.0)},
       // aten: where(y != 1, max(margin - x, 0), 0) + where(y != -1, x, 0);
       // clamp_min passes the gradient at margin - x == 0.
       [](BuildContext &c, Ew &m, Value x, Value y) {
         Value gap = m.sub(m.k(c.options().getFloat("margin")), x);
         Value hinge = m.where(m.cmp(ComparePredicate::ge, gap, m.k(0)), gap, m.k(0));
         return m.add(m.where(m.cmp(ComparePredicate::ne, y, m.k(1)), hinge, m.k(0)),
                      m.where(m.cmp(ComparePredicate::ne, y, m.k(-1)), x, m.k(0)));
       }},
      {"nn.BCELoss", "binary_cross_entropy", "nn.binary_cross_entropy, nn.mul",
       {floatListOption("weight").orNone()},
       [](BuildContext &c, Ew &m, Value x, Value y) {
         // torch: "all elements of input should be between 0 and 1" (NaN
         // fails too); the clamped formula would give a finite loss.
         using nn::ComparePredicate;
         Value inside = m.where(m.cmp(ComparePredicate::le, x, m.k(1)), m.k(0), m.k(1));
         c.checkValues("BCELoss.input", x,
                       m.where(m.cmp(ComparePredicate::ge, x, m.k(0)), inside, m.k(1)));
         return weighted(c, m, c.create<nn::BinaryCrossEntropyOp>(x, y));
       }},
      {"nn.BCEWithLogitsLoss", "binary_cross_entropy_with_logits",
       "nn.maximum, nn.exp, nn.log (decomposed)",
       {floatListOption("weight").orNone(), floatListOption("pos_weight").orNone()},
       // aten: m = max(-x, 0), s = log(exp(-m) + exp(-x - m)) + m (the
       // softplus of -x without overflow); (1 - y) x + lw s with
       // lw = (pos_weight - 1) y + 1, or 1 without pos_weight.
       [](BuildContext &c, Ew &m, Value x, Value y) {
         Value mx = c.create<nn::MaximumOp>(m.neg(x), m.k(0));
         Value s = m.add(m.log(m.add(m.exp(m.neg(mx)), m.exp(m.sub(m.neg(x), mx)))), mx);
         if (!c.options().isNone("pos_weight")) {
           Value pw = optionVector(c, "pos_weight", x);
           s = m.mul(m.add(m.mul(m.sub(pw, m.k(1)), y), m.k(1)), s);
         }
         return weighted(c, m, m.add(m.mul(m.sub(m.k(1), y), x), s));
       }},
      {"nn.PoissonNLLLoss", "poisson_nll_loss", "nn.exp, nn.log, nn.where (decomposed)",
       {boolOption("log_input", true), boolOption("full", false), floatOption("eps", 1e-8)},
       // exp(x) - y x (log_input) or x - y log(x + eps); full adds Stirling's
       // y log y - y + 0.5 log(2 pi y) where y > 1.
       [](BuildContext &c, Ew &m, Value x, Value y) {
         O o = c.options();
         Value loss = o.getBool("log_input")
                          ? m.sub(m.exp(x), m.mul(y, x))
                          : m.sub(x, m.mul(y, m.log(m.add(x, m.k(o.getFloat("eps"))))));
         if (o.getBool("full")) {
           Value stirling = m.add(m.sub(m.mul(y, m.log(y)), y),
                                  m.mul(m.k(0.5), m.log(m.mul(m.k(2 * M_PI), y))));
           loss = m.add(loss, m.where(m.cmp(ComparePredicate::gt, y, m.k(1)),
                                      stirling, m.k(0)));
         }
         return loss;
       }},
      {"nn.KLDivLoss", "kl_div", "nn.log, nn.exp, nn.where (decomposed)",
       {boolOption("log_target", false)},
       // exp(y) (y - x) (log_target) or xlogy(y, y) - y x, aten's kl_div
       [](BuildContext &c, Ew &m, Value x, Value y) {
         if (c.options().getBool("log_target"))
           return m.mul(m.exp(y), m.sub(y, x));
         Value xlogy = m.where(m.cmp(ComparePredicate::eq, y, m.k(0)), m.k(0),
                               m.mul(y, m.log(y)));
         return m.sub(xlogy, m.mul(y, x));
       },
       // batchmean: the sum over the batch size (input.size(0))
       [](BuildContext &c, Ew &m, Value l) -> Value {
         if (c.options().getString("reduction") != "batchmean")
           return reduceLoss(c, l);
         auto shape = nn::shapeOf(l);
         Value sum = c.create<nn::SumOp>(l, c.builder().getDenseI64ArrayAttr({}),
                                         UnitAttr());
         return shape.empty() ? sum : m.div(sum, m.k(static_cast<double>(shape[0])));
       },
       {"mean", "batchmean", "sum", "none"}},
      {"nn.MultiLabelSoftMarginLoss", "multilabel_soft_margin_loss",
       "nn.minimum, nn.exp, nn.log1p, nn.sum (decomposed)",
       {floatListOption("weight").orNone()},
       // -(y logsigmoid(x) + (1 - y) logsigmoid(-x)), weighted
       [](BuildContext &c, Ew &m, Value x, Value y) {
         Value l = m.neg(m.add(m.mul(y, logSigmoid(m, x)),
                               m.mul(m.sub(m.k(1), y), logSigmoid(m, m.neg(x)))));
         return weighted(c, m, l);
       },
       // averaged over the classes (last dimension) first, one loss per row
       [](BuildContext &c, Ew &m, Value l) -> Value {
         auto shape = nn::shapeOf(l);
         int64_t classes = shape.empty() ? 1 : shape.back();
         if (!shape.empty())
           l = m.div(c.create<nn::SumOp>(
                         l, c.builder().getDenseI64ArrayAttr(
                                {static_cast<int64_t>(shape.size()) - 1}),
                         UnitAttr()),
                     m.k(static_cast<double>(classes)));
         return reduceLoss(c, l);
       }},
  };
}

/// The loss of an entry built at `site`: checks the target, then the
/// per-element loss and its reduction.
Value buildPointwise(BuildContext &c, const PointwiseLoss &p, LossSite site,
                     const std::string &name) {
  Value x = c.operands()[0], y = c.operands()[1];
  auto xt = cast<RankedTensorType>(x.getType());
  auto yt = cast<RankedTensorType>(y.getType());
  if (!yt.getElementType().isF32() || yt.getShape() != xt.getShape())
    failTarget(c, site,
               name + " needs a float32 target of the input's shape " +
                   shapeText(xt.getShape()) + ", got " +
                   (yt.getElementType().isF32() ? "float32 " : "int64 ") +
                   shapeText(yt.getShape()));
  Ew m{c};
  Value l = p.perElement(c, m, x, y);
  return p.reduce ? p.reduce(c, m, l) : reduceLoss(c, l);
}

} // namespace

void registerPointwiseLosses(Registry &r) {
  for (const PointwiseLoss &p : pointwiseLosses()) {
    std::vector<OptionSpec> options = p.options;
    options.insert(options.begin(),
                   choiceOption("reduction", "mean", p.reductions));
    std::string name = std::string(p.torchName).substr(3);
    json example = {{"input", {4, 3}},
                    {"target", {{"shape", {4, 3}}, {"dtype", "float32"}}}};

    Entry loss{p.torchName, EntryKind::Loss, p.lowering};
    loss.options = options;
    loss.numInputs = 2;
    loss.build = [p, name](BuildContext &c) {
      return buildPointwise(c, p, LossSite::Training, name);
    };
    loss.example = example;
    r.add(std::move(loss));

    Entry fn{p.function, EntryKind::Function, p.lowering};
    fn.options = options;
    fn.numInputs = 2;
    fn.build = [p](BuildContext &c) {
      return buildPointwise(c, p, LossSite::Graph, p.function);
    };
    fn.example = {{"input", {4, 3}}};
    r.add(std::move(fn));
  }
}

} // namespace kiln::import
