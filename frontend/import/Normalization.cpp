// The `normalization` family of the inventory. nn.BatchNorm1d is, for now,
// a composite of primitive ops: it is the first layer with buffers
// (running statistics, num_batches_tracked) and a train/eval difference,
// and exercises both through the whole pipeline. Convolutional networks
// (issue 8) bring the dedicated batch-norm op with its fused backward.
#include "frontend/import/Registry.h"

#include "ir/NNBuilders.h"

using namespace mlir;

namespace kiln::import {
namespace {

Init ones() { return Init{Init::Ones, 0, 0}; }

void declareBatchNorm(LayerDecl &decl) {
  const Options &o = decl.options();
  int64_t c = o.getInt("num_features");
  if (o.getBool("affine")) {
    decl.addParameter("weight", {c}, ones());
    decl.addParameter("bias", {c}, Init());
  }
  if (o.getBool("track_running_stats")) {
    decl.addBuffer("running_mean", {c}, Init());
    decl.addBuffer("running_var", {c}, ones());
    decl.addBuffer("num_batches_tracked", {}, Init(), /*isInt64=*/true);
  }
}

/// Batch normalisation over every dimension but the channel dimension 1 of
/// an (N, C) or (N, C, L) input, as torch 1.13's _BatchNorm.forward and
/// batch_norm_cpu:
///   train (or no running stats): mean, biased var over (N[, L]);
///     running_mean = (1 - m) * running_mean + m * mean
///     running_var  = (1 - m) * running_var + m * var * n / (n - 1)
///     num_batches_tracked += 1
///   eval with running stats: mean, var = running_mean, running_var
///   y = (x - mean) * rsqrt(var + eps) * weight + bias
Value buildBatchNorm(BuildContext &c) {
  const Options &o = c.options();
  Value x = c.operands()[0];
  auto shape = nn::shapeOf(x);
  int64_t channels = o.getInt("num_features");
  if ((shape.size() != 2 && shape.size() != 3) || shape[1] != channels)
    c.fail("expected an input of shape (N, " + std::to_string(channels) + ") or (N, " +
           std::to_string(channels) + ", L), got " + nn::shapeStr(shape));
  OpBuilder &b = c.builder();
  Location loc = c.loc();
  MLIRContext *ctx = b.getContext();
  // Per-channel values broadcast against x as [C] or [C, 1].
  SmallVector<int64_t> channelShape{channels};
  if (shape.size() == 3)
    channelShape.push_back(1);
  auto perChannel = [&](Value v) {
    return nn::reshapeTo(b, loc, v, nn::f32Tensor(ctx, channelShape));
  };
  auto asVector = [&](Value v) {
    return nn::reshapeTo(b, loc, v, nn::f32Tensor(ctx, {channels}));
  };
  bool tracking = o.getBool("track_running_stats");
  bool training = c.training();
  double eps = o.getFloat("eps");

  Value mean, var;
  if (training || !tracking) {
    SmallVector<int64_t> dims{0};
    if (shape.size() == 3)
      dims.push_back(2);
    auto reduce = [&](Value v) {
      return c.create<nn::MeanOp>(v, b.getDenseI64ArrayAttr(dims), b.getUnitAttr());
    };
    mean = reduce(x);
    Value centered = c.create<nn::SubOp>(x, mean);
    var = reduce(c.create<nn::MulOp>(centered, centered));
    if (training && tracking) {
      int64_t n = shape[0] * (shape.size() == 3 ? shape[2] : 1);
      if (n < 2)
        c.fail("expected more than 1 value per channel when training, got input of shape " +
               nn::shapeStr(shape));
      double m = o.getFloat("momentum");
      auto blend = [&](Value running, Value batch, double scale) {
        Value decayed = c.create<nn::MulOp>(running, nn::scalarConstant(b, loc, 1.0 - m));
        Value fresh = c.create<nn::MulOp>(asVector(batch), nn::scalarConstant(b, loc, m * scale));
        return c.create<nn::AddOp>(decayed, fresh);
      };
      c.setBuffer("running_mean", blend(c.buffer("running_mean"), mean, 1.0));
      c.setBuffer("running_var", blend(c.buffer("running_var"), var,
                                       static_cast<double>(n) / static_cast<double>(n - 1)));
      Value count = c.buffer("num_batches_tracked");
      Value one = b.create<arith::ConstantOp>(
          loc, DenseElementsAttr::get(cast<RankedTensorType>(count.getType()),
                                      b.getI64IntegerAttr(1)));
      c.setBuffer("num_batches_tracked", b.create<arith::AddIOp>(loc, count, one));
    }
  } else {
    mean = perChannel(c.buffer("running_mean"));
    var = perChannel(c.buffer("running_var"));
  }
  Value invStd = c.create<nn::RsqrtOp>(c.create<nn::AddOp>(var, nn::scalarConstant(b, loc, eps)));
  Value y = c.create<nn::MulOp>(c.create<nn::SubOp>(x, mean), invStd);
  if (Value w = c.parameter("weight"))
    y = c.create<nn::AddOp>(c.create<nn::MulOp>(y, perChannel(w)), perChannel(c.parameter("bias")));
  return y;
}

} // namespace

void registerNormalizationFamily(Registry &r) {
  Entry bn{"nn.BatchNorm1d", EntryKind::Layer,
           "nn.mean, nn.sub, nn.mul, nn.rsqrt, nn.add (decomposed; buffers updated in train mode)"};
  bn.options = {intOption("num_features").atLeast(1),
                floatOption("eps", 1e-5),
                floatOption("momentum", 0.1).inRange(0, 1),
                boolOption("affine", true),
                boolOption("track_running_stats", true)};
  bn.declare = declareBatchNorm;
  bn.build = buildBatchNorm;
  bn.example = {{"options", {{"num_features", 4}}}, {"input", {3, 4}}};
  r.add(std::move(bn));
}

} // namespace kiln::import
