// Target-independent Kiln passes and the training pipeline.
#ifndef KILN_PASSES_PASSES_H
#define KILN_PASSES_PASSES_H

#include "ir/NNDialect.h"
#include "passes/ConvLowering.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

namespace kiln {

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

/// Result attribute nn-autodiff puts on the gradient of a parameter the loss
/// does not reach through differentiable ops (torch's grad None): the
/// returned zeros are a placeholder and nn-build-train-step leaves the
/// parameter out of every optimizer group, as torch's step skips it.
inline constexpr llvm::StringLiteral kNoGradientAttr = "nn.no_gradient";

/// Forward + loss -> gradients -> one flat train_step function, at nn level.
void buildTrainingPipeline(mlir::OpPassManager &pm);

/// nn -> linalg on tensors, target independent (every backend starts from
/// its output): composites decomposed, nn ops lowered, elementwise chains
/// fused.
/// `bucketBytes`: nn-bucket-all-reduce's cap of every bucket after the first
/// (0: DDP's 25 MiB); the first holds at most min(1 MiB, bucketBytes).
/// `conv`: how f32 convolutions lower (the backend's choice:
/// Backend::convolutions).
void buildLowerToLinalgPipeline(mlir::OpPassManager &pm, bool remarks = false,
                                int64_t bucketBytes = 0,
                                ConvLowering conv = ConvLowering::Library);

} // namespace kiln

#endif // KILN_PASSES_PASSES_H
