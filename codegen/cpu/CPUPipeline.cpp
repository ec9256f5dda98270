// The CPU lowering pipeline: linalg on tensors -> LLVM dialect.
#include "codegen/cpu/CPUCodegen.h"
#include "codegen/cpu/Passes.h"
#include "passes/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/OneShotAnalysis.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void kiln::buildCPUCodegenPipeline(OpPassManager &pm,
                                   const CPUCodegenOptions &options) {
  // With the loop GEMM: B^T copies first, so they are tiled, vectorized and
  // threaded like any other transpose. The runtime GEMM reads B^T through
  // strides instead.
  if (!options.runtimeGemm)
    pm.addPass(createCPUMaterializeTransposes());
  if (options.vectorize) {
    // Row statistics per block of rows, in their consumer's loop.
    CPUFuseRowReductionsOptions rows;
    rows.remarks = options.remarks;
    pm.addPass(createCPUFuseRowReductions(rows));
    CPUTileAndVectorizeOptions tiling;
    tiling.tileContractions = !options.runtimeGemm;
    tiling.remarks = options.remarks;
    pm.addPass(createCPUTileAndVectorize(tiling));
  }

  buildBuffersAndWorkspacePipeline(pm, options.memoryReport);
  // After planning: the calls hide their buffer uses from it.
  if (options.runtimeGemm)
    pm.addPass(createCPUGemmToRuntime(
        CPUGemmToRuntimeOptions{options.remarks, options.gemmEpilogues}));
  pm.addPass(createCPULibraryCallsToRuntime());
  if (options.vectorize)
    pm.addPass(createCPULowerVectors());
  // Independent thread-tile loops (and the small ops beside them) -> one
  // launch each run; then the other thread tiles -> outlined bodies,
  // launched on the runtime's pool below; a forall the outliner cannot take
  // runs sequentially.
  CPUMergeParallelLoopsOptions merging;
  merging.remarks = options.remarks;
  pm.addPass(createCPUMergeParallelLoops(merging));
  pm.addPass(createCPUOutlineParallel());
  pm.addNestedPass<func::FuncOp>(createForallToForLoopPass());
  pm.addPass(arith::createArithExpandOpsPass());

  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createConvertSCFToCFPass());
  pm.addPass(createCanonicalizerPass());

  pm.addNestedPass<func::FuncOp>(createConvertVectorToSCFPass(
      VectorTransferToSCFOptions().enableFullUnroll(true)));
  pm.addPass(createConvertSCFToCFPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  // f32 exp and tanh as polynomials: expf and tanhf calls would keep their
  // loops scalar.
  if (options.vectorize)
    pm.addPass(createCPUApproximateMath());
  pm.addPass(createConvertMathToLLVMPass());
  // What LLVM has no intrinsic for (erf; tanh without the approximation)
  // becomes a libm call (erff, tanhf): torch's CPU kernels are libm-accurate
  // too.
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  ConvertFuncToLLVMPassOptions funcOptions;
  funcOptions.useBarePtrCallConv = true;
  pm.addPass(createConvertFuncToLLVMPass(funcOptions));
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCPULaunchParallel());
  pm.addPass(createCanonicalizerPass());
}

void kiln::buildBuffersAndWorkspacePipeline(
    OpPassManager &pm, bool memoryReport,
    llvm::function_ref<void(OpPassManager &)> beforePlanning) {
  // A zero fill that CSE shared between several accumulators: one each, so
  // that bufferization does not copy the filled buffer for every further
  // writer (and a fill right before a contraction folds into its GEMM call).
  pm.addPass(createUnshareFills());
  // A data-parallel bucket's gradients computed in their slices of it, not
  // copied into it after.
  pm.addNestedPass<func::FuncOp>(createProduceIntoSlices());
  // Buffers: function results become caller-provided out-parameters, so the
  // runtime owns every tensor that crosses the ABI (docs/runtime-abi.md);
  // each returned tensor gets a value of its own first (kiln-unique-results).
  pm.addPass(createUniqueResults());
  // Next values the runtime passes in place (kiln.in_place results): into
  // their argument's buffer, the producer writing there directly where
  // nothing reads the old value after it.
  pm.addPass(createInPlaceResults());
  // Copies as linalg.copy, which become loops below: a memref.copy between
  // strided views (an insert_slice that did not bufferize in place, e.g.
  // around the split contractions of kiln-cpu-tile-and-vectorize) would
  // lower to a call of MLIR's C runner `memrefCopy`, which a Kiln object
  // does not link against.
  auto linalgCopy = [](OpBuilder &b, Location loc, Value from, Value to) {
    b.create<linalg::CopyOp>(loc, from, to);
    return success();
  };
  bufferization::OneShotBufferizationOptions bufferize;
  bufferize.memCpyFn = linalgCopy;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.setFunctionBoundaryTypeConversion(
      bufferization::LayoutMapOption::IdentityLayoutMap);
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  pm.addPass(createDropInPlaceResults());
  bufferization::BufferResultsToOutParamsOpts outParams;
  outParams.hoistStaticAllocs = true;
  outParams.memCpyFn = linalgCopy;
  pm.addPass(bufferization::createBufferResultsToOutParamsPass(outParams));
  pm.addPass(createCanonicalizerPass());
  // MLIR 19's buffer-deallocation-pipeline, with kiln-cpu-split-deallocs
  // before the lowering (no helper function with dynamic memrefs).
  pm.addPass(bufferization::createOwnershipBasedBufferDeallocationPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(bufferization::createBufferDeallocationSimplificationPass());
  pm.addPass(createCPUSplitDeallocs());
  pm.addPass(bufferization::createLowerDeallocationsPass());
  pm.addPass(createCSEPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createBufferizationToMemRefPass());
  if (beforePlanning)
    beforePlanning(pm);
  // Temporaries -> views of one runtime-provided workspace (no malloc/free
  // per call).
  CPUPlanMemoryOptions plan;
  plan.report = memoryReport;
  pm.addPass(createCPUPlanMemory(plan));
}
