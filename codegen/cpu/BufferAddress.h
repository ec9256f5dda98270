// Addresses of buffers, and the zero fill a GEMM call folds in, for the
// calls into libkiln_rt that the backends emit after memory planning
// (kiln-cpu-gemm-to-runtime, kiln-cpu-library-calls-to-runtime, and the
// CUDA backend's kiln-cuda-gemm-to-runtime and kiln-cuda-launch-to-runtime).
#ifndef KILN_CODEGEN_CPU_BUFFERADDRESS_H
#define KILN_CODEGEN_CPU_BUFFERADDRESS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Builders.h"

#include <limits>

namespace kiln::cpu {

/// The buffer `memref` is a view of: view-like ops other than memref.view
/// (subviews, casts, reshapes; they keep their source's aligned pointer)
/// stripped. Distinct memref.view results are distinct buffers:
/// kiln-cpu-plan-memory gives buffers that are live at the same time
/// disjoint byte ranges.
mlir::Value rootBuffer(mlir::Value memref);

/// Bytes [begin, end) of `root`; the whole root when the range is unknown.
struct Span {
  mlir::Value root;
  int64_t begin = 0;
  int64_t end = std::numeric_limits<int64_t>::max();
};

/// The memory a memref value shows: its root buffer and, when that root is
/// a memref.view at a constant shift with a static type (a buffer that
/// kiln-cpu-plan-memory placed in the workspace), the view's bytes of the
/// view's source. Views of a view keep the view's span, a superset of what
/// they show.
Span spanOf(mlir::Value memref);

/// Whether two spans may share a byte. Two planned buffers share bytes when
/// their lifetimes were disjoint in the order the planner saw: a pass that
/// moves an access past another after planning (a GEMM call taking over
/// the op after it) must ask this, not compare roots. `kernel` is the
/// function whose distinct arguments do not alias when one of them is
/// written (the caller asks only then); null: arguments may alias.
bool mayAlias(const Span &a, const Span &b, mlir::func::FuncOp kernel);

/// mayAlias of the spans of two memref values in `kernel`.
bool mayShareBytes(mlir::Value a, mlir::Value b, mlir::func::FuncOp kernel);

/// The aligned pointer of `memref` as an index (see BufferAddress.cpp for
/// why memref.view shifts are added here).
mlir::Value alignedAddress(mlir::OpBuilder &b, mlir::Location loc,
                           mlir::Value memref);

/// The address of `memref`'s first element (aligned pointer + `offset`
/// elements, the offset from its memref.extract_strided_metadata), as an
/// index. Any other element's with `offset` plus its strided position.
mlir::Value firstElementAddress(mlir::OpBuilder &b, mlir::Location loc,
                                mlir::Value memref, mlir::Value offset);

/// firstElementAddress of `memref` at its own offset, as an i64: how
/// pointers travel in the runtime calls the backends emit.
mlir::Value firstElementAddressI64(mlir::OpBuilder &b, mlir::Location loc,
                                   mlir::Value memref);

/// The private declaration of runtime function `name` (void, taking
/// `args`), added at the end of `module` unless it has one already.
mlir::func::FuncOp declareRuntimeFunction(mlir::ModuleOp module, llvm::StringRef name,
                                          mlir::TypeRange args);

/// The linalg.fill of 0.0 into `out` right before `op`, if there is one:
/// what a GEMM call folds in (accumulate 0 on the CPU, beta 0 on CUDA).
mlir::linalg::FillOp zeroFillBefore(mlir::Operation *op, mlir::Value out);

/// A rank-2 f32 memref (rank 3 when `batched`: a batch of matrices).
bool isF32Matrix(mlir::Value v, bool batched = false);

/// A memref whose rows are contiguous (unit stride along its last
/// dimension): what the runtime's GEMM writes and reads rows of.
/// Precondition: isF32Matrix(v) (batched or not).
bool hasUnitInnerStride(mlir::Value v);

} // namespace kiln::cpu

#endif // KILN_CODEGEN_CPU_BUFFERADDRESS_H
