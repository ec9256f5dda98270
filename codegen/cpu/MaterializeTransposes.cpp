// kiln-cpu-materialize-transposes: linalg.matmul_transpose_b -> a B^T copy
// (linalg.transpose) + linalg.matmul, the forms the CPU schedules tile and
// vectorize (TileAndVectorize.cpp). Precondition: tensors, static shapes.
#include "codegen/cpu/Passes.h"

namespace kiln {
#define GEN_PASS_DEF_CPUMATERIALIZETRANSPOSES
#include "codegen/cpu/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// C += A B^T  ->  C += A T with T = B^T copied. Only on static tensors.
void materialize(linalg::MatmulTransposeBOp op) {
  Value lhs = op.getDpsInputs()[0], rhs = op.getDpsInputs()[1];
  auto rhsType = dyn_cast<RankedTensorType>(rhs.getType());
  if (!op.hasPureTensorSemantics() || !rhsType || !rhsType.hasStaticShape())
    return;
  IRRewriter b(op);
  Location loc = op.getLoc();
  Value empty = b.create<tensor::EmptyOp>(
      loc, ArrayRef<int64_t>{rhsType.getDimSize(1), rhsType.getDimSize(0)},
      rhsType.getElementType());
  Value rhsT = b.create<linalg::TransposeOp>(loc, rhs, empty,
                                             ArrayRef<int64_t>{1, 0})
                   .getResult()[0];
  b.replaceOpWithNewOp<linalg::MatmulOp>(op, ValueRange{lhs, rhsT},
                                         op.getDpsInits());
}

struct CPUMaterializeTransposesPass
    : kiln::impl::CPUMaterializeTransposesBase<CPUMaterializeTransposesPass> {
  void runOnOperation() override {
    SmallVector<linalg::MatmulTransposeBOp> ops;
    getOperation().walk([&](linalg::MatmulTransposeBOp op) { ops.push_back(op); });
    for (linalg::MatmulTransposeBOp op : ops)
      materialize(op);
  }
};

} // namespace
