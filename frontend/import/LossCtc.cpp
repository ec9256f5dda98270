// CTCLoss and F.ctc_loss (torch 1.13): nn.ctc_loss gives each sample's
// negative log-likelihood (a runtime routine, passes/LowerCtc.cpp), and the
// reduction is composed here: mean = mean(loss / clamp_min(target_lengths,
// 1)), as torch; sum; none. Operands in torch's order: log_probs [T, N, C]
// (or [T, C] unbatched), targets [N, S] int64 (padded; [S] unbatched),
// input_lengths and target_lengths [N] int64 ([] unbatched). In the training
// section they are named by training.loss.inputs: a model output, then the
// target and model inputs (the lengths are int64 model inputs the loss
// alone reads). torch's concatenated 1-D targets of a batch ([S] with
// [T, N, C] log_probs) go to nn.ctc_loss as they are; torch's
// targets.size(0) == sum(target_lengths) becomes a value check (the
// compiled S is fixed, so every batch's lengths must add up to it).
#include "frontend/import/Activation.h"
#include "frontend/import/Constants.h"
#include "frontend/import/Loss.h"

#include "ir/NNBuilders.h"


using namespace mlir;

namespace kiln::import {
namespace {

constexpr const char *kArgNames[] = {"log_probs", "targets", "input_lengths",
                                     "target_lengths"};

/// torch's targets.size(0) == sum(target_lengths) for concatenated targets
/// of `total` labels: the lengths as floats (a constant 0..total read at
/// each; the runtime checks them to [0, total] anyway) summed, a value check
/// that fails naming the sum when it is not `total` (exact below 2^24).
void checkConcatenatedLengths(BuildContext &c, Value targetLengths, int64_t total) {
  OpBuilder &b = c.builder();
  std::vector<float> values(total + 1);
  for (int64_t v = 0; v <= total; ++v)
    values[v] = static_cast<float>(v);
  Value lengths = c.create<nn::GatherOp>(f32Constant(c, {total + 1}, values), targetLengths,
                                         b.getI64IntegerAttr(0));
  Value sum = c.create<nn::SumOp>(lengths, b.getDenseI64ArrayAttr({0}), b.getUnitAttr()); // [1]
  Ew m{c};
  c.checkValues("CTCLoss.target_lengths", sum,
                m.where(m.cmp(nn::ComparePredicate::ne, sum, m.k(static_cast<double>(total))),
                        m.k(1.0), m.k(0.0)));
}

Value ctcLoss(BuildContext &c) {
  auto operands = c.operands();
  MLIRContext *ctx = c.builder().getContext();
  for (size_t i = 0; i < 4; ++i) {
    bool isIndex = i > 0;
    Type element = typeOf(operands[i]).getElementType();
    if (isIndex ? !element.isInteger(64) : !element.isF32())
      c.fail(std::string("CTCLoss: ") + kArgNames[i] + " must be " +
             (isIndex ? "int64" : "float32") + ", got " +
             (element.isF32() ? "float32" : element.isInteger(64) ? "int64" : "bool"));
  }
  auto lp = nn::shapeOf(operands[0]), t = nn::shapeOf(operands[1]);
  auto il = nn::shapeOf(operands[2]), tl = nn::shapeOf(operands[3]);
  bool batched = lp.size() == 3;
  if (lp.size() != 2 && lp.size() != 3)
    c.fail("CTCLoss: log_probs must be [T, N, C] or [T, C] (unbatched), got " +
           nn::shapeStr(lp));
  int64_t n = batched ? lp[1] : 1;
  bool concatenated = batched && t.size() == 1;
  if (batched ? (t.size() != 2 || t[0] != n) && !concatenated : t.size() != 1)
    c.fail("CTCLoss: targets must be " +
           (batched ? "[" + std::to_string(n) + ", S] (padded) or [S] (concatenated)"
                    : std::string("[S]")) +
           " for log_probs " + nn::shapeStr(lp) + ", got " + nn::shapeStr(t));
  if (t.back() < 1)
    c.fail("CTCLoss: targets must hold at least one label per sample (S >= 1), got " +
           nn::shapeStr(t));
  for (auto [name, shape] : {std::pair<const char *, ArrayRef<int64_t>>{"input_lengths", il},
                             {"target_lengths", tl}})
    if (batched ? (shape.size() != 1 || shape[0] != n) : !shape.empty())
      c.fail(std::string("CTCLoss: ") + name + " must be " +
             (batched ? "[" + std::to_string(n) + "]" : std::string("[] (a scalar)")) +
             " for log_probs " + nn::shapeStr(lp) + ", got " + nn::shapeStr(shape));
  int64_t classes = lp.back(), blank = c.options().getInt("blank");
  if (blank < 0 || blank >= classes)
    c.failAt(c.options().pathOf("blank"),
             "CTCLoss: blank must be in label range [0, " + std::to_string(classes) +
                 "), got " + std::to_string(blank));

  Value logProbs = operands[0], targets = operands[1];
  Value inputLengths = operands[2], targetLengths = operands[3];
  OpBuilder &b = c.builder();
  auto i64 = [&](ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, b.getI64Type());
  };
  if (!batched) {
    logProbs = nn::reshapeTo(b, c.loc(), logProbs, nn::f32Tensor(ctx, {lp[0], 1, lp[1]}));
    targets = nn::reshapeTo(b, c.loc(), targets, i64({1, t[0]}));
    inputLengths = nn::reshapeTo(b, c.loc(), inputLengths, i64({1}));
    targetLengths = nn::reshapeTo(b, c.loc(), targetLengths, i64({1}));
  }
  if (concatenated)
    checkConcatenatedLengths(c, targetLengths, t[0]);
  Value perSample = c.create<nn::CtcLossOp>(
      logProbs, targets, inputLengths, targetLengths, b.getI64IntegerAttr(blank),
      b.getBoolAttr(c.options().getBool("zero_infinity")));
  std::string reduction = c.options().getString("reduction");
  if (reduction == "none")
    return batched ? perSample : nn::reshapeTo(b, c.loc(), perSample, nn::f32Tensor(ctx, {}));
  DenseI64ArrayAttr all = b.getDenseI64ArrayAttr({});
  if (reduction == "sum")
    return c.create<nn::SumOp>(perSample, all, UnitAttr());
  // The target lengths as floats, clamped to >= 1: a constant [1, 1, 2, ...,
  // S] read at each length (nn.gather; the runtime checks them anyway).
  int64_t s = typeOf(targets).getShape().back();
  std::vector<float> divisors(s + 1);
  for (int64_t v = 0; v <= s; ++v)
    divisors[v] = static_cast<float>(std::max<int64_t>(v, 1));
  Value table = f32Constant(c, {s + 1}, divisors);
  Value lengths = c.create<nn::GatherOp>(table, targetLengths, b.getI64IntegerAttr(0));
  return c.create<nn::MeanOp>(c.create<nn::DivOp>(perSample, lengths), all, UnitAttr());
}

/// A model computing log_softmax of an input into CTCLoss (registry test):
/// T 5, N 2, C 4, S 3; lengths are int64 model inputs.
json ctcExample(bool training) {
  auto tensor = [](const char *name, json shape, const char *dtype) {
    return json{{"name", name}, {"shape", shape}, {"dtype", dtype}};
  };
  json model = {{"format", "kiln-model"}, {"version", 1}, {"name", "m"},
                {"module", {{"type", "Sequential"}, {"children", json::array()}}}};
  model["inputs"] = json::array({tensor("x", {5, 2, 4}, "float32"),
                                 tensor("il", {2}, "int64"), tensor("tl", {2}, "int64")});
  json logSoftmax = {{"function", "log_softmax"}, {"options", {{"dim", 2}}},
                     {"inputs", json::array({"x"})}, {"outputs", json::array({"lp"})}};
  model["graph"] = json::array({logSoftmax});
  if (training) {
    model["outputs"] = json::array({"lp"});
    model["training"] = {
        {"loss", {{"type", "CTCLoss"}, {"options", json::object()},
                  {"inputs", json::array({"lp", "t", "il", "tl"})}}},
        {"target", tensor("t", {2, 3}, "int64")},
        {"optimizer", {{"type", "SGD"}, {"options", {{"lr", 0.1}}}}}};
    return model;
  }
  model["inputs"].push_back(tensor("tg", {2, 3}, "int64"));
  model["graph"].push_back({{"function", "ctc_loss"}, {"options", json::object()},
                            {"inputs", json::array({"lp", "tg", "il", "tl"})},
                            {"outputs", json::array({"y"})}});
  model["outputs"] = json::array({"y"});
  return model;
}

} // namespace

void registerCtcLoss(Registry &r) {
  std::vector<OptionSpec> options = {intOption("blank", 0), reductionOption(),
                                     boolOption("zero_infinity", false)};
  const char *lowering = "nn.ctc_loss (a runtime routine) + nn.gather, nn.div, nn.mean "
                         "for the reduction";
  Entry loss{"nn.CTCLoss", EntryKind::Loss, lowering};
  loss.options = options;
  loss.numInputs = 4;
  loss.indexInputs = {1, 2, 3};
  loss.build = ctcLoss;
  loss.example = {{"model", ctcExample(true)}};
  r.add(std::move(loss));

  Entry fn{"ctc_loss", EntryKind::Function, lowering};
  fn.options = options;
  fn.numInputs = 4;
  fn.indexInputs = {1, 2, 3};
  fn.build = ctcLoss;
  fn.example = {{"model", ctcExample(false)}};
  r.add(std::move(fn));
}

} // namespace kiln::import
