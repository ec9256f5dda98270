#include "passes/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Transforms/Passes.h"

void kiln::buildTrainingPipeline(mlir::OpPassManager &pm) {
  pm.addPass(createDecompose());
  pm.addPass(createAutodiff());
  pm.addPass(createBuildTrainStep());
  pm.addPass(mlir::createInlinerPass());
  pm.addPass(mlir::createCSEPass());
  pm.addPass(mlir::createCanonicalizerPass());
}

void kiln::buildLowerToLinalgPipeline(mlir::OpPassManager &pm) {
  using namespace mlir;
  // Inference modules reach here with their composites still in place.
  pm.addPass(createDecompose());
  pm.addNestedPass<func::FuncOp>(createLowerNNToLinalg());
  // arith on tensors (the step counter) becomes linalg.generic too.
  pm.addNestedPass<func::FuncOp>(createConvertElementwiseToLinalgPass());
  pm.addNestedPass<func::FuncOp>(createLinalgElementwiseOpFusionPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}
