// The CUDA backend's pipeline (CUDAPipeline.cpp); CUDABackend.cpp wires it
// into the codegen/Backend.h interface.
#ifndef KILN_CODEGEN_CUDA_CUDACODEGEN_H
#define KILN_CODEGEN_CUDA_CUDACODEGEN_H

#include "mlir/Pass/PassManager.h"

#include <string>

namespace kiln {

struct CUDACodegenOptions {
  std::string arch = "sm_90"; // the GPU architecture the PTX targets
  unsigned optLevel = 3;      // of the PTX (NVPTX's -O)
  bool remarks = false;       // kilnc --remarks
  bool memoryReport = false;  // kilnc --memory-report
  /// A CUDA toolkit whose nvvm/libdevice/libdevice.10.bc is linked into
  /// kernels that call math functions ("" when none was found).
  std::string toolkitPath;
  /// kilnc --emulate-gpu: kernels as sequential CPU loops and GEMMs as the
  /// CPU runtime's (kiln-cuda-emulate-on-cpu): a CPU object that runs this
  /// backend's lowering where there is no GPU, for testing.
  bool emulate = false;
};

/// linalg on tensors -> the host's LLVM dialect plus one `gpu.binary
/// @kiln_kernels` holding the PTX of every kernel: buffers and a planned
/// workspace as on the CPU, matmuls as cuBLAS calls
/// (kiln-cuda-gemm-to-runtime), every other loop nest a kernel
/// (kiln-cuda-map-to-gpu), each launch a runtime call
/// (kiln-cuda-launch-to-runtime), the kernels through NVVM to PTX by
/// LLVM's NVPTX target, in process.
void buildCUDACodegenPipeline(mlir::OpPassManager &pm,
                              const CUDACodegenOptions &options);

} // namespace kiln

#endif // KILN_CODEGEN_CUDA_CUDACODEGEN_H
