// PReLU (a learnable negative slope) and RReLU (a random one in train
// mode): `x > 0 ? x : slope * x` built from nn.compare / nn.where / nn.mul,
// so the slope's gradient is autodiff's sum of x * dy over x <= 0, and the
// slope at 0 is torch's (its backward takes the negative branch there).
#include "frontend/import/Activation.h"

#include "ir/FormatNumber.h"
#include "ir/NNBuilders.h"

using namespace mlir;

namespace kiln::import {
namespace {

Value rectify(Ew &m, Value x, Value slope) {
  return m.where(m.cmp(nn::ComparePredicate::gt, x, m.k(0)), x, m.mul(x, slope));
}

/// torch 1.13's at::prelu: one weight for every element, or one per channel
/// (dim 1; inputs of rank >= 2). The weight is reshaped to broadcast along
/// dim 1: [C] -> [C, 1, ..., 1].
Value prelu(BuildContext &c, Value x, Value weight) {
  auto shape = nn::shapeOf(x);
  auto wshape = nn::shapeOf(weight);
  if (wshape.size() != 1)
    c.fail("prelu: weight must be 1-D, got " + nn::shapeStr(wshape));
  int64_t count = wshape[0];
  if (shape.empty())
    c.fail("prelu: Not allow zero-dim input tensor.");
  SmallVector<int64_t> slopeShape;
  if (count != 1) {
    int64_t channels = shape.size() > 1 ? shape[1] : 1;
    if (channels != count)
      c.fail("Mismatch of parameter numbers and input channel size. Found parameter numbers = " +
             std::to_string(count) + " and channel size = " + std::to_string(channels) +
             " (input shape " + nn::shapeStr(shape) + ")");
    slopeShape.push_back(count);
    slopeShape.append(shape.size() - 2, 1);
  }
  Value slope = nn::reshapeTo(c.builder(), c.loc(), weight,
                              nn::f32Tensor(c.builder().getContext(), slopeShape));
  Ew m{c};
  return rectify(m, x, slope);
}

/// RReLU: in train mode each element's slope is lower + (upper - lower) u,
/// u uniform in [0, 1) from the instance's stream (torch draws it only for
/// x <= 0; the other draws are unused here); otherwise (lower + upper) / 2.
Value rrelu(BuildContext &c, Value x, double lower, double upper, bool training) {
  Ew m{c};
  if (!training)
    return rectify(m, x, m.k((lower + upper) / 2));
  Value u = c.randomUniform(nn::shapeOf(x));
  return rectify(m, x, m.add(m.k(lower), m.mul(u, m.k(upper - lower))));
}

std::string checkBounds(const Options &o) {
  double lower = o.getFloat("lower"), upper = o.getFloat("upper");
  if (lower > upper)
    return "lower " + formatExact(lower) + " must not be greater than upper " +
           formatExact(upper) + " (torch's uniform_ fails in train mode)";
  return "";
}

} // namespace

void registerRectifierFamily(Registry &r) {
  const char *preluLowering = "nn.compare, nn.where, nn.mul (decomposed)";
  Entry layer{"nn.PReLU", EntryKind::Layer, preluLowering};
  layer.options = {intOption("num_parameters", 1).atLeast(1), floatOption("init", 0.25)};
  layer.declare = [](LayerDecl &decl) {
    double init = decl.options().getFloat("init");
    decl.addParameter("weight", {decl.options().getInt("num_parameters")},
                      Init::uniform(init, init));
  };
  layer.build = [](BuildContext &c) {
    return prelu(c, c.operands()[0], c.parameter("weight"));
  };
  layer.example = {{"options", {{"num_parameters", 3}}}, {"input", {2, 3, 4}}};
  r.add(std::move(layer));

  // torch.prelu(input, weight): the weight is a graph value.
  Entry function{"prelu", EntryKind::Function, preluLowering};
  function.numInputs = 2;
  function.build = [](BuildContext &c) {
    return prelu(c, c.operands()[0], c.operands()[1]);
  };
  // The test model feeds one value to both inputs: a 1-element 1-D one.
  function.example = {{"input", {1}}};
  r.add(std::move(function));

  const char *rreluLowering =
      "nn.random_uniform, nn.compare, nn.where, nn.mul (train mode; leaky ReLU "
      "with the mean slope in eval mode)";
  Entry rreluLayer{"nn.RReLU", EntryKind::Layer, rreluLowering};
  rreluLayer.options = {floatOption("lower", 1.0 / 8), floatOption("upper", 1.0 / 3),
                        boolOption("inplace", false).noEffect()};
  rreluLayer.declare = [](LayerDecl &decl) {
    std::string message = checkBounds(decl.options());
    if (!message.empty())
      fail(decl.options().pathOf("lower"), message);
  };
  rreluLayer.build = [](BuildContext &c) {
    const Options &o = c.options();
    return rrelu(c, c.operands()[0], o.getFloat("lower"), o.getFloat("upper"),
                 c.training());
  };
  rreluLayer.example = {{"input", {2, 4}}};
  r.add(std::move(rreluLayer));

  // torch.rrelu(input, lower, upper, training=False): the mode is the
  // call's option, not the model's.
  Entry rreluFunction{"rrelu", EntryKind::Function, rreluLowering};
  rreluFunction.options = {floatOption("lower", 1.0 / 8), floatOption("upper", 1.0 / 3),
                           boolOption("training", false)};
  rreluFunction.build = [](BuildContext &c) {
    const Options &o = c.options();
    std::string message = checkBounds(o);
    if (!message.empty())
      c.failAt(o.pathOf("lower"), message);
    return rrelu(c, c.operands()[0], o.getFloat("lower"), o.getFloat("upper"),
                 o.getBool("training"));
  };
  rreluFunction.example = {{"options", {{"training", true}}}, {"input", {2, 4}}};
  r.add(std::move(rreluFunction));
}

} // namespace kiln::import
