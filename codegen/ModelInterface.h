// What a compiled model exposes to its users: its tensors (with roles, as in
// the kiln_model_metadata ABI of <kiln/runtime.h>) and each kernel's argument
// list. Read off the nn-level module once, then used to write the metadata
// struct (Wrappers.cpp), its text dump and the C header. This is the one
// place that decides a kernel's argument order.
#ifndef KILN_CODEGEN_MODELINTERFACE_H
#define KILN_CODEGEN_MODELINTERFACE_H

#include "ir/NNDialect.h"

#include "mlir/IR/BuiltinOps.h"

#include <kiln/runtime.h>

#include <array>
#include <optional>
#include <string>
#include <vector>

namespace kiln {

struct InitSpec {
  kiln_init_kind kind = KILN_INIT_ZEROS;
  double args[2] = {0, 0}; // uniform: lo, hi; normal: mean, std
};

struct TensorSpec {
  std::string name;
  std::string dtype; // "f32" or "i64"
  std::vector<int64_t> shape;
  kiln_tensor_role role = KILN_ROLE_INPUT;
  InitSpec init;
  /// i64 inputs and targets that ops index with: the values the runtime
  /// lets the caller pass (kiln_index_range).
  std::optional<nn::IndexBounds> indexBounds;

  int64_t numel() const;
};

struct KernelArg {
  kiln_arg_kind kind;
  int tensor; // index into ModelInterface::tensors, -1 for rng / workspace
};

struct KernelSpec {
  kiln_entry_point entry;
  kiln_mode mode = KILN_MODE_ANY; // the function's nn.mode
  std::string symbol;             // the bare-pointer kernel function
  std::vector<KernelArg> args;
  int64_t rngCounters = 0;        // how far one call advances the rng
  /// The function's arguments: args[0, numArguments) are they, in order,
  /// then come its results (out-parameters), then the workspace.
  unsigned numArguments = 0;
  /// (result, argument) pairs of the function whose result is written into
  /// the argument's buffer (KILN_ARG_TENSOR_UPDATE; planInPlaceUpdates).
  /// Such a result has no entry in args.
  std::vector<std::pair<unsigned, unsigned>> inPlace;
  /// With inPlace: the results the runtime checks after the call (a value
  /// check, KILN_ROLE_CHECK, or the gradient norm, KILN_ROLE_GRAD_NORM). A
  /// call they fail must change nothing, so every in-place update is
  /// guarded by them (kiln-guard-in-place-results).
  std::vector<std::pair<unsigned, kiln_tensor_role>> guards;
};

/// A learning-rate scheduler the model file declares (nn.scheduler): the
/// runtime's kiln_scheduler_spec without callbacks.
struct SchedulerSpec {
  int32_t kind = 0;
  std::vector<double> args;
  std::vector<SchedulerSpec> children;
};

struct ModelInterface {
  std::string name; // C prefix
  bool trainable = false;
  /// Compiled with kilnc --data-parallel (the module's nn.data_parallel):
  /// KILN_MODEL_DATA_PARALLEL in the metadata's flags.
  bool dataParallel = false;
  std::vector<TensorSpec> tensors; // metadata order
  std::vector<KernelSpec> kernels;
  double lr = 0;
  /// training.scheduler: the header's <prefix>_scheduler_create builds it.
  std::optional<SchedulerSpec> scheduler;
  /// Where the kernels run: the backend's (Backend::device).
  kiln_device_kind device = KILN_DEVICE_CPU;
  /// Scratch bytes of the largest kernel workspace (kiln-cpu-plan-memory);
  /// known only after codegen.
  int64_t workspaceBytes = 0;
  /// KILN_DEVICE_CUDA: the kernels' PTX module and the names of its
  /// kernels, in the host code's numbering (the metadata's device_code and
  /// device_kernels); known only after codegen.
  std::string deviceCode;
  std::vector<std::string> deviceKernels;
  /// Who takes the optimizer step (kiln_optimizer_driver) and its
  /// arguments (KILN_OPTIMIZER_LBFGS: ir/LbfgsOptions.h's metadataArgs).
  int32_t optimizer = KILN_OPTIMIZER_COMPILED;
  std::array<double, KILN_OPTIMIZER_ARGS> optimizerArgs{};

  /// The tensors of one role, in metadata order.
  std::vector<const TensorSpec *> ofRole(kiln_tensor_role role) const;
  /// Whether some kernel writes tensor t's next value beside its current
  /// one (KILN_ARG_TENSOR_NEXT), so the arena holds it twice (kiln/arena.h).
  bool doubleBuffered(int t) const;
  /// What kiln_model_create allocates for one instance, by the rules of
  /// kiln/arena.h: one part per role that has slots (both copies of the
  /// double-buffered ones), then "gradients" and "workspace", in bytes.
  std::vector<std::pair<std::string, uint64_t>> arenaParts() const;
  /// Their sum: the header's <PREFIX>_ARENA_BYTES.
  uint64_t arenaBytes() const;
  /// A readable dump of the metadata (kilnc --emit=descriptor).
  std::string descriptor() const;
  /// The plain-C header (docs/generated-header.md).
  std::string header() const;
};

/// Kernel symbol names for a model prefix.
std::string kernelSymbol(llvm::StringRef prefix, llvm::StringRef kernel);

/// The runtime initializer of an `nn.init` attribute (zeros when null).
InitSpec initSpecOf(nn::InitAttr attr);

/// Reads the interface from a module after the training pipeline: the
/// `forward` function (params, inputs -> outputs) and, when present,
/// `forward_train` (a mode-dependent model's train-mode forward),
/// `loss_grad` and `train_step`. Kernel modes come from `nn.mode`. Emits a diagnostic and fails when the
/// functions do not follow the ABI.
mlir::FailureOr<ModelInterface> readModelInterface(mlir::ModuleOp module);

} // namespace kiln

#endif // KILN_CODEGEN_MODELINTERFACE_H
