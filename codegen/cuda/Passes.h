// The CUDA backend's passes (Passes.td), for its pipeline and kiln-opt.
#ifndef KILN_CODEGEN_CUDA_PASSES_H
#define KILN_CODEGEN_CUDA_PASSES_H

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace kiln {

#define GEN_PASS_DECL
#include "codegen/cuda/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "codegen/cuda/Passes.h.inc"

/// The module attribute listing the kernels of `gpu.module @kiln_kernels`
/// in the order kiln_cuda_launch numbers them.
constexpr llvm::StringLiteral kCUDAKernelsAttr = "kiln.cuda.kernels";
/// The one GPU module of a CUDA-lowered model.
constexpr llvm::StringLiteral kCUDAKernelModule = "kiln_kernels";

} // namespace kiln

#endif // KILN_CODEGEN_CUDA_PASSES_H
