// nn.AdaptiveLogSoftmaxWithLoss (Grave et al., "Efficient softmax
// approximation for GPUs"): a head Linear over the shortlist classes and one
// logit per tail cluster, and per cluster a two-Linear tail. A composite of
// nn.linear, the log-softmax decomposition, nn.concat and nn.gather:
//
//   head = log_softmax(x W_h^T [+ b_h])                      [N, shortlist + clusters]
//   logp = cat(head[:, :shortlist],
//              head[:, shortlist + i] + log_softmax(x A_i^T B_i^T) for each cluster i)
//   output[n] = logp[n, target[n]],  loss = mean(-output)
//
// torch computes the tail only for the rows whose target falls in the
// cluster; the dense form gives each row the same values (a row's
// log-softmax depends on that row only) and the same gradients (rows that
// gather nothing from a cluster get zero gradient through it).
#include "frontend/import/Activation.h"

#include "ir/NNBuilders.h"

#include <cmath>

using namespace mlir;

namespace kiln::import {
namespace {

/// The layer's sizes from its options: cutoffs with n_classes appended, the
/// hidden size of each tail cluster.
struct Clusters {
  int64_t in = 0, classes = 0;
  std::vector<int64_t> cutoffs; // ascending, last = n_classes
  std::vector<int64_t> hidden;  // per tail cluster
  int64_t shortlist() const { return cutoffs[0]; }
  int64_t count() const { return static_cast<int64_t>(cutoffs.size()) - 1; }
  int64_t headSize() const { return shortlist() + count(); }
};

/// torch's constructor checks, at the options' paths.
Clusters clustersOf(const Options &o, const std::function<void(const std::string &, const std::string &)> &fail) {
  Clusters k;
  k.in = o.getInt("in_features");
  k.classes = o.getInt("n_classes");
  k.cutoffs = o.getInts("cutoffs");
  bool ok = !k.cutoffs.empty();
  for (size_t i = 0; ok && i < k.cutoffs.size(); ++i)
    ok = k.cutoffs[i] > 0 && k.cutoffs[i] <= k.classes - 1 && (i == 0 || k.cutoffs[i] > k.cutoffs[i - 1]);
  if (!ok)
    fail(o.pathOf("cutoffs"), "cutoffs should be a sequence of unique, positive integers sorted in an "
                              "increasing order, where each value is between 1 and n_classes-1");
  k.cutoffs.push_back(k.classes);
  double div = o.getFloat("div_value");
  for (int64_t i = 0; i < k.count(); ++i) {
    // torch: int(in_features // (div_value ** (i + 1)))
    int64_t h = static_cast<int64_t>(std::floor(static_cast<double>(k.in) / std::pow(div, i + 1)));
    if (h < 1)
      fail(o.pathOf("div_value"), "tail cluster " + std::to_string(i) + " gets a hidden size of " +
                                      std::to_string(h) + " (in_features // div_value**" +
                                      std::to_string(i + 1) + "): Kiln's shapes are never empty");
    k.hidden.push_back(h);
  }
  return k;
}

Value logSoftmaxRows(BuildContext &c, Value x) { return logSoftmax(c, x, 1); }

Value columns(BuildContext &c, Value x, int64_t start, int64_t end) {
  auto s = nn::shapeOf(x);
  OpBuilder &b = c.builder();
  return c.create<nn::SliceOp>(x, b.getDenseI64ArrayAttr({0, start}), b.getDenseI64ArrayAttr({s[0], end}),
                               b.getDenseI64ArrayAttr({1, 1}));
}

/// log-probabilities of every class, [N, n_classes] (torch's log_prob).
Value fullLogProb(BuildContext &c, const Clusters &k, Value x) {
  Value head = c.create<nn::LinearOp>(x, c.parameter("head.weight"),
                                      c.options().getBool("head_bias") ? c.parameter("head.bias") : Value());
  Value headLogProb = logSoftmaxRows(c, head);
  SmallVector<Value> parts{columns(c, headLogProb, 0, k.shortlist())};
  for (int64_t i = 0; i < k.count(); ++i) {
    std::string tail = "tail." + std::to_string(i);
    Value h = c.create<nn::LinearOp>(x, c.parameter(tail + ".0.weight"), Value());
    Value logits = c.create<nn::LinearOp>(h, c.parameter(tail + ".1.weight"), Value());
    parts.push_back(Ew{c}.add(logSoftmaxRows(c, logits),
                              columns(c, headLogProb, k.shortlist() + i, k.shortlist() + i + 1)));
  }
  return parts.size() == 1 ? parts[0] : c.create<nn::ConcatOp>(ValueRange(parts), 1);
}

/// torch's predict(input): per row, the head's argmax when it is a
/// shortlist class (such a class beats every tail class: a tail class's
/// log-probability is at most its cluster's head log-probability), else
/// the argmax of every class's log-probability. Both are argmaxes of one
/// [N, n_classes] score: the head's shortlist columns (then -inf) in the
/// rows whose head argmax is in the shortlist, the full log-probabilities
/// in the others. torch.argmax takes the first maximum, so a tie between
/// a shortlist column and a cluster column goes to the shortlist (it comes
/// first): hence >= below. A NaN head row goes to the log-probabilities
/// (all NaN there: class 0), where torch picks the first NaN's column.
Value predict(BuildContext &c, const Clusters &k, Value x) {
  Ew m{c};
  OpBuilder &b = c.builder();
  Value head = c.create<nn::LinearOp>(x, c.parameter("head.weight"),
                                      c.options().getBool("head_bias") ? c.parameter("head.bias") : Value());
  int64_t n = nn::shapeOf(x)[0];
  auto rowMax = [&](Value v) {
    return c.create<nn::AmaxOp>(v, b.getDenseI64ArrayAttr({1}), b.getUnitAttr());
  };
  Value shortlist = columns(c, head, 0, k.shortlist());
  Value inShortlist = m.cmp(nn::ComparePredicate::ge, rowMax(shortlist),
                            rowMax(columns(c, head, k.shortlist(), k.headSize())));
  Value tail = c.create<nn::BroadcastToOp>(
      nn::f32Tensor(b.getContext(), {n, k.classes - k.shortlist()}), m.k(-INFINITY));
  Value headScores = c.create<nn::ConcatOp>(ValueRange{shortlist, tail}, 1);
  Value scores = m.where(inShortlist, headScores, fullLogProb(c, k, x));
  return c.create<nn::ArgmaxOp>(scores, b.getI64IntegerAttr(1), UnitAttr());
}

/// The clusters of a method call (log_prob, predict), whose input must be
/// [N, in_features]: torch 1.13's methods have no unbatched form.
Clusters methodClusters(BuildContext &c, const std::string &method) {
  Clusters k = clustersOf(c.options(), [&](const std::string &p, const std::string &m) { c.failAt(p, m); });
  auto xs = nn::shapeOf(c.operands()[0]);
  if (xs.size() != 2 || xs[1] != k.in)
    c.fail(method + " expects an input of shape [N, " + std::to_string(k.in) + "] (in_features; torch's " +
           method + " has no unbatched form), got " + nn::shapeStr(xs));
  return k;
}

SmallVector<Value> buildForward(BuildContext &c) {
  Clusters k = clustersOf(c.options(), [&](const std::string &p, const std::string &m) { c.failAt(p, m); });
  Value x = c.operands()[0], target = c.operands()[1];
  auto xs = nn::shapeOf(x), ts = nn::shapeOf(target);
  // torch 1.13: a [N] target with [N, in_features] input, or a 0-D target
  // with a 1-D input.
  if (ts.size() > 1)
    c.fail("0D or 1D target tensor expected, multi-target not supported (target " + nn::shapeStr(ts) + ")");
  if (xs.size() != ts.size() + 1)
    c.fail(std::to_string(ts.size()) + "D target tensor expects " + std::to_string(ts.size() + 1) +
           "D input tensors, but found inputs with size " + nn::shapeStr(xs));
  if (!ts.empty() && ts[0] != xs[0])
    c.fail("Input and target should have the same size in the batch dimension (input " + nn::shapeStr(xs) +
           ", target " + nn::shapeStr(ts) + ")");
  if (xs.back() != k.in)
    c.fail("expected an input of shape [N, " + std::to_string(k.in) + "] or [" + std::to_string(k.in) +
           "] (in_features), got " + nn::shapeStr(xs));
  int64_t n = ts.empty() ? 1 : ts[0];
  MLIRContext *ctx = c.builder().getContext();
  Value rows = nn::reshapeTo(c.builder(), c.loc(), x, nn::f32Tensor(ctx, {n, k.in}));
  Value index = nn::reshapeTo(c.builder(), c.loc(), target,
                              RankedTensorType::get({n, 1}, IntegerType::get(ctx, 64)));
  Value picked = c.create<nn::GatherOp>(fullLogProb(c, k, rows), index, c.builder().getI64IntegerAttr(1));
  Value output = nn::reshapeTo(c.builder(), c.loc(), picked, nn::f32Tensor(ctx, ts));
  Value loss = c.create<nn::MeanOp>(Ew{c}.neg(output), c.builder().getDenseI64ArrayAttr({}), UnitAttr());
  return {output, loss};
}

} // namespace

void registerAdaptiveSoftmaxFamily(Registry &r) {
  Entry e{"nn.AdaptiveLogSoftmaxWithLoss", EntryKind::Layer,
          "nn.linear, log-softmax (decomposed), nn.concat, nn.gather; two outputs (output, loss)"};
  e.options = {intOption("in_features").atLeast(1), intOption("n_classes").atLeast(2),
               intListOption("cutoffs"), floatOption("div_value", 4.0), boolOption("head_bias", false)};
  e.numInputs = 2;
  e.indexInputs = {1};
  e.declare = [](LayerDecl &decl) {
    const Options &o = decl.options();
    Clusters k = clustersOf(o, [](const std::string &p, const std::string &m) { fail(p, m); });
    // Every Linear is torch's default: U(+-1/sqrt(fan_in)) for weight and bias.
    auto bound = [](int64_t fanIn) { return 1.0 / std::sqrt(static_cast<double>(fanIn)); };
    double b = bound(k.in);
    decl.addParameter("head.weight", {k.headSize(), k.in}, Init::uniform(-b, b));
    if (o.getBool("head_bias"))
      decl.addParameter("head.bias", {k.headSize()}, Init::uniform(-b, b));
    for (int64_t i = 0; i < k.count(); ++i) {
      std::string tail = "tail." + std::to_string(i);
      double bh = bound(k.hidden[i]);
      decl.addParameter(tail + ".0.weight", {k.hidden[i], k.in}, Init::uniform(-b, b));
      decl.addParameter(tail + ".1.weight", {k.cutoffs[i + 1] - k.cutoffs[i], k.hidden[i]},
                        Init::uniform(-bh, bh));
    }
  };
  e.buildOutputs = buildForward;
  // log_prob(input): every class's log-probability, [N, n_classes]. torch
  // 1.13's log_prob takes batched inputs only (its log_softmax is over dim 1).
  auto logProb = std::make_shared<Entry>("nn.AdaptiveLogSoftmaxWithLoss.log_prob", EntryKind::Layer,
                                         "nn.linear, log-softmax (decomposed), nn.concat");
  logProb->options = e.options;
  logProb->build = [](BuildContext &c) {
    Clusters k = methodClusters(c, "log_prob");
    return fullLogProb(c, k, c.operands()[0]);
  };
  e.methods["log_prob"] = std::move(logProb);
  // predict(input): the most likely class of each row, int64 [N] (batched
  // only, as torch 1.13's).
  auto predictEntry = std::make_shared<Entry>(
      "nn.AdaptiveLogSoftmaxWithLoss.predict", EntryKind::Layer,
      "nn.linear, log-softmax (decomposed), nn.where, nn.argmax");
  predictEntry->options = e.options;
  predictEntry->build = [](BuildContext &c) {
    Clusters k = methodClusters(c, "predict");
    return predict(c, k, c.operands()[0]);
  };
  e.methods["predict"] = std::move(predictEntry);
  e.example = {{"options", {{"in_features", 16}, {"n_classes", 10}, {"cutoffs", {4, 7}}}},
               {"input", {3, 16}},
               {"index", {3}},
               {"outputs", 2}};
  r.add(std::move(e));
}

} // namespace kiln::import
