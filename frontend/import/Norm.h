// What the normalization layers share (BatchNorm.cpp, InstanceNorm.cpp,
// Normalization.cpp): they are composites of primitive nn ops, so autodiff
// and the lowering see only mean, sub, mul, rsqrt, add.
#ifndef KILN_FRONTEND_IMPORT_NORM_H
#define KILN_FRONTEND_IMPORT_NORM_H

#include "frontend/import/Registry.h"

#include "ir/NNBuilders.h"

namespace kiln::import {

void registerBatchNormEntries(Registry &r);
void registerInstanceNormEntries(Registry &r);

inline std::string normStr(int64_t v) { return std::to_string(v); }

inline Init normOnes() { return Init{Init::Ones, 0, 0}; }

/// A per-channel [C] value viewed as [C, 1, ..., 1] so that it broadcasts
/// against an [N, C, *] input of `rank` dimensions (channel dimension 1).
inline mlir::Value channelView(BuildContext &c, mlir::Value v, size_t rank) {
  llvm::SmallVector<int64_t> shape{nn::shapeOf(v)[0]};
  shape.append(rank - 2, 1);
  return nn::reshapeTo(c.builder(), c.loc(), v,
                       nn::f32Tensor(c.builder().getContext(), shape));
}

/// `v` (any shape with C elements) as a [C] vector.
inline mlir::Value asVector(BuildContext &c, mlir::Value v, int64_t channels) {
  return nn::reshapeTo(c.builder(), c.loc(), v,
                       nn::f32Tensor(c.builder().getContext(), {channels}));
}

/// Mean of x over `dims`, keeping them as size 1.
inline mlir::Value meanKeep(BuildContext &c, mlir::Value x,
                            llvm::ArrayRef<int64_t> dims) {
  mlir::OpBuilder &b = c.builder();
  return c.create<nn::MeanOp>(x, b.getDenseI64ArrayAttr(dims), b.getUnitAttr());
}

/// (x - mean) * rsqrt(var + eps) with mean and the biased variance of x
/// over `dims` (torch's normalisation; the variance as the mean of squared
/// deviations). `meanOut` / `varOut` receive the statistics (kept dims).
inline mlir::Value normalizeOver(BuildContext &c, mlir::Value x,
                                 llvm::ArrayRef<int64_t> dims, double eps,
                                 mlir::Value *meanOut = nullptr,
                                 mlir::Value *varOut = nullptr) {
  mlir::Value mean = meanKeep(c, x, dims);
  mlir::Value centered = c.create<nn::SubOp>(x, mean);
  mlir::Value var = meanKeep(c, c.create<nn::MulOp>(centered, centered), dims);
  if (meanOut)
    *meanOut = mean;
  if (varOut)
    *varOut = var;
  mlir::Value invStd = c.create<nn::RsqrtOp>(
      c.create<nn::AddOp>(var, nn::scalarConstant(c.builder(), c.loc(), eps)));
  return c.create<nn::MulOp>(centered, invStd);
}

/// (x - mean) * rsqrt(var + eps) with given statistics (running stats).
inline mlir::Value normalizeWith(BuildContext &c, mlir::Value x,
                                 mlir::Value mean, mlir::Value var, double eps) {
  mlir::Value invStd = c.create<nn::RsqrtOp>(
      c.create<nn::AddOp>(var, nn::scalarConstant(c.builder(), c.loc(), eps)));
  return c.create<nn::MulOp>(c.create<nn::SubOp>(x, mean), invStd);
}

/// Sets the running statistics to torch's update (batch_norm_cpu's
///   running = (1 - factor) * running + factor * batch
/// with the unbiased batch variance, var * n / (n - 1)). `mean` and `var`
/// have C elements; `factor` is an f32 scalar tensor.
inline void updateRunningStats(BuildContext &c, mlir::Value mean, mlir::Value var,
                               int64_t n, mlir::Value factor, int64_t channels) {
  mlir::OpBuilder &b = c.builder();
  mlir::Location loc = c.loc();
  mlir::Value keep = c.create<nn::SubOp>(nn::scalarConstant(b, loc, 1.0), factor);
  auto blend = [&](const char *name, mlir::Value batch) {
    mlir::Value decayed = c.create<nn::MulOp>(c.buffer(name), keep);
    mlir::Value fresh = c.create<nn::MulOp>(asVector(c, batch, channels), factor);
    c.setBuffer(name, c.create<nn::AddOp>(decayed, fresh));
  };
  blend("running_mean", mean);
  mlir::Value unbiased = c.create<nn::MulOp>(
      var, nn::scalarConstant(b, loc, static_cast<double>(n) / static_cast<double>(n - 1)));
  blend("running_var", unbiased);
}

/// The declarations of _NormBase: weight (ones) and bias (zeros) [C] when
/// `affine`; running_mean (zeros), running_var (ones) [C] and the int64
/// scalar num_batches_tracked when tracking, in torch's state_dict order.
inline void declareNormBase(LayerDecl &decl, int64_t channels, bool affine,
                            bool tracking) {
  if (affine) {
    decl.addParameter("weight", {channels}, normOnes());
    decl.addParameter("bias", {channels}, Init());
  }
  if (tracking) {
    decl.addBuffer("running_mean", {channels}, Init());
    decl.addBuffer("running_var", {channels}, normOnes());
    decl.addBuffer("num_batches_tracked", {}, Init(), /*isInt64=*/true);
  }
}

/// The num_features option; a lazy layer's is 0 when the DSL's forward
/// never called it (its size is unknown).
inline int64_t numFeatures(const Options &o, const std::string &layer) {
  int64_t c = o.getInt("num_features");
  if (c == 0)
    fail(o.pathOf("num_features"),
         layer + " was never called in the traced forward: its num_features, taken from "
                 "its first input, is unknown");
  return c;
}

/// The functional forms' optional [C] operand `index` (F.batch_norm's and
/// F.instance_norm's running_mean, running_var, weight, bias), or null
/// when the call has fewer operands.
inline mlir::Value channelOperand(BuildContext &c, unsigned index, const char *name,
                                  int64_t channels) {
  if (c.operands().size() <= index)
    return {};
  mlir::Value v = c.operands()[index];
  if (nn::shapeOf(v) != llvm::ArrayRef<int64_t>{channels})
    c.fail(std::string(name) + " (input " + normStr(index) + ") must be [" +
           normStr(channels) + "] for the input's " + normStr(channels) +
           " channels, got " + nn::shapeStr(nn::shapeOf(v)));
  return v;
}

/// y * weight + bias per channel for the functional forms, each when given.
inline mlir::Value affineOperands(BuildContext &c, mlir::Value y, size_t rank,
                                  mlir::Value weight, mlir::Value bias) {
  if (weight)
    y = c.create<nn::MulOp>(y, channelView(c, weight, rank));
  if (bias)
    y = c.create<nn::AddOp>(y, channelView(c, bias, rank));
  return y;
}

/// y * weight + bias per channel, when the layer has them.
inline mlir::Value affinePerChannel(BuildContext &c, mlir::Value y, size_t rank) {
  mlir::Value w = c.parameter("weight");
  if (!w)
    return y;
  return c.create<nn::AddOp>(c.create<nn::MulOp>(y, channelView(c, w, rank)),
                             channelView(c, c.parameter("bias"), rank));
}

} // namespace kiln::import

#endif // KILN_FRONTEND_IMPORT_NORM_H
