// libFuzzer target: the model-file importer in process (docs/model-format.md).
//
// Each input is one model file: imported (JSON -> nn, with the training
// section when the file has one), verified, then run through the
// target-independent nn pipeline that kilnc runs next (autodiff and the
// training step). No code generation. Any input may be rejected with
// diagnostics; none may crash, hang, leak or reach an LLVM fatal error.
#include "memfd_file.h"

#include "frontend/import/ModelImporter.h"
#include "ir/NNDialect.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"

#include <cstdint>
#include <cstring>

using namespace mlir;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // A fresh context per input: a context only ever grows (uniqued types and
  // attributes), so reusing one would read as a leak over a long run.
  DialectRegistry registry;
  registry.insert<kiln::nn::NNDialect, func::FuncDialect, arith::ArithDialect,
                  linalg::LinalgDialect, tensor::TensorDialect, math::MathDialect>();
  MLIRContext ctx(registry, MLIRContext::Threading::DISABLED);
  ctx.printOpOnDiagnostic(false);
  ScopedDiagnosticHandler quiet(&ctx, [](Diagnostic &) { return success(); });

  // As kilnc's --mode=auto: the training pipeline when the file has a
  // training section. The importer decides what a training section is; a
  // cheap textual test is enough to choose which path to exercise.
  const bool train = memmem(data, size, "\"training\"", 10) != nullptr;
  kiln_fuzz::MemfdFile file(data, size);
  OwningOpRef<ModuleOp> module = kiln::importModelFile(&ctx, file.path(), train);
  if (!module)
    return 0;
  if (failed(verify(*module)))
    __builtin_trap(); // the importer returned IR that does not verify
  if (train) {
    PassManager pm(&ctx);
    kiln::buildTrainingPipeline(pm);
    (void)pm.run(*module); // a pass may reject the model; it must not crash
  }
  return 0;
}
