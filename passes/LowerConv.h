// The two convolution lowerings: the direct one (LowerConv.cpp, every group
// count) and runtime library calls (LowerConvLibrary.cpp, groups == 1), and
// the direct one's helpers. Preconditions as there: static shapes, f32.
#ifndef KILN_PASSES_LOWERCONV_H
#define KILN_PASSES_LOWERCONV_H

#include "ir/ShapeRules.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/PatternMatch.h"

namespace kiln::conv {

mlir::Value indexConst(mlir::OpBuilder &b, mlir::Location loc, int64_t v);
mlir::Value cmpIndex(mlir::OpBuilder &b, mlir::Location loc,
                     mlir::arith::CmpIPredicate p, mlir::Value i, int64_t bound);
/// a && c, or c alone when a is null (no condition yet).
mlir::Value andOf(mlir::OpBuilder &b, mlir::Location loc, mlir::Value a,
                  mlir::Value c);

/// x [N, C, *in] zero-padded by the geometry's per-side padding (x itself
/// when there is none): xp[n, c, i] = x[n, c, i - lo] inside, 0 outside.
mlir::Value padInput(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                     const shape_rules::ConvGeometry &g);

/// [N, C, *s] -> [N, G, C / G, *s] (`dim` = 1) or [F, ...] -> [G, F / G, ...]
/// (`dim` = 0): the channel dimension `dim` split into (group, member).
mlir::Value splitGroups(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v, int64_t dim,
                        int64_t groups);
/// The inverse of splitGroups: dimensions `dim` and `dim + 1` merged.
mlir::Value mergeGroups(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v, int64_t dim);

/// The input gradient's gather, per spatial dimension i: the output pixel
/// o_i = (in_i + lo_i - k_i d_i) / s_i that input pixel `in` reads through
/// kernel tap `k`, each clamped to 0 where `*valid` is false, which says
/// that every division is exact and every o_i in [0, out_i).
llvm::SmallVector<mlir::Value> sourcePixel(mlir::OpBuilder &b, mlir::Location loc,
                                           const shape_rules::ConvGeometry &g,
                                           mlir::ValueRange in, mlir::ValueRange k,
                                           llvm::ArrayRef<int64_t> out, mlir::Value *valid);

/// The library-call patterns for groups == 1 (LowerConvLibrary.cpp), at a
/// higher benefit than the direct ones.
void populateLibraryPatterns(mlir::RewritePatternSet &patterns);

/// The im2col + GEMM patterns for convolutions with more than one input
/// channel per group (LowerConvGemm.cpp), at a higher benefit than the
/// direct ones.
void populateGemmPatterns(mlir::RewritePatternSet &patterns);

} // namespace kiln::conv

#endif // KILN_PASSES_LOWERCONV_H
