// mlir-opt with the nn dialect, every Kiln pass and pipeline, and all
// upstream dialects and passes registered, so any stage of kilnc can be
// reproduced and tested in isolation.
#include "codegen/Backend.h"
#include "ir/NNDialect.h"
#include "passes/Passes.h"

#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  registry.insert<kiln::nn::NNDialect>();

  mlir::registerAllPasses();
  kiln::registerKilnPasses();
  // The stages kilnc runs, by name (kilnc --emit stops after the same ones).
  mlir::PassPipelineRegistration<>(
      "kiln-train-step", "nn forward + loss -> nn train_step and gradients",
      [](mlir::OpPassManager &pm) { kiln::buildTrainingPipeline(pm); });
  mlir::PassPipelineRegistration<>(
      "kiln-lower-to-linalg", "nn -> linalg on tensors (fused)",
      [](mlir::OpPassManager &pm) { kiln::buildLowerToLinalgPipeline(pm); });
  // Every target of the table: its dialects, passes and codegen pipeline
  // (kiln-cpu-codegen, ...), built with kilnc's default settings.
  for (const kiln::BackendEntry &entry : kiln::backends()) {
    std::string error;
    std::shared_ptr<kiln::Backend> backend = entry.create(kiln::BackendOptions(), error);
    if (!backend) {
      llvm::errs() << "kiln-opt: target " << entry.name << ": " << error << "\n";
      return 1;
    }
    backend->registerDialects(registry);
    backend->registerPasses();
    mlir::PassPipelineRegistration<>(
        std::string("kiln-") + entry.name + "-codegen",
        std::string("linalg on tensors -> ") + entry.description,
        [backend](mlir::OpPassManager &pm) { backend->buildPipeline(pm); });
  }
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "Kiln optimizer driver\n", registry));
}
