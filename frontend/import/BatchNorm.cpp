// nn.BatchNorm1d/2d/3d, nn.SyncBatchNorm and nn.LazyBatchNorm1d/2d/3d:
// nn.batch_norm (batch statistics, the affine map inside, a fused backward)
// in train mode, with buffers (running statistics, num_batches_tracked)
// updated by elementwise ops; eval mode normalises with the running
// statistics elementwise.
#include "frontend/import/Norm.h"
#include "ir/ChannelShape.h"

using namespace mlir;

namespace kiln::import {
namespace {

/// One batch-norm entry: the input ranks it takes ("2D or 3D").
struct BatchNormKind {
  std::string name;       // "BatchNorm2d"
  std::vector<size_t> ranks;  // accepted input ranks; empty: any >= 2
};

/// Elements per channel of an [N, C, *] shape (N * prod(*)).
/// Batch normalisation over every dimension but the channel dimension 1,
/// as torch 1.13's _BatchNorm.forward and batch_norm_cpu:
///   batch statistics when training or not tracking (bn_training):
///     mean, biased var over (N, *); torch refuses N * prod(*) == 1;
///   train mode with tracking also updates the buffers:
///     num_batches_tracked += 1
///     factor = momentum, or 1 / num_batches_tracked when momentum is None
///       (cumulative moving average)
///     running_mean = (1 - factor) * running_mean + factor * mean
///     running_var  = (1 - factor) * running_var + factor * var * n / (n - 1)
///   eval mode with tracking: mean, var = running_mean, running_var
///   y = (x - mean) * rsqrt(var + eps) * weight + bias
Value buildBatchNorm(BuildContext &c, const BatchNormKind &kind) {
  const Options &o = c.options();
  Value x = c.operands()[0];
  auto shape = nn::shapeOf(x);
  size_t rank = shape.size();
  int64_t channels = o.getInt("num_features");
  std::string expected;
  for (size_t r : kind.ranks)
    expected += (expected.empty() ? "" : " or ") + normStr(static_cast<int64_t>(r)) + "D";
  bool rankOk = kind.ranks.empty()
                    ? rank >= 2
                    : std::find(kind.ranks.begin(), kind.ranks.end(), rank) != kind.ranks.end();
  if (!rankOk)
    c.fail("expected " + (expected.empty() ? std::string("at least 2D") : expected) +
           " input, got " + normStr(static_cast<int64_t>(rank)) + "D input " +
           nn::shapeStr(shape));
  if (shape[1] != channels)
    c.fail("input " + nn::shapeStr(shape) + " has " + normStr(shape[1]) +
           " channels (dimension 1), but num_features is " + normStr(channels));
  bool tracking = o.getBool("track_running_stats");
  bool training = c.training();
  double eps = o.getFloat("eps");

  if (!training && tracking) {
    Value y = normalizeWith(c, x, channelView(c, c.buffer("running_mean"), rank),
                            channelView(c, c.buffer("running_var"), rank), eps);
    return affinePerChannel(c, y, rank);
  }
  int64_t n = nn::valuesPerChannel(shape);
  if (n < 2)
    c.fail("expected more than 1 value per channel when using batch statistics "
           "(train mode, or track_running_stats=False), got input of shape " +
           nn::shapeStr(shape));
  // SyncBatchNorm: statistics over the data-parallel group (alone, the
  // same as BatchNorm, as torch's with a world size of 1).
  const bool sync = kind.name == "SyncBatchNorm";
  Value mean, var;
  Value y = batchNormalize(c, x, c.parameter("weight"), c.parameter("bias"), eps, &mean, &var,
                           sync);
  if (training && tracking) {
    OpBuilder &b = c.builder();
    Location loc = c.loc();
    // torch's swa_utils.update_bn: reset once (a layer called twice in a
    // forward counts both calls), then momentum None.
    BatchNormUpdate update = c.batchNormUpdate();
    if (update == BatchNormUpdate::first && !c.bufferWasSet("num_batches_tracked")) {
      auto statType = cast<RankedTensorType>(c.buffer("running_mean").getType());
      auto countType = cast<RankedTensorType>(c.buffer("num_batches_tracked").getType());
      c.setBuffer("running_mean", b.create<arith::ConstantOp>(
                                      loc, DenseElementsAttr::get(statType, b.getF32FloatAttr(0))));
      c.setBuffer("running_var", b.create<arith::ConstantOp>(
                                     loc, DenseElementsAttr::get(statType, b.getF32FloatAttr(1))));
      c.setBuffer("num_batches_tracked",
                  b.create<arith::ConstantOp>(
                      loc, DenseElementsAttr::get(countType, b.getI64IntegerAttr(0))));
    }
    Value count = c.buffer("num_batches_tracked");
    auto countType = cast<RankedTensorType>(count.getType());
    Value one = b.create<arith::ConstantOp>(
        loc, DenseElementsAttr::get(countType, b.getI64IntegerAttr(1)));
    Value next = b.create<arith::AddIOp>(loc, count, one);
    c.setBuffer("num_batches_tracked", next);
    Value factor;
    if (o.isNone("momentum") || update != BatchNormUpdate::none) {
      Value steps = b.create<arith::SIToFPOp>(loc, nn::f32Tensor(b.getContext(), {}), next);
      factor = c.create<nn::DivOp>(nn::scalarConstant(b, loc, 1.0), steps);
    } else {
      factor = nn::scalarConstant(b, loc, o.getFloat("momentum"));
    }
    updateRunningStats(c, mean, var, n, factor, channels, sync);
  }
  return y;
}

/// F.batch_norm(input, running_mean, running_var, weight=None, bias=None,
/// training=False, momentum=0.1, eps=1e-5) on [N, C, *]: batch statistics
/// when `training` (the running statistics may then be left out, torch's
/// None), else the given running statistics; weight and bias when given
/// (the 4th and 5th inputs). torch's in-place update of the running
/// statistics in training mode has no effect here: they are values, not
/// buffers (the layers track them).
Value buildBatchNormFunction(BuildContext &c) {
  const Options &o = c.options();
  Value x = c.operands()[0];
  auto shape = nn::shapeOf(x);
  size_t rank = shape.size();
  if (rank < 2)
    c.fail("expected an input of at least 2 dimensions (N, C, *), got " + nn::shapeStr(shape));
  if (c.operands().size() == 2)
    c.fail("running_mean (input 1) needs running_var (input 2)");
  int64_t channels = shape[1];
  Value mean = channelOperand(c, 1, "running_mean", channels);
  Value var = channelOperand(c, 2, "running_var", channels);
  Value weight = channelOperand(c, 3, "weight", channels);
  Value bias = channelOperand(c, 4, "bias", channels);
  double eps = o.getFloat("eps");
  if (!o.getBool("training") && !mean)
    c.failAt(o.pathOf("training"),
             "training=False needs running_mean and running_var (inputs 1 and 2)");
  if (o.getBool("training")) {
    if (nn::valuesPerChannel(shape) < 2)
      c.fail("expected more than 1 value per channel when training, got input of shape " +
             nn::shapeStr(shape));
    return batchNormalize(c, x, weight, bias, eps);
  }
  Value y = normalizeWith(c, x, channelView(c, mean, rank), channelView(c, var, rank), eps);
  return affineOperands(c, y, rank, weight, bias);
}

void declareBatchNorm(LayerDecl &decl, const std::string &layer) {
  const Options &o = decl.options();
  declareNormBase(decl, numFeatures(o, layer), o.getBool("affine"),
                  o.getBool("track_running_stats"));
}

/// Lazy layers take 0 (never called) to say so in the error.
std::vector<OptionSpec> batchNormOptions(bool lazy) {
  return {intOption("num_features").atLeast(lazy ? 0 : 1),
          floatOption("eps", 1e-5),
          floatOption("momentum", 0.1).inRange(0, 1).orNone(),
          boolOption("affine", true),
          boolOption("track_running_stats", true)};
}

json exampleInput(const BatchNormKind &kind) {
  size_t rank = kind.ranks.empty() ? 3 : kind.ranks.back();
  json input = {3, 4};
  for (size_t d = 2; d < rank; ++d)
    input.push_back(static_cast<int64_t>(7 - d));
  return input;
}

} // namespace

void registerBatchNormEntries(Registry &r) {
  const std::string ops = "nn.batch_norm";
  const std::string lowering =
      ops + " (train mode; buffers updated by nn.mul, nn.add), eval mode nn.sub, nn.mul, "
            "nn.rsqrt, nn.add with the running statistics";
  std::vector<BatchNormKind> kinds = {
      {"BatchNorm1d", {2, 3}}, {"BatchNorm2d", {4}}, {"BatchNorm3d", {5}}};
  for (const BatchNormKind &kind : kinds) {
    Entry bn{"nn." + kind.name, EntryKind::Layer, lowering};
    bn.options = batchNormOptions(false);
    bn.declare = [kind](LayerDecl &d) { declareBatchNorm(d, kind.name); };
    bn.build = [kind](BuildContext &c) { return buildBatchNorm(c, kind); };
    bn.example = {{"options", {{"num_features", 4}}}, {"input", exampleInput(kind)}};
    r.add(std::move(bn));
  }
  // Lazy*: the DSL resolves num_features from the first input it sees and
  // writes it into the model file; the model is then the eager layer.
  for (const BatchNormKind &kind : kinds) {
    Entry lazy{"nn.Lazy" + kind.name, EntryKind::Layer,
               ops + " (as " + kind.name +
                   "; num_features resolved from the first input at trace time)"};
    lazy.options = batchNormOptions(true);
    lazy.declare = [kind](LayerDecl &d) { declareBatchNorm(d, "Lazy" + kind.name); };
    lazy.build = [kind](BuildContext &c) { return buildBatchNorm(c, kind); };
    lazy.example = {{"options", {{"num_features", 4}}}, {"input", exampleInput(kind)}};
    r.add(std::move(lazy));
  }
  // nn.batch_norm with `sync`: under kilnc --data-parallel and a
  // communicator, the statistics of the whole batch of the group (torch's
  // SyncBatchNorm); alone, _BatchNorm.forward on (N, C, *), as torch's with
  // a world size of 1. No process_group option: the group is the
  // communicator attached to the instance.
  BatchNormKind sync{"SyncBatchNorm", {}};
  Entry s{"nn.SyncBatchNorm", EntryKind::Layer,
          ops + " with sync: batch statistics summed over the data-parallel group "
                "(kilnc --data-parallel, kiln/comm.h); alone as BatchNorm"};
  s.options = batchNormOptions(false);
  s.declare = [](LayerDecl &d) { declareBatchNorm(d, "SyncBatchNorm"); };
  s.build = [sync](BuildContext &c) { return buildBatchNorm(c, sync); };
  s.example = {{"options", {{"num_features", 4}}}, {"input", {3, 4, 5}}};
  r.add(std::move(s));

  Entry fn{"batch_norm", EntryKind::Function,
           ops + " (training=True; else elementwise with [running_mean, running_var[, "
                 "weight[, bias]]] inputs)"};
  // momentum only shapes torch's in-place update of the running-statistics
  // inputs, which Kiln does not make (values, not buffers).
  fn.options = {boolOption("training", false),
                floatOption("momentum", 0.1).inRange(0, 1).noEffect(),
                floatOption("eps", 1e-5)};
  fn.numInputs = 5;
  fn.numOptionalInputs = 4;
  fn.build = buildBatchNormFunction;
  fn.example = {{"options", {{"training", true}}}, {"input", {3, 4, 5}}};
  r.add(std::move(fn));
}

} // namespace kiln::import
