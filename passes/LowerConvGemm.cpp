// Convolutions with groups == 1 as im2col + GEMM (issue 8, item 4): the
// contractions become the linalg.matmul forms the CPU backend tiles,
// vectorizes and threads (codegen/cpu/TileAndVectorize.cpp), and the
// gathers around them are all-parallel generics, which it threads. The
// model and the C API stay NCHW; the layouts below are internal.
// With C channels in, F out, kernel K = K_1..K_r, output O = O_1..O_r,
// P = N * |O| output pixels, and xp the zero-padded input, every matrix is
// pixel-major (rows of P), so that no GEMM operand is read down columns
// P floats apart (a multiple of 4 KiB for 56 x 56: every load of such a
// column hits one cache set, 33 GFLOP/s instead of > 100):
//   cols [P, C K] = xp[n, c, o * s + k * d]             (im2col, gather)
//   dyP  [P, F]   = dy[n, f, o]                         (gather)
//   forward      Y [P, F] = cols x W^T                  (matmul_transpose_b)
//                y[n, f, o] = Y[(n, o), f] + b[f]       (gather)
//   weight grad  dW [F, C K] = dyP^T cols                (matmul_transpose_a)
//   input grad   dcols [P, C K] = dyP x W               (linalg.matmul)
//                dx[n, c, i] = sum over k of dcols[(n, o), (c, k)] with
//                o = (i + lo - k * d) / s where that divides exactly and
//                is in range (col2im as a gather, one sum per element)
// The column matrices are whole-batch: P x C K floats each (231 MB for
// N32 C64 56x56 3x3), in the runtime's workspace; the gradients share the
// forward's cols (CSE).
// Preconditions: the op verified, static shapes, f32. Other group counts
// fail to match here and take the direct lowering (LowerConv.cpp).
#include "passes/LowerConv.h"
#include "passes/LowerToLinalg.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::conv;

namespace {

using Geometry = shape_rules::ConvGeometry;

/// The benefit over the direct patterns, which match every group count.
constexpr unsigned kGemmBenefit = 2;

/// [0, 1, ..., n - 1] shifted by `from`.
ReassociationIndices range(int64_t from, int64_t n) {
  ReassociationIndices dims;
  for (int64_t i = 0; i < n; ++i)
    dims.push_back(from + i);
  return dims;
}

/// A rank-(1 + 2r + 1) shaped `v` as a matrix: its first `lead` dims
/// merged into rows, the rest into columns.
Value asMatrix(OpBuilder &b, Location loc, Value v, int64_t lead) {
  int64_t rank = typeOf(v).getRank();
  return b.create<tensor::CollapseShapeOp>(
      loc, v,
      ArrayRef<ReassociationIndices>{range(0, lead), range(lead, rank - lead)});
}

/// The inverse of asMatrix: matrix `m` expanded to `shape`, its rows being
/// the first `lead` dims.
Value fromMatrix(OpBuilder &b, Location loc, Value m, ArrayRef<int64_t> shape,
                 int64_t lead) {
  int64_t rank = shape.size();
  return b.create<tensor::ExpandShapeOp>(
      loc, RankedTensorType::get(shape, typeOf(m).getElementType()), m,
      ArrayRef<ReassociationIndices>{range(0, lead), range(lead, rank - lead)});
}

/// An all-parallel generic writing a new tensor of `shape` from `inputs`
/// read through `maps` (the output's map, the identity, is added); `body`
/// yields the element.
Value gather(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
             ValueRange inputs, SmallVector<AffineMap> maps,
             function_ref<void(OpBuilder &, Location, ValueRange)> body) {
  Value init = b.create<tensor::EmptyOp>(loc, shape, b.getF32Type());
  maps.push_back(AffineMap::getMultiDimIdentityMap(shape.size(), b.getContext()));
  SmallVector<utils::IteratorType> iters(shape.size(),
                                         utils::IteratorType::parallel);
  return b
      .create<linalg::GenericOp>(loc, init.getType(), inputs, init, maps, iters,
                                 body)
      .getResult(0);
}

void yieldFirst(OpBuilder &b, Location loc, ValueRange args) {
  b.create<linalg::YieldOp>(loc, args[0]);
}

/// im2col of the padded input xp [N, C, *in] for output size `out` and
/// kernel `kernel`: [P, C K], element ((n, o), (c, k)) = xp[n, c, o * s + k * d].
Value im2col(OpBuilder &b, Location loc, Value xp, const Geometry &g,
             ArrayRef<int64_t> out, ArrayRef<int64_t> kernel) {
  MLIRContext *ctx = b.getContext();
  int64_t r = out.size();
  // Loop dims: n 0, o 1..r, c r + 1, k r + 2..2r + 1.
  SmallVector<int64_t> shape{typeOf(xp).getDimSize(0)};
  shape.append(out.begin(), out.end());
  shape.push_back(typeOf(xp).getDimSize(1));
  shape.append(kernel.begin(), kernel.end());
  SmallVector<AffineExpr> at{getAffineDimExpr(0, ctx), getAffineDimExpr(r + 1, ctx)};
  for (int64_t i = 0; i < r; ++i)
    at.push_back(getAffineDimExpr(1 + i, ctx) * g.stride[i] +
                 getAffineDimExpr(r + 2 + i, ctx) * g.dilation[i]);
  Value cols = gather(b, loc, shape, xp, {AffineMap::get(2 * r + 2, 0, at, ctx)},
                      yieldFirst);
  return asMatrix(b, loc, cols, r + 1);
}

/// dy [N, F, *out] as the matrix [P, F] (channels last): one transposing
/// copy.
Value pixelsMajor(OpBuilder &b, Location loc, Value dy) {
  MLIRContext *ctx = b.getContext();
  auto type = typeOf(dy);
  int64_t rank = type.getRank();
  // Loops (n, o_1..o_r, f).
  SmallVector<int64_t> shape{type.getDimSize(0)};
  shape.append(type.getShape().begin() + 2, type.getShape().end());
  shape.push_back(type.getDimSize(1));
  SmallVector<AffineExpr> at{getAffineDimExpr(0, ctx),
                             getAffineDimExpr(rank - 1, ctx)};
  for (int64_t d = 1; d + 1 < rank; ++d)
    at.push_back(getAffineDimExpr(d, ctx));
  Value t = gather(b, loc, shape, dy, {AffineMap::get(rank, 0, at, ctx)},
                   yieldFirst);
  return asMatrix(b, loc, t, rank - 1);
}

/// w [F, C, *kernel] as the matrix [F, C K].
Value weightMatrix(OpBuilder &b, Location loc, Value w) {
  return asMatrix(b, loc, w, 1);
}

Value zeros(OpBuilder &b, Location loc, int64_t rows, int64_t cols) {
  return filledTensor(b, loc, {rows, cols}, b.getF32Type(),
                      b.getF32FloatAttr(0));
}

ArrayRef<int64_t> spatial(ShapedType t) { return t.getShape().drop_front(2); }

struct ConvGemmLowering : OpConversionPattern<nn::ConvOp> {
  ConvGemmLowering(MLIRContext *ctx)
      : OpConversionPattern(ctx, kGemmBenefit) {}
  LogicalResult
  matchAndRewrite(nn::ConvOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Geometry g = op.getGeometry();
    if (g.groups != 1)
      return failure();
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    auto yType = op.getType();
    auto wType = typeOf(adaptor.getWeight());
    int64_t rank = yType.getRank(), f = yType.getDimSize(1);
    Value cols = im2col(rewriter, loc, padInput(rewriter, loc, adaptor.getInput(), g),
                        g, spatial(yType), spatial(wType));
    Value prod = rewriter
                     .create<linalg::MatmulTransposeBOp>(
                         loc, ValueRange{cols, weightMatrix(rewriter, loc, adaptor.getWeight())},
                         zeros(rewriter, loc, typeOf(cols).getDimSize(0), f))
                     .getResult(0);
    // [P, F] -> [N, *out, F], read transposed into y [N, F, *out] (+ bias).
    SmallVector<int64_t> pixelShape{yType.getDimSize(0)};
    pixelShape.append(yType.getShape().begin() + 2, yType.getShape().end());
    pixelShape.push_back(f);
    SmallVector<Value> inputs{fromMatrix(rewriter, loc, prod, pixelShape, rank - 1)};
    SmallVector<AffineExpr> nof{getAffineDimExpr(0, ctx)};
    for (int64_t d = 2; d < rank; ++d)
      nof.push_back(getAffineDimExpr(d, ctx));
    nof.push_back(getAffineDimExpr(1, ctx));
    SmallVector<AffineMap> maps{AffineMap::get(rank, 0, nof, ctx)};
    if (Value bias = adaptor.getBias()) {
      inputs.push_back(bias);
      maps.push_back(AffineMap::get(rank, 0, getAffineDimExpr(1, ctx)));
    }
    Value y = gather(rewriter, loc, yType.getShape(), inputs, maps,
                     [&](OpBuilder &b, Location l, ValueRange args) {
                       Value v = args[0];
                       if (inputs.size() == 2)
                         v = b.create<arith::AddFOp>(l, v, args[1]);
                       b.create<linalg::YieldOp>(l, v);
                     });
    rewriter.replaceOp(op, y);
    return success();
  }
};

struct ConvBackwardWeightGemmLowering
    : OpConversionPattern<nn::ConvBackwardWeightOp> {
  ConvBackwardWeightGemmLowering(MLIRContext *ctx)
      : OpConversionPattern(ctx, kGemmBenefit) {}
  LogicalResult
  matchAndRewrite(nn::ConvBackwardWeightOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Geometry g = op.getGeometry();
    if (g.groups != 1)
      return failure();
    Location loc = op.getLoc();
    auto wType = op.getType();
    auto dyType = typeOf(adaptor.getGradOutput());
    Value cols = im2col(rewriter, loc, padInput(rewriter, loc, adaptor.getInput(), g),
                        g, spatial(dyType), spatial(wType));
    Value dyP = pixelsMajor(rewriter, loc, adaptor.getGradOutput());
    int64_t f = wType.getDimSize(0), ck = typeOf(cols).getDimSize(1);
    // F rows, C K columns: F is a multiple of 8 in most networks, and C K
    // up to 32 is one vector, so the backend vectorizes the 3-channel stem
    // too (C K = 27 rows would not be; measured 92 ms vs 5 ms forward).
    Value dw = rewriter
                   .create<linalg::MatmulTransposeAOp>(loc, ValueRange{dyP, cols},
                                                       zeros(rewriter, loc, f, ck))
                   .getResult(0);
    rewriter.replaceOp(op, fromMatrix(rewriter, loc, dw, wType.getShape(), 1));
    return success();
  }
};

struct ConvBackwardInputGemmLowering
    : OpConversionPattern<nn::ConvBackwardInputOp> {
  ConvBackwardInputGemmLowering(MLIRContext *ctx)
      : OpConversionPattern(ctx, kGemmBenefit) {}
  LogicalResult
  matchAndRewrite(nn::ConvBackwardInputOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Geometry g = op.getGeometry();
    if (g.groups != 1)
      return failure();
    Location loc = op.getLoc();
    auto xType = op.getType();
    auto dyType = typeOf(adaptor.getGradOutput());
    auto wType = typeOf(adaptor.getWeight());
    int64_t r = xType.getRank() - 2;
    Value dyP = pixelsMajor(rewriter, loc, adaptor.getGradOutput());
    Value wM = weightMatrix(rewriter, loc, adaptor.getWeight());
    Value dcols = rewriter
                      .create<linalg::MatmulOp>(
                          loc, ValueRange{dyP, wM},
                          zeros(rewriter, loc, typeOf(dyP).getDimSize(0),
                                typeOf(wM).getDimSize(1)))
                      .getResult(0);
    // [P, C K] -> [N, *out, C, *kernel].
    ArrayRef<int64_t> kernel = spatial(wType), out = spatial(dyType);
    SmallVector<int64_t> colsShape{xType.getDimSize(0)};
    colsShape.append(out.begin(), out.end());
    colsShape.push_back(xType.getDimSize(1));
    colsShape.append(kernel.begin(), kernel.end());
    Value cols = fromMatrix(rewriter, loc, dcols, colsShape, r + 1);
    // col2im: loops (n, i_1..i_r, c), c innermost so that consecutive
    // iterations read along one dcols row (a pixel's columns) rather than
    // down a column (one float per row: 14 GB of cache traffic for the
    // 56 x 56 benchmark); dx is written through the permuted map. Every
    // kernel offset is summed in the body (unrolled: the kernel is static),
    // so the generic stays all-parallel.
    int64_t offsets = 1;
    for (int64_t k : kernel)
      offsets *= k;
    auto body = [&](OpBuilder &b, Location l, ValueRange) {
      Value nIdx = b.create<linalg::IndexOp>(l, 0);
      Value cIdx = b.create<linalg::IndexOp>(l, r + 1);
      // t_i = i + lo (the padded coordinate), shared by every offset.
      SmallVector<Value> t;
      for (int64_t i = 0; i < r; ++i) {
        Value v = b.create<linalg::IndexOp>(l, 1 + i);
        if (g.padLow[i] != 0)
          v = b.create<arith::AddIOp>(l, v, indexConst(b, l, g.padLow[i]));
        t.push_back(v);
      }
      Value sum = f32Const(b, l, 0);
      for (int64_t flat = 0; flat < offsets; ++flat) {
        // The offset's kernel index per dim (the last varies fastest).
        SmallVector<int64_t> k(r);
        for (int64_t i = r - 1, rest = flat; i >= 0; --i) {
          k[i] = rest % kernel[i];
          rest /= kernel[i];
        }
        Value valid;
        SmallVector<Value> at{nIdx};
        for (int64_t i = 0; i < r; ++i) {
          // o = (t - k d) / s when t - k d >= 0, s | t - k d, o < out.
          Value v = t[i];
          if (k[i] * g.dilation[i] != 0)
            v = b.create<arith::SubIOp>(l, v, indexConst(b, l, k[i] * g.dilation[i]));
          valid = andOf(b, l, valid, cmpIndex(b, l, arith::CmpIPredicate::sge, v, 0));
          if (g.stride[i] != 1) {
            Value s = indexConst(b, l, g.stride[i]);
            valid = andOf(b, l, valid,
                          cmpIndex(b, l, arith::CmpIPredicate::eq,
                                   b.create<arith::RemSIOp>(l, v, s), 0));
            v = b.create<arith::DivSIOp>(l, v, s);
          }
          valid = andOf(b, l, valid,
                        cmpIndex(b, l, arith::CmpIPredicate::slt, v, out[i]));
          at.push_back(v);
        }
        for (int64_t i = 0; i < r; ++i)
          at[1 + i] = b.create<arith::SelectOp>(l, valid, at[1 + i],
                                                indexConst(b, l, 0));
        at.push_back(cIdx);
        for (int64_t i = 0; i < r; ++i)
          at.push_back(indexConst(b, l, k[i]));
        Value v = b.create<tensor::ExtractOp>(l, cols, at);
        sum = b.create<arith::AddFOp>(
            l, sum, b.create<arith::SelectOp>(l, valid, v, f32Const(b, l, 0)));
      }
      b.create<linalg::YieldOp>(l, sum);
    };
    MLIRContext *ctx = rewriter.getContext();
    SmallVector<AffineExpr> nci{getAffineDimExpr(0, ctx),
                                getAffineDimExpr(r + 1, ctx)};
    for (int64_t i = 0; i < r; ++i)
      nci.push_back(getAffineDimExpr(1 + i, ctx));
    Value init = rewriter.create<tensor::EmptyOp>(loc, xType.getShape(),
                                                  rewriter.getF32Type());
    SmallVector<utils::IteratorType> iters(r + 2, utils::IteratorType::parallel);
    rewriter.replaceOpWithNewOp<linalg::GenericOp>(
        op, xType, ValueRange(), init,
        ArrayRef<AffineMap>{AffineMap::get(r + 2, 0, nci, ctx)}, iters, body);
    return success();
  }
};

} // namespace

void kiln::conv::populateGemmPatterns(RewritePatternSet &patterns) {
  patterns.add<ConvGemmLowering, ConvBackwardWeightGemmLowering,
               ConvBackwardInputGemmLowering>(patterns.getContext());
}
