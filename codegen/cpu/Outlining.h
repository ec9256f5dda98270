// What kiln-cpu-outline-parallel and kiln-cpu-merge-parallel-loops share:
// turning ops into a private `@<parent>_<suffix>(begin, end, captures...)`
// function that kiln-cpu-launch-parallel later launches on the pool, and
// mapping a thread tile's linear index back to an scf.forall's induction
// variables.
#ifndef KILN_CODEGEN_CPU_OUTLINING_H
#define KILN_CODEGEN_CPU_OUTLINING_H

#include "codegen/cpu/IndexMath.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"

#include <optional>

namespace kiln {

/// The functions whose loops may be outlined: those with a body that are
/// not themselves outlined bodies.
llvm::SmallVector<mlir::func::FuncOp> outliningParents(mlir::ModuleOp module);

/// Values the launch can pass through memory. Memrefs go as bare pointers
/// (the module's calling convention), which needs a static layout.
bool isPassable(mlir::Type type);

/// What an outlined body needs from above: `values` become its arguments
/// (after begin and end), `constants` are cloned into it.
struct Captures {
  llvm::SmallVector<mlir::Value> values;
  llvm::SmallVector<mlir::Operation *> constants;
};

/// Splits `above` into constants and passed values; std::nullopt when a
/// value that is not a constant cannot be passed.
std::optional<Captures> classifyCaptures(const llvm::SetVector<mlir::Value> &above);

/// `func.func private @<parent>_<suffix>_<k>(index begin, index end,
/// captures...)` with no body yet, marked `kiln.parallel_body` and internal,
/// inserted before `parent` (the symbol table makes the name unique).
mlir::func::FuncOp declareParallelBody(mlir::Location loc,
                                       mlir::func::FuncOp parent,
                                       llvm::StringRef suffix,
                                       llvm::ArrayRef<mlir::Value> captures,
                                       mlir::SymbolTable &symbols);

/// Gives `fn` its entry block: the constants cloned and the captures mapped
/// to its arguments in `map`. The builder is left at the end of the block.
mlir::Block *beginParallelBody(mlir::func::FuncOp fn, const Captures &captures,
                               mlir::IRMapping &map, mlir::OpBuilder &b);

/// Maps each induction variable of `loop` to its value at `linearIndex`,
/// building the index code at `math`'s insertion point; bounds are looked
/// up in `map` (so they may be arguments of an outlined body). Row-major:
/// the last induction variable varies fastest, as in scf.forall's own
/// sequential order.
void delinearise(IndexMath &math, mlir::scf::ForallOp loop,
                 mlir::Value linearIndex, mlir::IRMapping &map);

} // namespace kiln

#endif // KILN_CODEGEN_CPU_OUTLINING_H
