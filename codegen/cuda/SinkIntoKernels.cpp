// kiln-cuda-sink-into-kernels: constants, index computations and constant
// tensors into the gpu.launch bodies that use them (Passes.td).
#include "codegen/cpu/BufferAddress.h"
#include "codegen/cuda/Passes.h"

#include "mlir/Dialect/GPU/Transforms/Utils.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace kiln {
#define GEN_PASS_DEF_CUDASINKINTOKERNELS
#include "codegen/cuda/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// What a kernel computes itself rather than takes as an argument: what
/// gpu-launch-sink-index-computations sinks, and a constant tensor's global
/// with the views of it (host memory the kernel could not read).
bool sinkable(Operation *op) {
  if (isa<arith::ConstantOp, memref::DimOp, arith::SelectOp, arith::CmpIOp,
          memref::GetGlobalOp>(op))
    return true;
  if (auto view = dyn_cast<ViewLikeOpInterface>(op))
    return isa<BaseMemRefType>(view.getViewSource().getType()) &&
           kiln::cpu::rootBuffer(view->getResult(0)).getDefiningOp<memref::GetGlobalOp>();
  return false;
}

struct CUDASinkIntoKernelsPass
    : kiln::impl::CUDASinkIntoKernelsBase<CUDASinkIntoKernelsPass> {
  void runOnOperation() override {
    SmallVector<gpu::LaunchOp> launches;
    getOperation().walk([&](gpu::LaunchOp op) { launches.push_back(op); });
    for (gpu::LaunchOp launch : launches)
      if (failed(sinkOperationsIntoLaunchOp(launch, sinkable)))
        return signalPassFailure();
  }
};

} // namespace
