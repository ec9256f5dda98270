// The `loss` family of the inventory. A loss entry builds from the model's
// first output and the training target (BuildContext::operands()).
#include "frontend/import/Registry.h"

#include "ir/NNDialect.h"

using namespace mlir;

namespace kiln::import {

static std::string shapeStr(ArrayRef<int64_t> s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i)
    out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

static RankedTensorType typeOf(Value v) {
  return cast<RankedTensorType>(v.getType());
}

static nn::ReductionAttr reductionAttr(BuildContext &c) {
  return nn::ReductionAttr::get(
      c.builder().getContext(),
      *nn::symbolizeReduction(c.options().getString("reduction")));
}

static OptionSpec reductionOption() {
  return choiceOption("reduction", "mean", {"mean", "sum", "none"});
}

static Value crossEntropy(BuildContext &c) {
  Value input = c.operands()[0], target = c.operands()[1];
  auto out = typeOf(input).getShape();
  if (out.size() != 2)
    c.fail("CrossEntropyLoss needs [N, C] logits, the model output has shape " +
           shapeStr(out));
  auto t = typeOf(target);
  if (!t.getElementType().isInteger(64) || t.getRank() != 1 ||
      t.getDimSize(0) != out[0])
    c.failAt("training.target",
             "CrossEntropyLoss needs int64 class indices of shape [" +
                 std::to_string(out[0]) +
                 "] (probability targets are not supported yet)");
  const Options &o = c.options();
  OpBuilder &b = c.builder();
  return c.create<nn::CrossEntropyLossOp>(
      input, target, reductionAttr(c),
      b.getF64FloatAttr(o.getFloat("label_smoothing")),
      b.getI64IntegerAttr(o.getInt("ignore_index")));
}

static Value mse(BuildContext &c) {
  Value input = c.operands()[0], target = c.operands()[1];
  auto t = typeOf(target);
  if (!t.getElementType().isF32() || t.getShape() != typeOf(input).getShape())
    c.failAt("training.target", "MSELoss needs a float32 target of the "
                                "output's shape " +
                                    shapeStr(typeOf(input).getShape()));
  return c.create<nn::MseLossOp>(
      input, target, reductionAttr(c));
}

void registerLossFamily(Registry &r) {
  Entry ce{"nn.CrossEntropyLoss", EntryKind::Loss, "nn.cross_entropy_loss"};
  ce.options = {reductionOption(), floatOption("label_smoothing", 0.0).inRange(0, 1),
                intOption("ignore_index", -100)};
  ce.numInputs = 2;
  ce.build = crossEntropy;
  ce.example = {{"input", {4, 3}}, {"target", {{"shape", {4}}, {"dtype", "int64"}}}};
  r.add(std::move(ce));

  Entry mseLoss{"nn.MSELoss", EntryKind::Loss, "nn.mse_loss"};
  mseLoss.options = {reductionOption()};
  mseLoss.numInputs = 2;
  mseLoss.build = mse;
  mseLoss.example = {{"input", {4, 3}}, {"target", {{"shape", {4, 3}}, {"dtype", "float32"}}}};
  r.add(std::move(mseLoss));
}

} // namespace kiln::import
