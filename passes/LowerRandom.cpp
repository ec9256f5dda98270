// Lowering of the random family: nn.random_uniform becomes one elementwise
// linalg.generic that evaluates Philox-4x32-10 (Salmon et al., "Parallel
// random numbers: as easy as 1, 2, 3", SC'11) per element. Counter-based,
// so every element is independent of the others: the loop tiles, vectorizes
// and splits over threads like any other elementwise op, and a CUDA backend
// gets the same stream from the same linalg.
#include "passes/LowerToLinalg.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::nn;

namespace {

// Philox-4x32 constants (Random123): round multipliers and key increments.
constexpr uint32_t kPhiloxM0 = 0xD2511F53, kPhiloxM1 = 0xCD9E8D57;
constexpr uint32_t kPhiloxW0 = 0x9E3779B9, kPhiloxW1 = 0xBB67AE85;
constexpr int kPhiloxRounds = 10;

Value i32Const(OpBuilder &b, Location loc, uint32_t v) {
  return b.create<arith::ConstantOp>(loc, b.getI32IntegerAttr(static_cast<int32_t>(v)));
}

Value i64Const(OpBuilder &b, Location loc, int64_t v) {
  return b.create<arith::ConstantOp>(loc, b.getI64IntegerAttr(v));
}

/// Low and high 32-bit words of an i64.
std::pair<Value, Value> split64(OpBuilder &b, Location loc, Value v) {
  auto i32 = b.getI32Type();
  Value lo = b.create<arith::TruncIOp>(loc, i32, v);
  Value hi = b.create<arith::TruncIOp>(
      loc, i32, b.create<arith::ShRUIOp>(loc, v, i64Const(b, loc, 32)));
  return {lo, hi};
}

/// The first output word of Philox-4x32-10 for counter (c0, c1, 0, 0) and
/// key (k0, k1). Each round:
///   (hi0, lo0) = M0 * c0;  (hi1, lo1) = M1 * c2
///   c = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0);  k += (W0, W1)
Value philoxWord0(OpBuilder &b, Location loc, Value c0, Value c1, Value k0,
                  Value k1) {
  Value zero = i32Const(b, loc, 0);
  Value c[4] = {c0, c1, zero, zero};
  Value m0 = i32Const(b, loc, kPhiloxM0), m1 = i32Const(b, loc, kPhiloxM1);
  Value w0 = i32Const(b, loc, kPhiloxW0), w1 = i32Const(b, loc, kPhiloxW1);
  for (int round = 0; round < kPhiloxRounds; ++round) {
    if (round > 0) {
      k0 = b.create<arith::AddIOp>(loc, k0, w0);
      k1 = b.create<arith::AddIOp>(loc, k1, w1);
    }
    auto p0 = b.create<arith::MulUIExtendedOp>(loc, m0, c[0]);
    auto p1 = b.create<arith::MulUIExtendedOp>(loc, m1, c[2]);
    Value next[4] = {
        b.create<arith::XOrIOp>(loc, b.create<arith::XOrIOp>(loc, p1.getHigh(), c[1]), k0),
        p1.getLow(),
        b.create<arith::XOrIOp>(loc, b.create<arith::XOrIOp>(loc, p0.getHigh(), c[3]), k1),
        p0.getLow()};
    std::copy(std::begin(next), std::end(next), std::begin(c));
  }
  return c[0];
}

struct RandomUniformLowering : OpConversionPattern<RandomUniformOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(RandomUniformOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = op.getResult().getType();
    auto shape = type.getShape();
    // The state is read once, outside the loop.
    auto element = [&](int64_t i) {
      Value idx = rewriter.create<arith::ConstantIndexOp>(loc, i);
      return rewriter.create<tensor::ExtractOp>(loc, adaptor.getRng(), idx).getResult();
    };
    Value seed = element(0);
    Value start = rewriter.create<arith::AddIOp>(loc, element(1),
                                                 i64Const(rewriter, loc, op.getOffset()));
    Value k0, k1;
    std::tie(k0, k1) = split64(rewriter, loc, seed);

    int64_t rank = type.getRank();
    SmallVector<int64_t> strides(rank, 1);
    for (int64_t d = rank - 2; d >= 0; --d)
      strides[d] = strides[d + 1] * shape[d + 1];
    Value init = rewriter.create<tensor::EmptyOp>(loc, shape, rewriter.getF32Type());
    SmallVector<AffineMap> maps{rewriter.getMultiDimIdentityMap(rank)};
    SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::parallel);
    auto generic = rewriter.create<linalg::GenericOp>(
        loc, type, ValueRange{}, ValueRange{init}, maps, iterators,
        [&](OpBuilder &b, Location l, ValueRange) {
          // Row-major position of this element.
          Value linear = b.create<arith::ConstantIndexOp>(l, 0);
          for (int64_t d = 0; d < rank; ++d) {
            Value term = b.create<arith::MulIOp>(
                l, b.create<linalg::IndexOp>(l, d),
                b.create<arith::ConstantIndexOp>(l, strides[d]));
            linear = b.create<arith::AddIOp>(l, linear, term);
          }
          Value counter = b.create<arith::AddIOp>(
              l, start, b.create<arith::IndexCastOp>(l, b.getI64Type(), linear));
          auto [c0, c1] = split64(b, l, counter);
          Value word = philoxWord0(b, l, c0, c1, k0, k1);
          // 24 random bits: exactly representable, so u < 1 always.
          Value bits = b.create<arith::ShRUIOp>(l, word, i32Const(b, l, 8));
          Value u = b.create<arith::MulFOp>(
              l, b.create<arith::UIToFPOp>(l, b.getF32Type(), bits),
              f32Const(b, l, 0x1.0p-24));
          b.create<linalg::YieldOp>(l, u);
        });
    rewriter.replaceOp(op, generic.getResults());
    return success();
  }
};

} // namespace

void kiln::populateLowerRandomPatterns(RewritePatternSet &patterns) {
  patterns.add<RandomUniformLowering>(patterns.getContext());
}
