// How the CPU backend splits a linalg.generic into blocks of rows: shared by
// the thread tiles of kiln-cpu-tile-and-vectorize and the fused row loops of
// kiln-cpu-fuse-row-reductions, so both make the same threading decision.
#ifndef KILN_CODEGEN_CPU_GENERICROWS_H
#define KILN_CODEGEN_CPU_GENERICROWS_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include <optional>

namespace kiln {

/// Marks the loop of a fused row group, whose ops are tiled already.
constexpr const char *kFusedRowLoopAttr = "kiln.fused_rows";

/// Iterations one task of a generic op should at least cover: below this,
/// waking a pool thread costs more than the work (a few microseconds).
constexpr int64_t kGenericGrain = 4096;

/// The outermost parallel loop that every output indexes as a plain
/// dimension. Splitting that loop over threads gives each task its own
/// slice of every output, also when other loops are reductions (a task
/// then owns whole reductions). std::nullopt when there is none.
inline std::optional<unsigned> outermostOutputLoop(mlir::linalg::GenericOp op) {
  for (unsigned loop = 0; loop < op.getNumLoops(); ++loop) {
    if (op.getIteratorTypesArray()[loop] != mlir::utils::IteratorType::parallel)
      continue;
    bool inEveryOutput =
        llvm::all_of(op.getDpsInitsMutable(), [&](mlir::OpOperand &init) {
          mlir::AffineMap map = op.getMatchingIndexingMap(&init);
          return llvm::any_of(map.getResults(), [&](mlir::AffineExpr e) {
            auto dim = mlir::dyn_cast<mlir::AffineDimExpr>(e);
            return dim && dim.getPosition() == loop;
          });
        });
    if (inEveryOutput)
      return loop;
  }
  return std::nullopt;
}

/// The smallest divisor of `rows` below `rows` whose block covers at least
/// kGenericGrain iterations (`rowIterations` per row): as many equal tasks
/// as the grain allows. 0 when no such block gives two or more tasks.
inline int64_t threadBlockRows(int64_t rows, int64_t rowIterations) {
  int64_t minRows =
      llvm::divideCeil(kGenericGrain, std::max<int64_t>(rowIterations, 1));
  for (int64_t b = std::max<int64_t>(minRows, 1); b < rows; ++b)
    if (rows % b == 0)
      return b;
  return 0;
}

} // namespace kiln

#endif // KILN_CODEGEN_CPU_GENERICROWS_H
