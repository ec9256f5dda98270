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
    Location loc = op.getLoc();
    int64_t total = 0;
    for (Value v : adaptor.getInputs())
      total += typeOf(v).getNumElements();
    auto flatType = RankedTensorType::get({total}, rewriter.getF32Type());
    Value flat = rewriter.create<tensor::EmptyOp>(loc, flatType.getShape(),
                                                  flatType.getElementType());
    int64_t offset = 0;
    for (Value v : adaptor.getInputs()) {
      int64_t n = typeOf(v).getNumElements();
      Value piece = reshapeTensor(
          rewriter, loc, v, RankedTensorType::get({n}, rewriter.getF32Type()));
      flat = rewriter.create<tensor::InsertSliceOp>(
          loc, piece, flat, ArrayRef<OpFoldResult>{rewriter.getIndexAttr(offset)},
          ArrayRef<OpFoldResult>{rewriter.getIndexAttr(n)},
          ArrayRef<OpFoldResult>{rewriter.getIndexAttr(1)});
      offset += n;
    }
    Value averaged =
        libraryCall(rewriter, loc, "kiln_all_reduce_mean", {total}, {flat}, flatType);
    SmallVector<Value> results;
    offset = 0;
    for (Value v : adaptor.getInputs()) {
      int64_t n = typeOf(v).getNumElements();
      Value piece = rewriter.create<tensor::ExtractSliceOp>(
          loc, RankedTensorType::get({n}, rewriter.getF32Type()), averaged,
          ArrayRef<OpFoldResult>{rewriter.getIndexAttr(offset)},
          ArrayRef<OpFoldResult>{rewriter.getIndexAttr(n)},
          ArrayRef<OpFoldResult>{rewriter.getIndexAttr(1)});
      results.push_back(reshapeTensor(rewriter, loc, piece, typeOf(v)));
      offset += n;
    }
    rewriter.replaceOp(op, results);
    return success();
  }
};

} // namespace

void kiln::populateLowerDistributedPatterns(RewritePatternSet &patterns) {
  patterns.add<AllReduceLowering>(patterns.getContext());
}
