// The CUDA lowering pipeline: linalg on tensors -> host LLVM dialect with
// kiln_cuda_* runtime calls + the kernels' PTX (gpu.binary).
#include "codegen/cpu/CPUCodegen.h"
#include "codegen/cpu/Passes.h"
#include "codegen/cuda/CUDACodegen.h"
#include "codegen/cuda/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

/// Loops, affine maps and strided metadata -> control flow and index math,
/// kernels and host alike.
static void buildLowerToControlFlow(OpPassManager &pm) {
  pm.addPass(createLowerAffinePass());
  pm.addPass(createConvertSCFToCFPass());
  pm.addPass(arith::createArithExpandOpsPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createCanonicalizerPass());
}

/// memref, arith, math and func on the host -> LLVM dialect, bare pointers.
/// `libm`: math the CPU computes (emulation) calls libm where LLVM has no
/// intrinsic, as on the CPU target.
static void buildHostLowering(OpPassManager &pm, bool libm) {
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertMathToLLVMPass());
  if (libm)
    pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  ConvertFuncToLLVMPassOptions funcOptions;
  funcOptions.useBarePtrCallConv = true;
  pm.addPass(createConvertFuncToLLVMPass(funcOptions));
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}

void kiln::buildCUDACodegenPipeline(OpPassManager &pm,
                                    const CUDACodegenOptions &options) {
  // Reductions inside their parallel loops, so that a column sum is one
  // kernel, not one launch per row.
  pm.addPass(createCUDAParallelIteratorsFirst());
  // Few outputs, long sums: partial sums in parallel first.
  CUDASplitReductionsOptions splitting;
  splitting.remarks = options.remarks;
  pm.addPass(createCUDASplitReductions(splitting));
  // Splat constant tensors become fills rather than data in the object.
  pm.addPass(createCUDAMaterializeConstants());
  // Buffers, out-parameters and the planned workspace exactly as on the
  // CPU: the runtime allocates the workspace in device memory. The CTC
  // loss, a runtime routine on the CPU, becomes loops first, whose scratch
  // buffers are planned with the rest.
  buildBuffersAndWorkspacePipeline(pm, options.memoryReport, [](OpPassManager &nested) {
    nested.addPass(createCUDACtcToLoops());
  });
  // Data-parallel collectives: host calls of the runtime's CUDA versions,
  // ordered on the instance's stream (runtime/lib/cuda_model.cpp).
  CPULibraryCallsToRuntimeOptions collectives;
  collectives.collectivesOnly = true;
  collectives.prefix = "kiln_cuda_";
  pm.addPass(createCPULibraryCallsToRuntime(collectives));
  CUDAGemmToRuntimeOptions gemm;
  gemm.remarks = options.remarks;
  pm.addPass(createCUDAGemmToRuntime(gemm));
  // Few outputs or long contiguous rows: a block per output, reduced in
  // shared memory; every other generic is one thread per output below.
  CUDABlockReductionsOptions blocks;
  blocks.remarks = options.remarks;
  pm.addPass(createCUDABlockReductions(blocks));
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
  pm.addPass(createCanonicalizerPass());
  CUDAMapToGPUOptions mapping;
  mapping.remarks = options.remarks;
  pm.addPass(createCUDAMapToGPU(mapping));
  // No canonicalization in between: it would merge a block loop and its
  // thread loop into one, dropping their mappings.
  pm.addPass(createParallelLoopToGpuPass());
  // Folded bounds and constants: outlining then sinks constants into the
  // kernels instead of passing them.
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  if (options.emulate) {
    pm.addPass(createCUDAEmulateOnCPU());
    buildLowerToControlFlow(pm);
    buildHostLowering(pm, /*libm=*/true);
    return;
  }
  pm.addPass(createCUDASinkIntoKernels());
  pm.addPass(createGpuKernelOutliningPass());
  pm.addPass(createCUDALaunchToRuntime());
  buildLowerToControlFlow(pm);

  // The kernels: NVVM with bare pointers (every buffer has a static shape;
  // kiln-cuda-launch-to-runtime passes aligned pointers), then PTX.
  GpuNVVMAttachTargetOptions target;
  target.chip = options.arch;
  // PTX ISA 8.0: every architecture LLVM 19 emits, sm_90a included.
  target.features = "+ptx80";
  target.optLevel = options.optLevel;
  pm.addPass(createGpuNVVMAttachTarget(target));
  ConvertGpuOpsToNVVMOpsOptions nvvm;
  nvvm.indexBitwidth = 64;
  nvvm.useBarePtrCallConv = true;
  pm.addNestedPass<gpu::GPUModuleOp>(createConvertGpuOpsToNVVMOps(nvvm));
  pm.addNestedPass<gpu::GPUModuleOp>(createReconcileUnrealizedCastsPass());

  // The host: as on the CPU, without threads (the GPU is the parallelism).
  buildHostLowering(pm, /*libm=*/false);

  GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = "isa"; // PTX text
  binary.toolkitPath = options.toolkitPath;
  pm.addPass(createGpuModuleToBinaryPass(binary));
}
