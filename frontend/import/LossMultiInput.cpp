// Losses of several float inputs (two or three model outputs, and a target
// or a variance): MarginRankingLoss, CosineEmbeddingLoss, GaussianNLLLoss,
// TripletMarginLoss, TripletMarginWithDistanceLoss, and their functional
// forms. Each is torch 1.13's formula written with primitive nn ops, so
// autodiff and the lowering come free. In the training section the inputs
// are named by training.loss.inputs (model outputs and the target), in
// torch's argument order.
#include "frontend/import/Activation.h"
#include "frontend/import/Distance.h"
#include "frontend/import/Loss.h"

#include "ir/NNBuilders.h"

#include <cmath>

using namespace mlir;

namespace kiln::import {
namespace {

using nn::ComparePredicate;

struct MultiInputLoss {
  const char *torchName; // "nn.MarginRankingLoss"
  const char *function;  // "margin_ranking_loss" (torch.nn.functional)
  const char *lowering;  // for docs/coverage.md
  std::vector<OptionSpec> options; // besides reduction
  /// The example's input shapes (registry test): model outputs, except the
  /// one at `exampleTarget` (the target; -1: none).
  std::vector<std::vector<int64_t>> example;
  int exampleTarget;
  std::vector<const char *> argNames; // torch's argument names, in order
  /// The per-sample loss of the call's operands (checked here).
  std::function<Value(BuildContext &c, Ew &m)> perSample;
};

/// Fails unless every operand has the rank of the first (torch's "same
/// dimension" checks of these losses).
void checkSameRank(BuildContext &c, const std::string &loss,
                   const std::vector<const char *> &names) {
  auto operands = c.operands();
  for (size_t i = 1; i < operands.size(); ++i)
    if (nn::shapeOf(operands[i]).size() != nn::shapeOf(operands[0]).size())
      c.fail(loss + ": all inputs must have the same number of dimensions, got " +
             names[0] + " " + nn::shapeStr(nn::shapeOf(operands[0])) + " and " +
             names[i] + " " + nn::shapeStr(nn::shapeOf(operands[i])));
}

/// clamp_min(z, 0), whose gradient passes where z >= 0 (torch's clamp_min
/// backward, also at z == 0).
Value clampMinZero(Ew &m, Value z) {
  return m.where(m.cmp(ComparePredicate::ge, z, m.k(0)), z, m.k(0));
}

/// The anchor/positive/negative triplet loss around `distance`:
/// clamp_min(margin + d(a, p) - d(a, n'), 0) with d(a, n') = min(d(a, n),
/// d(p, n)) when swapping (torch 1.13's triplet_margin_loss and
/// F.triplet_margin_with_distance_loss).
Value triplet(BuildContext &c, Ew &m, const std::string &loss,
              const std::function<Value(Value, Value)> &distance) {
  checkSameRank(c, loss, {"anchor", "positive", "negative"});
  Value a = c.operands()[0], p = c.operands()[1], n = c.operands()[2];
  Value pos = distance(a, p), neg = distance(a, n);
  if (c.options().getBool("swap"))
    neg = m.minimum(neg, distance(p, n));
  return clampMinZero(m, m.sub(m.add(m.k(c.options().getFloat("margin")), pos), neg));
}

std::vector<MultiInputLoss> multiInputLosses() {
  return {
      {"nn.MarginRankingLoss", "margin_ranking_loss",
       "nn.sub, nn.mul, nn.compare, nn.where (decomposed)",
       {floatOption("margin", 0.0)},
       {{4}, {4}, {4}}, 2, {"input1", "input2", "target"},
       // clamp_min(-y (x1 - x2) + margin, 0), the three broadcast together
       [](BuildContext &c, Ew &m) {
         checkSameRank(c, "MarginRankingLoss", {"input1", "input2", "target"});
         Value x1 = c.operands()[0], x2 = c.operands()[1], y = c.operands()[2];
         return clampMinZero(m, m.add(m.mul(m.neg(y), m.sub(x1, x2)),
                                      m.k(c.options().getFloat("margin"))));
       }},
      {"nn.CosineEmbeddingLoss", "cosine_embedding_loss",
       "nn.mul, nn.sum, nn.sqrt, nn.div, nn.compare, nn.where (decomposed)",
       {floatOption("margin", 0.0)},
       {{4, 3}, {4, 3}, {4}}, 2, {"input1", "input2", "target"},
       // aten: cos = sum(x1 x2) / sqrt((sum(x1^2) + 1e-12)(sum(x2^2) + 1e-12))
       // over the last dim; 1 - cos where y == 1, clamp_min(cos - margin, 0)
       // where y == -1, 0 elsewhere.
       [](BuildContext &c, Ew &m) {
         Value x1 = c.operands()[0], x2 = c.operands()[1], y = c.operands()[2];
         auto s1 = nn::shapeOf(x1), s2 = nn::shapeOf(x2), st = nn::shapeOf(y);
         if (st.size() > 1)
           c.fail("CosineEmbeddingLoss: 0D or 1D target tensor expected, got " +
                  nn::shapeStr(st));
         if (s1.size() != st.size() + 1 || s2.size() != st.size() + 1)
           c.fail(std::string("CosineEmbeddingLoss: a ") + (st.empty() ? "0D" : "1D") +
                  " target tensor expects " + (st.empty() ? "1D" : "2D") +
                  " input tensors, got " + nn::shapeStr(s1) + " and " + nn::shapeStr(s2));
         if (s1 != s2 || (!st.empty() && st[0] != s1[0]))
           c.fail("CosineEmbeddingLoss: inputs " + nn::shapeStr(s1) + ", " +
                  nn::shapeStr(s2) + " and target " + nn::shapeStr(st) +
                  " do not agree (inputs [N, D] or [D], target [N] or [])");
         OpBuilder &b = c.builder();
         auto last = b.getDenseI64ArrayAttr({-1});
         auto sum = [&](Value v) { return c.create<nn::SumOp>(v, last, UnitAttr()); };
         Value prod = sum(m.mul(x1, x2));
         Value mag1 = m.add(sum(m.mul(x1, x1)), m.k(1e-12));
         Value mag2 = m.add(sum(m.mul(x2, x2)), m.k(1e-12));
         Value cos = m.div(prod, c.create<nn::SqrtOp>(m.mul(mag1, mag2)));
         Value pos = m.sub(m.k(1), cos);
         Value neg = clampMinZero(m, m.sub(cos, m.k(c.options().getFloat("margin"))));
         return m.add(m.where(m.cmp(ComparePredicate::eq, y, m.k(1)), pos, m.k(0)),
                      m.where(m.cmp(ComparePredicate::eq, y, m.k(-1)), neg, m.k(0)));
       }},
      {"nn.GaussianNLLLoss", "gaussian_nll_loss",
       "nn.sub, nn.mul, nn.div, nn.log, nn.maximum, nn.detach (decomposed)",
       {boolOption("full", false), floatOption("eps", 1e-6)},
       {{4, 3}, {4, 3}, {4, 1}}, 1, {"input", "target", "var"},
       // torch 1.13's F.gaussian_nll_loss(input, target, var): var of the
       // input's shape, or of its shape without the last dim (unsqueezed),
       // or with a last dim of 1; clamped at eps without gradient (torch
       // clamps in place under no_grad); 0.5 (log var + (x - y)^2 / var),
       // plus 0.5 log(2 pi) when full.
       [](BuildContext &c, Ew &m) {
         Value x = c.operands()[0], y = c.operands()[1], var = c.operands()[2];
         auto sx = nn::shapeOf(x), sy = nn::shapeOf(y), sv = nn::shapeOf(var);
         if (sy != sx)
           c.fail("GaussianNLLLoss: the target must have the input's shape " +
                  nn::shapeStr(sx) + ", got " + nn::shapeStr(sy));
         if (sv != sx) {
           ArrayRef<int64_t> lead = sx.empty() ? sx : sx.drop_back();
           if (!sx.empty() && sv == lead) {
             SmallVector<int64_t> unsqueezed(sv.begin(), sv.end());
             unsqueezed.push_back(1);
             var = nn::reshapeTo(c.builder(), c.loc(), var,
                                 nn::f32Tensor(c.builder().getContext(), unsqueezed));
           } else if (sx.empty() || sv.empty() || sv.drop_back() != lead || sv.back() != 1) {
             c.fail("GaussianNLLLoss: var is of incorrect size " + nn::shapeStr(sv) +
                    " for the input " + nn::shapeStr(sx) +
                    " (the input's shape, or it without or with 1 as the last dim)");
           }
         }
         double eps = c.options().getFloat("eps");
         if (!(eps >= 0))
           c.failAt(c.options().pathOf("eps"), "eps must be non-negative");
         // torch: "var has negative entry/entries" (NaN passes, as torch's
         // torch.any(var < 0)).
         c.checkValues("GaussianNLLLoss.var", var,
                       m.where(m.cmp(ComparePredicate::lt, var, m.k(0)), m.k(1), m.k(0)));
         // max(var, eps)'s value with var's own gradient: c + (var - var).
         Value clamped = c.create<nn::DetachOp>(c.create<nn::MaximumOp>(var, m.k(eps)));
         Value v = m.add(clamped, m.sub(var, c.create<nn::DetachOp>(var)));
         Value d = m.sub(x, y);
         Value loss = m.mul(m.k(0.5), m.add(m.log(v), m.div(m.mul(d, d), v)));
         if (c.options().getBool("full"))
           loss = m.add(loss, m.k(0.5 * std::log(2 * M_PI)));
         return loss;
       }},
      {"nn.TripletMarginLoss", "triplet_margin_loss",
       "nn.sub, nn.abs, nn.pow, nn.sum, nn.minimum, nn.where (decomposed)",
       {floatOption("margin", 1.0), floatOption("p", 2.0), floatOption("eps", 1e-6),
        boolOption("swap", false)},
       {{4, 3}, {4, 3}, {4, 3}}, -1, {"anchor", "positive", "negative"},
       // d = pairwise_distance(., ., p, eps)
       [](BuildContext &c, Ew &m) {
         const Options &o = c.options();
         double p = o.getFloat("p"), eps = o.getFloat("eps");
         return triplet(c, m, "TripletMarginLoss", [&](Value u, Value v) {
           return pairwiseDistance(c, u, v, p, eps, false);
         });
       }},
      {"nn.TripletMarginWithDistanceLoss", "triplet_margin_with_distance_loss",
       "nn.sub, nn.mul, nn.sum, nn.sqrt, nn.minimum, nn.where (decomposed)",
       {choiceOption("distance_function", "pairwise_distance",
                     {"pairwise_distance", "cosine_distance"}),
        floatOption("margin", 1.0), boolOption("swap", false)},
       {{4, 3}, {4, 3}, {4, 3}}, -1, {"anchor", "positive", "negative"},
       // torch's distance_function as a built-in distance: pairwise_distance
       // (torch's default, p = 2, eps = 1e-6) or cosine_distance,
       // 1 - cosine_similarity(x, y, dim=-1, eps=1e-8). margin > 0 as torch.
       [](BuildContext &c, Ew &m) {
         const Options &o = c.options();
         if (!(o.getFloat("margin") > 0))
           c.failAt(o.pathOf("margin"),
                    "TripletMarginWithDistanceLoss: expected margin to be greater than 0");
         bool cosine = o.getString("distance_function") == "cosine_distance";
         return triplet(c, m, "TripletMarginWithDistanceLoss", [&](Value u, Value v) {
           if (cosine)
             return m.sub(m.k(1), cosineSimilarity(c, u, v, -1, 1e-8));
           return pairwiseDistance(c, u, v, 2.0, 1e-6, false);
         });
       }},
  };
}

} // namespace

void registerMultiInputLosses(Registry &r) {
  for (const MultiInputLoss &l : multiInputLosses()) {
    std::vector<OptionSpec> options = l.options;
    options.insert(options.begin(), reductionOption());
    unsigned inputs = l.example.size();
    auto build = [l](BuildContext &c) {
      // Every input is float32 (graph values are checked by the importer;
      // training.loss.inputs may name an int64 target).
      for (auto [i, v] : llvm::enumerate(c.operands()))
        if (!cast<RankedTensorType>(v.getType()).getElementType().isF32())
          c.fail(std::string(l.torchName).substr(3) + ": " + l.argNames[i] +
                 " must be float32, got int64");
      Ew m{c};
      return reduceLoss(c, l.perSample(c, m));
    };

    Entry loss{l.torchName, EntryKind::Loss, l.lowering};
    loss.options = options;
    loss.numInputs = inputs;
    loss.build = build;
    loss.example = {{"input", l.example[0]}, {"inputs", l.example},
                    {"target_index", l.exampleTarget}};
    r.add(std::move(loss));

    Entry fn{l.function, EntryKind::Function, l.lowering};
    fn.options = options;
    fn.numInputs = inputs;
    fn.build = build;
    fn.example = {{"input", l.example[0]}, {"inputs", l.example}};
    r.add(std::move(fn));
  }
}

} // namespace kiln::import
