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

// A bucket's start: its tensors end to end into one flat tensor, which the
// runtime divides by the world size into the in-flight buffer and hands to
// the communicator's thread (kiln_all_reduce_start).
struct AllReduceStartLowering : OpConversionPattern<AllReduceStartOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(AllReduceStartOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto flatType = typeOf(op.getInFlight());
    Value flat = concatenate(rewriter, loc, adaptor.getInputs());
    rewriter.replaceOp(op, libraryCall(rewriter, loc, "kiln_all_reduce_start",
                                       {flatType.getNumElements(), static_cast<int64_t>(op.getBucket())}, {flat},
                                       flatType));
    return success();
  }
};

// A bucket's wait: the runtime blocks until the in-flight buffer holds the
// average (kiln_all_reduce_wait writes it into the output, the in-flight
// buffer itself when bufferization keeps it in place), then the tensors
// are slices of it.
struct AllReduceWaitLowering : OpConversionPattern<AllReduceWaitOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(AllReduceWaitOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value inFlight = adaptor.getInFlight();
    Value done = rewriter
                     .create<nn::LibraryCallOp>(
                         loc, TypeRange{inFlight.getType()},
                         rewriter.getStringAttr("kiln_all_reduce_wait"),
                         rewriter.getDenseI64ArrayAttr(
                             {typeOf(inFlight).getNumElements(), static_cast<int64_t>(op.getBucket())}),
                         ValueRange{}, ValueRange{inFlight})
                     .getResult(0);
    rewriter.replaceOp(op, split(rewriter, loc, done, op.getResultTypes()));
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

Value kiln::concatenate(OpBuilder &b, Location loc, ValueRange tensors) {
  int64_t total = 0;
  for (Value v : tensors)
    total += typeOf(v).getNumElements();
  Value flat = b.create<tensor::EmptyOp>(loc, ArrayRef<int64_t>{total}, b.getF32Type());
  int64_t offset = 0;
  for (Value v : tensors) {
    int64_t n = typeOf(v).getNumElements();
    flat = b.create<tensor::InsertSliceOp>(
        loc, reshapeTensor(b, loc, v, RankedTensorType::get({n}, b.getF32Type())), flat,
        ArrayRef<OpFoldResult>{b.getIndexAttr(offset)}, ArrayRef<OpFoldResult>{b.getIndexAttr(n)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
    offset += n;
  }
  return flat;
}

SmallVector<Value> kiln::split(OpBuilder &b, Location loc, Value flat, TypeRange types) {
  SmallVector<Value> results;
  int64_t offset = 0;
  for (Type t : types) {
    auto type = cast<RankedTensorType>(t);
    int64_t n = type.getNumElements();
    Value piece = b.create<tensor::ExtractSliceOp>(
        loc, RankedTensorType::get({n}, b.getF32Type()), flat,
        ArrayRef<OpFoldResult>{b.getIndexAttr(offset)}, ArrayRef<OpFoldResult>{b.getIndexAttr(n)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
    results.push_back(reshapeTensor(b, loc, piece, type));
    offset += n;
  }
  return results;
}

SmallVector<Value> kiln::collective(OpBuilder &b, Location loc, StringRef callee,
                                    ValueRange tensors) {
  Value flat = concatenate(b, loc, tensors);
  Value reduced = libraryCall(b, loc, callee, {typeOf(flat).getNumElements()}, {flat},
                              typeOf(flat));
  return split(b, loc, reduced, tensors.getTypes());
}

void kiln::populateLowerDistributedPatterns(RewritePatternSet &patterns) {
  patterns.add<AllReduceLowering, AllReduceStartLowering, AllReduceWaitLowering,
               WorldSizeLowering>(patterns.getContext());
}
