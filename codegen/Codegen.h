// The backend interface: lowering pipelines and machine-code emission.
// Everything target-specific lives under codegen/; passes/ stay generic.
#ifndef KILN_CODEGEN_CODEGEN_H
#define KILN_CODEGEN_CODEGEN_H

#include "codegen/ModelInterface.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"

#include <memory>

namespace kiln {

struct CPUCodegenOptions {
  /// Tile and vectorize contractions and elementwise ops.
  bool vectorize = true;
};

/// linalg on tensors -> LLVM dialect, for the host CPU: tiling and
/// vectorization of GEMMs and transposes, bufferization with out-parameters,
/// temporaries planned into one workspace argument, thread tiles launched on
/// the runtime pool (kiln_parallel_for), bare-pointer calling convention.
void buildCPUCodegenPipeline(mlir::OpPassManager &pm,
                             const CPUCodegenOptions &options);

/// A TargetMachine for the host triple and `cpu` ("" or "native": the host
/// CPU with its features). Returns null and sets `error` on failure.
std::unique_ptr<llvm::TargetMachine>
createCPUTargetMachine(llvm::StringRef cpu, int optLevel, std::string &error);

/// Translates an LLVM-dialect module to LLVM IR, adds what users link
/// against (packed kernel entry points and the model metadata), then
/// optimizes at `optLevel`.
std::unique_ptr<llvm::Module>
translateAndWrap(mlir::ModuleOp module, const ModelInterface &model,
                 llvm::LLVMContext &ctx, llvm::TargetMachine &tm, int optLevel);

/// Adds `const kiln_model_metadata <prefix>__metadata` (<kiln/runtime.h>)
/// and the packed entry points it points to; the kernels named by
/// `model.kernels` must be in `m`. Null with `error` set on a mismatch.
llvm::GlobalVariable *emitModelMetadata(llvm::Module &m,
                                        const ModelInterface &model,
                                        std::string &error);

/// The largest workspace any kernel of an LLVM-dialect module needs
/// (kiln-cpu-plan-memory's `kiln.workspace_bytes`).
int64_t workspaceBytes(mlir::ModuleOp module);

enum class FileKind { Assembly, Object };
/// Writes assembly or an object file; false with `error` set on failure.
bool emitMachineCode(llvm::Module &module, llvm::TargetMachine &tm,
                     FileKind kind, llvm::raw_pwrite_stream &os,
                     std::string &error);

} // namespace kiln

#endif // KILN_CODEGEN_CODEGEN_H
