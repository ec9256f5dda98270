// What a compiled model exposes to its users: the entry points' tensors in
// ABI order (docs/runtime-abi.md). Read off the nn-level module once, then
// used to write the descriptor, the C header and the kernel wrappers.
#ifndef KILN_CODEGEN_MODELINTERFACE_H
#define KILN_CODEGEN_MODELINTERFACE_H

#include "mlir/IR/BuiltinOps.h"

#include <string>
#include <vector>

namespace kiln {

struct TensorSpec {
  std::string name;
  std::string dtype; // "f32" or "i64"
  std::vector<int64_t> shape;
  std::string init; // descriptor init ("uniform -0.1 0.1", "zeros"), params/states

  int64_t numel() const;
};

struct ModelInterface {
  std::string name; // C prefix
  bool trainable = false;
  std::vector<TensorSpec> inputs, outputs, params, states;
  TensorSpec target;
  double lr = 0;
  /// Scratch bytes of the largest kernel workspace (kiln-cpu-plan-memory);
  /// known only after codegen.
  int64_t workspaceBytes = 0;

  /// The descriptor text embedded in the object (docs/runtime-abi.md).
  std::string descriptor() const;
  /// The plain-C header (docs/generated-header.md).
  std::string header() const;
};

/// Kernel symbol names for a model prefix.
std::string kernelSymbol(llvm::StringRef prefix, llvm::StringRef kernel);

/// Reads the interface from a module after the training pipeline: the
/// `forward` function (params, inputs -> outputs) and, when present,
/// `train_step` (states, target). Emits a diagnostic and fails when the
/// functions do not follow the ABI.
mlir::FailureOr<ModelInterface> readModelInterface(mlir::ModuleOp module);

} // namespace kiln

#endif // KILN_CODEGEN_MODELINTERFACE_H
