// kiln-cpu-outline-parallel: scf.forall thread tiles -> private functions
// over a linearised iteration range, called over the whole range. The launch
// itself is made later, on the LLVM dialect (LaunchParallel.cpp), where every
// captured value has a plain LLVM type that can be stored in a context struct.
//
// For each outermost scf.forall of a function (after bufferization):
//  1. collect what the loop reads from above, constants apart; stop, leaving
//     the loop sequential, if a value cannot be passed through memory;
//  2. declare `@<parent>_parallel_<k>(begin, end, captures...)`;
//  3. give it a body: an scf.for over [begin, end) that delinearises its
//     index into the loop's induction variables and runs the loop's body;
//  4. replace the loop by a call over (0, trip count).
#include "codegen/cpu/Outlining.h"
#include "codegen/cpu/Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/RegionUtils.h"

namespace kiln {
#define GEN_PASS_DEF_CPUOUTLINEPARALLEL
#include "codegen/cpu/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

/// Step 1. std::nullopt when a captured value is not passable.
std::optional<Captures> collectCaptures(scf::ForallOp loop) {
  SetVector<Value> above;
  getUsedValuesDefinedAbove(loop.getRegion(), above);
  // The bounds are needed inside too, to turn the linear index back into
  // induction variables; the outermost upper bound is not (the range
  // [begin, end) already encodes it).
  SmallVector<OpFoldResult> ubs = loop.getMixedUpperBound();
  for (OpFoldResult bound : llvm::concat<OpFoldResult>(
           loop.getMixedLowerBound(), MutableArrayRef(ubs).drop_front(),
           loop.getMixedStep()))
    if (auto value = dyn_cast<Value>(bound))
      above.insert(value);
  return classifyCaptures(above);
}

/// Steps 2 and 3: `@<parent>_parallel_<index>`, whose body is
/// `for i in [begin, end): <loop body at delinearise(i)>`.
func::FuncOp buildBody(scf::ForallOp loop, func::FuncOp parent, unsigned index,
                       const Captures &captures, SymbolTable &symbols) {
  func::FuncOp fn = declareParallelBody(loop.getLoc(), parent,
                                        "parallel_" + std::to_string(index),
                                        captures.values, symbols);
  OpBuilder b(fn.getContext());
  IRMapping map;
  Block *entry = beginParallelBody(fn, captures, map, b);
  Location loc = loop.getLoc();
  auto linear = b.create<scf::ForOp>(
      loc, entry->getArgument(0), entry->getArgument(1),
      b.create<arith::ConstantIndexOp>(loc, 1));
  b.create<func::ReturnOp>(loc);

  b.setInsertionPointToStart(linear.getBody());
  IndexMath math{b, loc};
  delinearise(math, loop, linear.getInductionVar(), map);
  for (Operation &op : loop.getBody()->without_terminator())
    b.clone(op, map);
  return fn;
}

/// Step 4: in the parent, the trip count and one call over the whole range.
void replaceByCall(scf::ForallOp loop, func::FuncOp fn,
                   ArrayRef<Value> captures) {
  OpBuilder b(loop);
  Location loc = loop.getLoc();
  IndexMath math{b, loc};
  OpFoldResult total = b.getIndexAttr(1);
  for (auto [lb, ub, step] :
       llvm::zip(loop.getMixedLowerBound(), loop.getMixedUpperBound(),
                 loop.getMixedStep()))
    total = math.mul(total, math.tripCount(lb, ub, step));
  SmallVector<Value> operands = {b.create<arith::ConstantIndexOp>(loc, 0),
                                 math.value(total)};
  operands.append(captures.begin(), captures.end());
  b.create<func::CallOp>(loc, fn, operands);
  loop.erase();
}

/// Outlines `loop` into `@<parent>_parallel_<index>`; false (IR untouched)
/// when a captured value is not passable.
bool outline(scf::ForallOp loop, func::FuncOp parent, unsigned index,
             SymbolTable &symbols) {
  std::optional<Captures> captures = collectCaptures(loop);
  if (!captures)
    return false;
  func::FuncOp fn = buildBody(loop, parent, index, *captures, symbols);
  replaceByCall(loop, fn, captures->values);
  return true;
}

struct CPUOutlineParallelPass
    : kiln::impl::CPUOutlineParallelBase<CPUOutlineParallelPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    for (func::FuncOp parent : outliningParents(module)) {
      // Outermost loops only: a nested forall runs inside its parent's task.
      SmallVector<scf::ForallOp> loops;
      parent.walk<WalkOrder::PreOrder>([&](scf::ForallOp loop) {
        loops.push_back(loop);
        return WalkResult::skip();
      });
      unsigned index = 0;
      for (scf::ForallOp loop : loops) {
        if (loop.getNumResults() != 0) {
          loop.emitOpError("kiln-cpu-outline-parallel runs after "
                           "bufferization; this loop still has results");
          return signalPassFailure();
        }
        if (outline(loop, parent, index, symbols))
          ++index;
      }
    }
  }
};

} // namespace
