// kiln-cuda-materialize-constants: splat constant tensors -> fills of
// device memory (Passes.td says why).
#include "codegen/cuda/Passes.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace kiln {
#define GEN_PASS_DEF_CUDAMATERIALIZECONSTANTS
#include "codegen/cuda/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

struct CUDAMaterializeConstantsPass
    : kiln::impl::CUDAMaterializeConstantsBase<CUDAMaterializeConstantsPass> {
  void runOnOperation() override {
    SmallVector<arith::ConstantOp> constants;
    getOperation().walk([&](arith::ConstantOp op) {
      if (isa<RankedTensorType>(op.getType()))
        constants.push_back(op);
    });
    for (arith::ConstantOp op : constants) {
      auto type = cast<RankedTensorType>(op.getType());
      auto dense = dyn_cast<DenseElementsAttr>(op.getValue());
      if (!dense || !dense.isSplat())
        continue; // a global, sunk into the kernels' module later
      OpBuilder b(op);
      Location loc = op.getLoc();
      Value scalar = b.create<arith::ConstantOp>(loc, dense.getSplatValue<TypedAttr>());
      Value empty = b.create<tensor::EmptyOp>(loc, type.getShape(), type.getElementType());
      Value fill = b.create<linalg::FillOp>(loc, scalar, empty).getResult(0);
      op.replaceAllUsesWith(fill);
      op.erase();
    }
  }
};

} // namespace
