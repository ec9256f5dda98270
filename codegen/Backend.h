// The backend seam: what kilnc and kiln-opt ask of a target, and the one
// table of targets (`kilnc --target=<name>`). The target-independent stages
// end at linalg on tensors (kiln::buildLowerToLinalgPipeline, passes/); a
// backend takes the module from there to its artifact. Adding a target adds
// one entry to the table in Backend.cpp and a directory under codegen/;
// nothing in passes/ or tools/ changes.
#ifndef KILN_CODEGEN_BACKEND_H
#define KILN_CODEGEN_BACKEND_H

#include "codegen/ModelInterface.h"
#include "passes/ConvLowering.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>
#include <string>

namespace kiln {

/// The command-line settings a backend may use.
struct BackendOptions {
  std::string cpu = "native"; // kilnc --mcpu: the host CPU and its features
  unsigned optLevel = 3;      // kilnc -O
  bool remarks = false;       // kilnc --remarks: optimization decisions
  bool memoryReport = false;  // kilnc --memory-report: each kernel's memory plan
  bool gemmEpilogues = true;  // kilnc --gemm-epilogues: ops folded into GEMM calls
  std::string arch;           // --target=<name>:<arch>, "" for the default
  bool emulateGPU = false;    // kilnc --emulate-gpu (CUDA: kernels as CPU loops)
};

/// What a backend writes after its MLIR pipeline (kilnc
/// --emit=llvm|asm|obj|ptx): the host's LLVM IR, assembly or object, or the
/// code of a device that has its own (PTX). The MLIR the pipeline leaves
/// (--emit=llvm-dialect) is printed by kilnc.
enum class Artifact { LLVMIR, Assembly, Object, DeviceCode };

class Backend {
public:
  virtual ~Backend() = default;

  /// Dialects, interfaces and extensions its pipeline creates or needs;
  /// called before the MLIRContext is made.
  virtual void registerDialects(mlir::DialectRegistry &registry) const = 0;

  /// Its passes, by flag, for kiln-opt.
  virtual void registerPasses() const = 0;

  /// linalg on tensors -> the lowest MLIR the backend translates from.
  virtual void buildPipeline(mlir::OpPassManager &pm) const = 0;

  /// How the shared lowering expresses f32 convolutions: by default calls
  /// of the runtime's convolution routines (nn.library_call kiln_sconv_*,
  /// which only the CPU runtime has).
  virtual ConvLowering convolutions() const { return ConvLowering::Library; }

  /// Where its kernels run (the metadata's `device`, docs/runtime-abi.md).
  virtual kiln_device_kind device() const = 0;

  /// Whether emit() can write `artifact`; every backend writes objects.
  virtual bool supports(Artifact artifact) const = 0;

  /// Writes `artifact` of a module that went through buildPipeline, with the
  /// model's metadata (docs/runtime-abi.md) in it. False with `error` set on
  /// failure. The module is not changed, so emit may be called again.
  virtual bool emit(mlir::ModuleOp module, const ModelInterface &model,
                    Artifact artifact, llvm::raw_pwrite_stream &os,
                    std::string &error) const = 0;
};

/// One row of the target table: it drives lookup, `kilnc --help`, the error
/// for an unknown target and kiln-opt's `kiln-<name>-codegen` pipelines.
struct BackendEntry {
  const char *name;        // --target=<name>
  const char *description; // one line, for --help and kiln-opt
  /// Null with `error` set when the options do not suit it (an unknown
  /// architecture).
  std::unique_ptr<Backend> (*create)(const BackendOptions &options, std::string &error);
};

/// Every target Kiln can compile for.
llvm::ArrayRef<BackendEntry> backends();

/// The entry named `name`, or null. `name` is the part of --target before
/// any `:<arch>`.
const BackendEntry *lookupBackend(llvm::StringRef name);

/// The target names, comma separated ("cpu"), for help and errors.
std::string backendNames();

} // namespace kiln

#endif // KILN_CODEGEN_BACKEND_H
