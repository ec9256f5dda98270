// Lowering of the collectives (NNDistributedOps.td) to runtime calls.
#include "passes/LowerToLinalg.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::nn;

namespace {

// One bucket = one message: the operands are copied end to end into a flat
// tensor, the runtime averages it over the processes
// (kiln_all_reduce_mean, runtime/lib/comm.cpp), and each result is a slice
// of the flat result, reshaped back (a view after bufferization).
struct AllReduceLowering : OpConversionPattern<AllReduceOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(AllReduceOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, collective(rewriter, op.getLoc(), "kiln_all_reduce_mean",
                                      adaptor.getInputs()));
    return success();
  }
};

// The runtime's answer in a [1] tensor (kiln_world_size), as a scalar.
struct WorldSizeLowering : OpConversionPattern<WorldSizeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(WorldSizeOp op, OpAdaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value one = libraryCall(rewriter, loc, "kiln_world_size", {1}, {},
                            RankedTensorType::get({1}, rewriter.getF32Type()));
    rewriter.replaceOp(op, reshapeTensor(rewriter, loc, one, typeOf(op.getResult())));
    return success();
  }
};

} // namespace

SmallVector<Value> kiln::collective(OpBuilder &b, Location loc, StringRef callee,
                                    ValueRange tensors) {
  int64_t total = 0;
  for (Value v : tensors)
    total += typeOf(v).getNumElements();
  auto flatType = RankedTensorType::get({total}, b.getF32Type());
  Value flat = b.create<tensor::EmptyOp>(loc, flatType.getShape(), flatType.getElementType());
  auto pieceType = [&](int64_t n) { return RankedTensorType::get({n}, b.getF32Type()); };
  int64_t offset = 0;
  for (Value v : tensors) {
    int64_t n = typeOf(v).getNumElements();
    flat = b.create<tensor::InsertSliceOp>(
        loc, reshapeTensor(b, loc, v, pieceType(n)), flat,
        ArrayRef<OpFoldResult>{b.getIndexAttr(offset)}, ArrayRef<OpFoldResult>{b.getIndexAttr(n)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
    offset += n;
  }
  Value reduced = libraryCall(b, loc, callee, {total}, {flat}, flatType);
  SmallVector<Value> results;
  offset = 0;
  for (Value v : tensors) {
    int64_t n = typeOf(v).getNumElements();
    Value piece = b.create<tensor::ExtractSliceOp>(
        loc, pieceType(n), reduced, ArrayRef<OpFoldResult>{b.getIndexAttr(offset)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(n)}, ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
    results.push_back(reshapeTensor(b, loc, piece, typeOf(v)));
    offset += n;
  }
  return results;
}

void kiln::populateLowerDistributedPatterns(RewritePatternSet &patterns) {
  patterns.add<AllReduceLowering, WorldSizeLowering>(patterns.getContext());
}
