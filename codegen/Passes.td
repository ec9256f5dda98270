#ifndef KILN_CODEGEN_PASSES
#define KILN_CODEGEN_PASSES

include "mlir/Pass/PassBase.td"

//===----------------------------------------------------------------------===//
// CPU
//===----------------------------------------------------------------------===//

def CPUTileAndVectorize : Pass<"kiln-cpu-tile-and-vectorize", "mlir::ModuleOp"> {
  let summary = "Tile contractions for threads and registers and vectorize them (tensors)";
  let description = [{
    Tiles every `linalg.matmul` / `linalg.matmul_transpose_a`: an
    `scf.forall` over thread tiles (at most 64 x 128, dividing the result),
    then `scf.for` register tiles 8 x 32 x 1 (8 x 16 x 1 when N is not a
    multiple of 32), vectorized. Shapes that do not divide keep the scalar
    path. Runs on tensors, before bufferization.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
}

def CPULowerVectors : Pass<"kiln-cpu-lower-vectors", "mlir::ModuleOp"> {
  let summary = "Hoist and lower vectorized contractions to FMAs (memrefs)";
  let description = [{
    After bufferization: folds subviews into transfers, hoists loop
    invariant accumulator reads/writes out of the reduction loop, and lowers
    `vector.contract` to outer products (broadcast + FMA).
  }];
  let dependentDialects = ["::mlir::transform::TransformDialect",
                           "::mlir::vector::VectorDialect"];
}

#endif // KILN_CODEGEN_PASSES
