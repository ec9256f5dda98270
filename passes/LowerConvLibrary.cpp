// Convolutions (any group count) as calls of the runtime's convolution
// routines (issue 8, item 4): nn.conv, nn.conv_backward_input and
// nn.conv_backward_weight each become one nn.library_call of
// kiln_sconv_forward / _backward_input / _backward_weight
// (runtime/lib/conv.cpp), on the NCHW tensors themselves, with the
// geometry as the call's parameters. The runtime builds the im2col columns
// of one block of output pixels at a time, in cache, and multiplies them
// with its packed GEMM (one per group; depthwise convolutions take direct
// loops); the zero padding is never materialised.
// What this replaced: im2col of the whole batch + a linalg.matmul + gathers
// between NCHW and a pixel-major layout (231 MB of columns for a 56 x 56 x 64
// layer of batch 32; the gathers cost W3 more than its GEMMs).
// Preconditions: the op verified (groups divide both channel counts),
// static shapes, f32. Other element types and more than 3 spatial
// dimensions fail to match here and take the direct lowering (LowerConv.cpp).
#include "passes/LowerConv.h"
#include "passes/LowerToLinalg.h"

#include "ir/NNDialect.h"

using namespace mlir;
using namespace kiln;

namespace {

using Geometry = shape_rules::ConvGeometry;

/// The benefit over the direct patterns, which match every group count.
constexpr unsigned kLibraryBenefit = 2;

/// The runtime's 22-value geometry (kiln/runtime.h, KILN_CONV_GEOMETRY_SIZE)
/// of a convolution of x [N, C, *in] with w [F, C / groups, *kernel] giving
/// [N, F, *out]; fewer than 3 spatial dims fill the leading ones with 1
/// (padding 0); the group count last. Empty when the convolution is not one
/// the runtime takes.
SmallVector<int64_t> runtimeGeometry(const Geometry &g, ShapedType x,
                                     ShapedType w, ShapedType y) {
  int64_t r = x.getRank() - 2;
  if (r < 1 || r > 3 || !x.getElementType().isF32())
    return {};
  for (int64_t i = 0; i < r; ++i)
    if (g.padLow[i] < 0)
      return {};
  SmallVector<int64_t> out = {x.getDimSize(0), x.getDimSize(1), w.getDimSize(0)};
  auto append = [&](auto value, int64_t fill) {
    for (int64_t i = 0; i < 3 - r; ++i)
      out.push_back(fill);
    for (int64_t i = 0; i < r; ++i)
      out.push_back(value(i));
  };
  append([&](int64_t i) { return x.getDimSize(2 + i); }, 1);
  append([&](int64_t i) { return y.getDimSize(2 + i); }, 1);
  append([&](int64_t i) { return w.getDimSize(2 + i); }, 1);
  append([&](int64_t i) { return g.stride[i]; }, 1);
  append([&](int64_t i) { return g.padLow[i]; }, 0);
  append([&](int64_t i) { return g.dilation[i]; }, 1);
  out.push_back(g.groups);
  return out;
}

/// What the call of each op takes: its routine, its operands in the
/// routine's order, and the types of the forward convolution's input x,
/// weight w and result y (whose sizes make the geometry).
struct CallOf {
  StringRef callee;
  SmallVector<Value> operands;
  ShapedType x, w, y;
};

CallOf callOf(nn::ConvOp op, nn::ConvOp::Adaptor a) {
  CallOf c{"kiln_sconv_forward", {a.getInput(), a.getWeight()},
           typeOf(a.getInput()), typeOf(a.getWeight()), op.getType()};
  if (Value bias = a.getBias())
    c.operands.push_back(bias);
  return c;
}

CallOf callOf(nn::ConvBackwardInputOp op, nn::ConvBackwardInputOp::Adaptor a) {
  return {"kiln_sconv_backward_input", {a.getGradOutput(), a.getWeight()},
          op.getType(), typeOf(a.getWeight()), typeOf(a.getGradOutput())};
}

CallOf callOf(nn::ConvBackwardWeightOp op, nn::ConvBackwardWeightOp::Adaptor a) {
  return {"kiln_sconv_backward_weight", {a.getInput(), a.getGradOutput()},
          typeOf(a.getInput()), op.getType(), typeOf(a.getGradOutput())};
}

template <class ConvOpT>
struct LibraryLowering : OpConversionPattern<ConvOpT> {
  LibraryLowering(MLIRContext *ctx)
      : OpConversionPattern<ConvOpT>(ctx, kLibraryBenefit) {}
  LogicalResult
  matchAndRewrite(ConvOpT op, typename ConvOpT::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    CallOf call = callOf(op, adaptor);
    SmallVector<int64_t> geometry =
        runtimeGeometry(op.getGeometry(), call.x, call.w, call.y);
    if (geometry.empty())
      return failure();
    rewriter.replaceOp(op, libraryCall(rewriter, op.getLoc(), call.callee,
                                       geometry, call.operands, op.getType()));
    return success();
  }
};

} // namespace

void kiln::conv::populateLibraryPatterns(RewritePatternSet &patterns) {
  patterns.add<LibraryLowering<nn::ConvOp>,
               LibraryLowering<nn::ConvBackwardInputOp>,
               LibraryLowering<nn::ConvBackwardWeightOp>>(patterns.getContext());
}
