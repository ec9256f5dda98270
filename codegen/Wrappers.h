// What every backend that produces LLVM IR on the host side shares: the
// exported model metadata and the workspace size its kernels declared.
#ifndef KILN_CODEGEN_WRAPPERS_H
#define KILN_CODEGEN_WRAPPERS_H

#include "codegen/ModelInterface.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/IR/GlobalVariable.h"
#include "llvm/IR/Module.h"

#include <string>

namespace kiln {

/// Adds `const kiln_model_metadata <prefix>__metadata` (<kiln/runtime.h>)
/// and the packed entry points it points to; the kernels named by
/// `model.kernels` must be in `m`. Null with `error` set on a mismatch.
llvm::GlobalVariable *emitModelMetadata(llvm::Module &m,
                                        const ModelInterface &model,
                                        std::string &error);

/// The largest workspace any kernel of a lowered module needs: backends put
/// `kiln.workspace_bytes` on each kernel that takes scratch memory
/// (kiln-cpu-plan-memory on the CPU).
int64_t workspaceBytes(mlir::ModuleOp module);

} // namespace kiln

#endif // KILN_CODEGEN_WRAPPERS_H
