// The host CPU behind the codegen/Backend.h interface: the pipeline of
// CPUPipeline.cpp, then LLVM IR, assembly or an object from MachineCode.cpp.
#include "codegen/cpu/CPUBackend.h"
#include "codegen/cpu/CPUCodegen.h"
#include "codegen/cpu/Passes.h"

#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVM.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/Transforms/FuncBufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/Func/Extensions/AllExtensions.h"
#include "mlir/Dialect/Linalg/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/SCF/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Tensor/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Vector/Transforms/BufferizableOpInterfaceImpl.h"

using namespace mlir;
using namespace kiln;

namespace {

class CPUBackend : public Backend {
public:
  explicit CPUBackend(const BackendOptions &options) : options(options) {}

  void registerDialects(DialectRegistry &registry) const override {
    registry.insert<memref::MemRefDialect, scf::SCFDialect,
                    bufferization::BufferizationDialect, vector::VectorDialect,
                    LLVM::LLVMDialect, affine::AffineDialect,
                    cf::ControlFlowDialect>();
    registerCPUDialects(registry);
    // One-shot bufferization and the conversion to LLVM go through these.
    arith::registerBufferizableOpInterfaceExternalModels(registry);
    scf::registerBufferizableOpInterfaceExternalModels(registry);
    vector::registerBufferizableOpInterfaceExternalModels(registry);
    linalg::registerBufferizableOpInterfaceExternalModels(registry);
    tensor::registerBufferizableOpInterfaceExternalModels(registry);
    bufferization::func_ext::registerBufferizableOpInterfaceExternalModels(registry);
    func::registerAllExtensions(registry);
    registerConvertFuncToLLVMInterface(registry);
  }

  void registerPasses() const override { registerKilnCPUPasses(); }

  void buildPipeline(OpPassManager &pm) const override {
    CPUCodegenOptions codegen;
    codegen.remarks = options.remarks;
    codegen.memoryReport = options.memoryReport;
    codegen.gemmEpilogues = options.gemmEpilogues;
    buildCPUCodegenPipeline(pm, codegen);
  }

  kiln_device_kind device() const override { return KILN_DEVICE_CPU; }

  bool supports(Artifact artifact) const override {
    return artifact != Artifact::DeviceCode;
  }

  bool emit(ModuleOp module, const ModelInterface &model, Artifact artifact,
            llvm::raw_pwrite_stream &os, std::string &error) const override {
    return emitHostArtifact(module, model, artifact, options.cpu, options.optLevel, os, error);
  }

private:
  BackendOptions options;
};

} // namespace

std::unique_ptr<Backend> kiln::createCPUBackend(const BackendOptions &options,
                                                std::string &error) {
  if (options.emulateGPU) {
    error = "--emulate-gpu runs a GPU target's kernels on the CPU: use it with --target=cuda";
    return nullptr;
  }
  if (!options.arch.empty()) {
    error = "--target=cpu takes no architecture ('cpu:" + options.arch +
            "'); the CPU is chosen with --mcpu";
    return nullptr;
  }
  return std::make_unique<CPUBackend>(options);
}
