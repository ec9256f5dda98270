// What kiln-cpu-gemm-to-runtime folds into a kiln_sgemm_fused call besides
// the contraction: the ops around it on buffers that the runtime's GEMM can
// compute while a tile of the output is in registers, or while it reads A.
// Matching only; GemmToRuntime.cpp builds the call and erases what it took.
#ifndef KILN_CODEGEN_CPU_GEMMEPILOGUES_H
#define KILN_CODEGEN_CPU_GEMMEPILOGUES_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include <optional>
#include <string>

namespace kiln::cpu {

/// kiln/runtime.h's KILN_GEMM_* activation codes.
enum class GemmActivation : int32_t { None = 0, Relu = 1, ReluBackward = 2 };

/// An elementwise op over all of a contraction's M x N output that the
/// call's epilogue computes instead.
struct ElementwiseEpilogue {
  mlir::Operation *op = nullptr; // the linalg.generic, or its scf.forall
  GemmActivation activation = GemmActivation::None;
  mlir::Value result; // the M x N buffer it writes
  mlir::Value gate;   // ReluBackward: the M x N buffer compared with 0
};

/// A column sum of all of a contraction's A operand (K x M, read
/// transposed) into M floats: a weight gradient's bias gradient.
struct ColumnSum {
  mlir::Operation *op = nullptr; // the linalg.generic, or its scf.forall
  mlir::Value sums;              // the M floats it adds to
};

/// The linalg.broadcast of a bias vector along the rows of `out` right
/// before `op` (a linear layer's bias, which the contraction then adds to),
/// when the call can add the bias itself: N contiguous f32 that do not
/// overlap `out`.
mlir::linalg::BroadcastOp biasBroadcastBefore(mlir::Operation *op,
                                              mlir::Value out);

/// The ReLU, or ReLU backward mask, of the contraction `op`'s output among
/// the next few ops with memory effects, when those before it may run
/// before the contraction (the call then stands at the epilogue's op) and
/// its buffers allow it: the result a contiguous-row buffer of the output's
/// shape that overlaps neither operand nor `bias` and is the output itself
/// or does not overlap it, the gate (if any) overlapping neither the output
/// nor the result. Sets `whyNot` when such an op exists but cannot be
/// folded.
std::optional<ElementwiseEpilogue>
elementwiseEpilogueAfter(mlir::linalg::LinalgOp op, mlir::Value bias,
                         std::string &whyNot);

/// The bias gradient of the weight gradient `op` (linalg.matmul_transpose_a
/// ins(%dy, %x)): the column sum of exactly %dy into M contiguous floats
/// that overlap no operand, among the next few ops with memory effects when
/// those before it may run before the contraction. Sets `whyNot` when there
/// is such a sum that cannot be folded.
std::optional<ColumnSum> biasGradientAfter(mlir::linalg::LinalgOp op,
                                           std::string &whyNot);

} // namespace kiln::cpu

#endif // KILN_CODEGEN_CPU_GEMMEPILOGUES_H
