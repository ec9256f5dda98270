// mlir-opt with the nn dialect, every Kiln pass and pipeline, and all
// upstream dialects and passes registered, so any stage of kilnc can be
// reproduced and tested in isolation.
#include "codegen/Codegen.h"
#include "codegen/Passes.h"
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
  kiln::registerCodegenDialects(registry);

  mlir::registerAllPasses();
  kiln::registerKilnPasses();
  kiln::registerKilnCodegenPasses();
  // The stages kilnc runs, by name (kilnc --emit stops after the same ones).
  mlir::PassPipelineRegistration<>(
      "kiln-train-step", "nn forward + loss -> nn train_step and gradients",
      [](mlir::OpPassManager &pm) { kiln::buildTrainingPipeline(pm); });
  mlir::PassPipelineRegistration<>(
      "kiln-lower-to-linalg", "nn -> linalg on tensors (fused)",
      [](mlir::OpPassManager &pm) { kiln::buildLowerToLinalgPipeline(pm); });
  mlir::PassPipelineRegistration<>(
      "kiln-cpu-codegen",
      "linalg on tensors -> LLVM dialect for the host CPU (tiled, "
      "vectorized, threaded)",
      [](mlir::OpPassManager &pm) {
        kiln::buildCPUCodegenPipeline(pm, kiln::CPUCodegenOptions());
      });
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "Kiln optimizer driver\n", registry));
}
