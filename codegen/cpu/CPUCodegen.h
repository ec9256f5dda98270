// The CPU backend's pieces: its lowering pipeline and in-process
// machine-code emission for the host (CPUBackend.cpp wires them into the
// codegen/Backend.h interface).
#ifndef KILN_CODEGEN_CPU_CPUCODEGEN_H
#define KILN_CODEGEN_CPU_CPUCODEGEN_H

#include "codegen/Backend.h"
#include "codegen/ModelInterface.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"

#include <memory>

namespace kiln {

struct CPUCodegenOptions {
  /// Tile and vectorize contractions and elementwise ops.
  bool vectorize = true;
  /// 2-D f32 contractions call libkiln_rt's packed GEMM (kiln_sgemm,
  /// kiln-cpu-gemm-to-runtime) instead of the tiled loops of
  /// kiln-cpu-tile-and-vectorize.
  bool runtimeGemm = true;
  /// Bias, ReLU, ReLU backward masks and bias gradients folded into the
  /// GEMM calls (kiln_sgemm_fused; kilnc --gemm-epilogues).
  bool gemmEpilogues = true;
  /// Remarks on what stays sequential (kilnc --remarks).
  bool remarks = false;
  /// Remarks with each kernel's memory plan (kilnc --memory-report).
  bool memoryReport = false;
};

/// linalg on tensors -> LLVM dialect, for the host CPU: transposed GEMM
/// operands copied, tiling and vectorization of GEMMs and transposes,
/// bufferization with out-parameters, temporaries planned into one
/// workspace argument, thread tiles launched on the runtime pool
/// (kiln_parallel_for), bare-pointer calling convention.
void buildCPUCodegenPipeline(mlir::OpPassManager &pm,
                             const CPUCodegenOptions &options);

/// linalg on tensors -> buffers: function results become out-parameters,
/// the kiln.in_place results their argument's buffers, and temporaries
/// views of one workspace argument (kiln-cpu-plan-memory; `memoryReport`
/// prints each plan). Nothing in it is specific to the CPU: the CUDA
/// backend builds its buffers the same way (codegen/cuda/CUDAPipeline.cpp).
/// `beforePlanning` adds the backend's passes that work on buffers and
/// make temporaries of their own (memref.alloc with its dealloc in the
/// entry block): they run after bufferization, before the planning.
void buildBuffersAndWorkspacePipeline(
    mlir::OpPassManager &pm, bool memoryReport,
    llvm::function_ref<void(mlir::OpPassManager &)> beforePlanning = nullptr);

/// A TargetMachine for the host triple and `cpu` ("" or "native": the host
/// CPU with its features). Returns null and sets `error` on failure.
std::unique_ptr<llvm::TargetMachine>
createCPUTargetMachine(llvm::StringRef cpu, int optLevel, std::string &error);

/// Translates an LLVM-dialect module to LLVM IR, adds what users link
/// against (packed kernel entry points and the model metadata), then
/// optimizes at `optLevel`. Null with `error` set on failure.
std::unique_ptr<llvm::Module>
translateAndWrap(mlir::ModuleOp module, const ModelInterface &model,
                 llvm::LLVMContext &ctx, llvm::TargetMachine &tm, int optLevel,
                 std::string &error);

/// LLVM's default pipeline at `optLevel` (0: nothing) with the tuning the
/// generated kernels want (no loop unrolling; MachineCode.cpp says why).
void optimizeModule(llvm::Module &module, llvm::TargetMachine &tm, int optLevel);

/// translateAndWrap for the host CPU (`cpu`, as --mcpu) at `optLevel`,
/// then LLVM IR, assembly or an object of it (Artifact::DeviceCode is not
/// host code: false with `error`). A fresh LLVM module per call: machine
/// code emission changes the IR it runs on (CodeGenPrepare).
bool emitHostArtifact(mlir::ModuleOp module, const ModelInterface &model,
                      Artifact artifact, llvm::StringRef cpu, int optLevel,
                      llvm::raw_pwrite_stream &os, std::string &error);

enum class FileKind { Assembly, Object };
/// Writes assembly or an object file; false with `error` set on failure.
bool emitMachineCode(llvm::Module &module, llvm::TargetMachine &tm,
                     FileKind kind, llvm::raw_pwrite_stream &os,
                     std::string &error);

} // namespace kiln

#endif // KILN_CODEGEN_CPU_CPUCODEGEN_H
