// Shared helpers of the nn -> linalg lowering (one .cpp per op family).
// Preconditions: static shapes, f32 data (i64 for class indices / steps).
#ifndef KILN_PASSES_LOWERTOLINALG_H
#define KILN_PASSES_LOWERTOLINALG_H

#include "passes/Passes.h"
#include "mlir/Transforms/DialectConversion.h"

namespace kiln {

/// Body builder of an elementwise generic: block args of the inputs (then
/// the outputs) -> yielded values.
using ElementwiseBody = llvm::function_ref<llvm::SmallVector<mlir::Value>(
    mlir::OpBuilder &, mlir::Location, mlir::ValueRange)>;

/// A linalg.generic over `shape` reading `inputs` with torch broadcasting
/// (rank-0 and size-1 dimensions stretch) and producing `numResults`
/// tensors of `shape` and `elementType` (default f32).
mlir::ValueRange broadcastElementwise(mlir::OpBuilder &b, mlir::Location loc,
                                      llvm::ArrayRef<int64_t> shape,
                                      mlir::ValueRange inputs,
                                      ElementwiseBody body,
                                      unsigned numResults = 1,
                                      mlir::Type elementType = {});

/// A tensor of `shape` filled with `value`.
mlir::Value filledTensor(mlir::OpBuilder &b, mlir::Location loc,
                         llvm::ArrayRef<int64_t> shape, mlir::Type elementType,
                         mlir::TypedAttr value);

/// Reduces `input` over the dimensions in `reduced` (sorted) with `combine`
/// starting from `init`; the result drops those dimensions.
mlir::Value reduceDims(mlir::OpBuilder &b, mlir::Location loc,
                       mlir::Value input, llvm::ArrayRef<int64_t> reduced,
                       mlir::TypedAttr init,
                       llvm::function_ref<mlir::Value(mlir::OpBuilder &,
                                                      mlir::Location,
                                                      mlir::Value input,
                                                      mlir::Value acc)>
                           combine);

/// reduceDims for an associative and commutative `combine` (a sum, a max, a
/// min: it also folds the lanes' partial results). When the last dimension
/// is reduced and is a multiple of kReductionLanes, at least two of them,
/// it is viewed as [S / kReductionLanes, kReductionLanes] and every output
/// keeps kReductionLanes partial results, folded after: the innermost loop
/// is then parallel and LLVM vectorizes it with the additions in the IR's
/// order (the same in every function, so bit-for-bit contracts between
/// entry points hold). Otherwise exactly reduceDims.
mlir::Value reduceDimsInLanes(
    mlir::OpBuilder &b, mlir::Location loc, mlir::Value input,
    llvm::ArrayRef<int64_t> reduced, mlir::TypedAttr init,
    llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location,
                                   mlir::Value input, mlir::Value acc)>
        combine);

/// Partial results per output in reduceDimsInLanes (a 512-bit vector of
/// f32).
constexpr int64_t kReductionLanes = 16;

/// Reassociation for expanding a shape without the dropped unit dims back to
/// `fullRank` dims (`kept[i]`: dim i survives); empty when nothing is kept.
llvm::SmallVector<mlir::ReassociationIndices>
unitDimReassociation(llvm::ArrayRef<bool> kept);

/// A scalar (rank-0 tensor) read as a value.
mlir::Value extractScalar(mlir::OpBuilder &b, mlir::Location loc,
                          mlir::Value scalarTensor);
/// A value as a rank-0 tensor.
mlir::Value toScalarTensor(mlir::OpBuilder &b, mlir::Location loc,
                           mlir::Value scalar);

mlir::Value f32Const(mlir::OpBuilder &b, mlir::Location loc, double v);

/// `v` reshaped to `to` (same number of elements) through a 1-D tensor:
/// always expressible with collapse/expand, and free after bufferization.
mlir::Value reshapeTensor(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v,
                          mlir::RankedTensorType to);

/// nn.library_call of the runtime routine `callee` with `params`, reading
/// `inputs` and writing a new tensor of `type` (its result): what a lowering
/// to a runtime routine emits (LowerConvLibrary.cpp, LowerCtc.cpp).
mlir::Value libraryCall(mlir::OpBuilder &b, mlir::Location loc,
                        llvm::StringRef callee, llvm::ArrayRef<int64_t> params,
                        mlir::ValueRange inputs, mlir::RankedTensorType type);

/// The f32 `tensors` copied end to end into one flat tensor, reduced over
/// the data-parallel group by the runtime routine `callee`
/// (kiln_all_reduce_mean or kiln_all_reduce_sum: one message), and split
/// back into tensors of their types (passes/LowerDistributed.cpp).
llvm::SmallVector<mlir::Value> collective(mlir::OpBuilder &b, mlir::Location loc,
                                          llvm::StringRef callee, mlir::ValueRange tensors);
/// The f32 `tensors` end to end in one flat [total] tensor, and back.
mlir::Value concatenate(mlir::OpBuilder &b, mlir::Location loc, mlir::ValueRange tensors);
llvm::SmallVector<mlir::Value> split(mlir::OpBuilder &b, mlir::Location loc, mlir::Value flat,
                                     mlir::TypeRange types);

inline mlir::RankedTensorType typeOf(mlir::Value v) {
  return mlir::cast<mlir::RankedTensorType>(v.getType());
}

void populateLowerLinearPatterns(mlir::RewritePatternSet &patterns);
/// The direct loops (LowerConv.cpp) for every convolution, and above them
/// the runtime calls (Library: LowerConvLibrary.cpp) or im2col + GEMM
/// (Gemm: LowerConvGemm.cpp) where those apply.
void populateLowerConvPatterns(mlir::RewritePatternSet &patterns,
                               ConvLowering lowering = ConvLowering::Library);
void populateLowerPoolPatterns(mlir::RewritePatternSet &patterns);
void populateLowerFractionalPoolPatterns(mlir::RewritePatternSet &patterns);
void populateLowerActivationPatterns(mlir::RewritePatternSet &patterns);
void populateLowerElementwisePatterns(mlir::RewritePatternSet &patterns);
void populateLowerTensorOpsPatterns(mlir::RewritePatternSet &patterns);
void populateLowerIndexPatterns(mlir::RewritePatternSet &patterns);
void populateLowerLossesPatterns(mlir::RewritePatternSet &patterns);
/// nn.ctc_loss(_backward) as runtime calls (LowerCtc.cpp).
void populateLowerCtcPatterns(mlir::RewritePatternSet &patterns);
void populateLowerDistributedPatterns(mlir::RewritePatternSet &patterns);
void populateLowerNormPatterns(mlir::RewritePatternSet &patterns);
void populateLowerOptimizersPatterns(mlir::RewritePatternSet &patterns);
void populateLowerRandomPatterns(mlir::RewritePatternSet &patterns);

} // namespace kiln

#endif // KILN_PASSES_LOWERTOLINALG_H
