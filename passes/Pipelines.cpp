#include "passes/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Transforms/Passes.h"

#include <algorithm>

void kiln::buildTrainingPipeline(mlir::OpPassManager &pm) {
  pm.addPass(createDecompose());
  pm.addPass(createAutodiff());
  pm.addPass(createBuildTrainStep());
  pm.addPass(mlir::createInlinerPass());
  pm.addPass(mlir::createCSEPass());
  pm.addPass(mlir::createCanonicalizerPass());
}

void kiln::buildLowerToLinalgPipeline(mlir::OpPassManager &pm, bool remarks,
                                      int64_t bucketBytes, ConvLowering conv) {
  using namespace mlir;
  // Inference modules reach here with their composites still in place.
  pm.addPass(createDecompose());
  // Before lowering, so that fusion folds the guards into the updates.
  pm.addPass(createGuardInPlaceResults());
  // The loss and its backward share their softmax statistics.
  FuseCrossEntropyOptions crossEntropy;
  crossEntropy.remarks = remarks;
  pm.addNestedPass<func::FuncOp>(createFuseCrossEntropy(crossEntropy));
  // Data parallelism: the gradient average in buckets beside the backward.
  BucketAllReduceOptions buckets;
  buckets.remarks = remarks;
  if (bucketBytes > 0) {
    buckets.bucketBytes = bucketBytes;
    buckets.firstBucketBytes = std::min<int64_t>(buckets.firstBucketBytes, bucketBytes);
  }
  pm.addNestedPass<func::FuncOp>(createBucketAllReduce(buckets));
  LowerNNToLinalgOptions lowering;
  lowering.conv = conv;
  pm.addNestedPass<func::FuncOp>(createLowerNNToLinalg(lowering));
  // arith on tensors (the step counter) becomes linalg.generic too.
  pm.addNestedPass<func::FuncOp>(createConvertElementwiseToLinalgPass());
  // Upstream's linalg-fuse-elementwise-ops, minus folding reshapes into
  // the matmuls (which would hide them from the backend's GEMM schedule).
  FuseElementwiseOptions fusion;
  fusion.remarks = remarks;
  pm.addNestedPass<func::FuncOp>(createFuseElementwise(fusion));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}
