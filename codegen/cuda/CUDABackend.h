// The CUDA backend, for the target table (codegen/Backend.cpp).
#ifndef KILN_CODEGEN_CUDA_CUDABACKEND_H
#define KILN_CODEGEN_CUDA_CUDABACKEND_H

#include "codegen/Backend.h"

namespace kiln {

/// `options.arch` is the GPU architecture ("" for sm_90); an architecture
/// that LLVM's NVPTX target cannot emit is an error listing those it can.
std::unique_ptr<Backend> createCUDABackend(const BackendOptions &options,
                                           std::string &error);

} // namespace kiln

#endif // KILN_CODEGEN_CUDA_CUDABACKEND_H
