#include "passes/Passes.h"

#include "mlir/Transforms/Passes.h"

void kiln::buildTrainingPipeline(mlir::OpPassManager &pm) {
  pm.addPass(createAutodiff());
  pm.addPass(createBuildTrainStep());
  pm.addPass(mlir::createInlinerPass());
  pm.addPass(mlir::createCSEPass());
  pm.addPass(mlir::createCanonicalizerPass());
}
