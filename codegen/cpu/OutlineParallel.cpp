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
#include "codegen/cpu/IndexMath.h"
#include "codegen/cpu/Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/RegionUtils.h"

namespace kiln {
#define GEN_PASS_DEF_CPUOUTLINEPARALLEL
#include "codegen/cpu/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using kiln::IndexMath;

namespace {

/// Values the launch can pass through memory. Memrefs go as bare pointers
/// (the module's calling convention), which needs a static layout.
bool isPassable(Type type) {
  if (auto memref = dyn_cast<MemRefType>(type)) {
    if (!memref.hasStaticShape())
      return false;
    SmallVector<int64_t> strides;
    int64_t offset;
    if (failed(getStridesAndOffset(memref, strides, offset)))
      return false;
    return !ShapedType::isDynamic(offset) &&
           llvm::none_of(strides, ShapedType::isDynamic);
  }
  return type.isIntOrIndexOrFloat() || isa<VectorType>(type);
}

/// What the outlined body needs from above the loop: `values` become its
/// arguments (after begin and end), `constants` are cloned into it.
struct Captures {
  SmallVector<Value> values;
  SmallVector<Operation *> constants;
};

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

  Captures captures;
  for (Value v : above) {
    Operation *def = v.getDefiningOp();
    if (def && def->hasTrait<OpTrait::ConstantLike>()) {
      captures.constants.push_back(def);
      continue;
    }
    if (!isPassable(v.getType()))
      return std::nullopt;
    captures.values.push_back(v);
  }
  return captures;
}

/// Step 2: the function, still without a body, placed before `parent`.
func::FuncOp declareBody(scf::ForallOp loop, func::FuncOp parent,
                         unsigned index, ArrayRef<Value> captures,
                         SymbolTable &symbols) {
  MLIRContext *ctx = loop.getContext();
  OpBuilder b(parent);
  auto indexType = b.getIndexType();
  SmallVector<Type> argTypes = {indexType, indexType};
  for (Value v : captures)
    argTypes.push_back(v.getType());
  auto fn = b.create<func::FuncOp>(
      loop.getLoc(), (parent.getSymName() + "_parallel_" + Twine(index)).str(),
      FunctionType::get(ctx, argTypes, {}));
  fn.setPrivate();
  fn->setAttr("kiln.parallel_body", UnitAttr::get(ctx));
  fn->setAttr("llvm.linkage",
              LLVM::LinkageAttr::get(ctx, LLVM::Linkage::Internal));
  symbols.insert(fn);
  return fn;
}

/// The loop's lower bounds and steps as seen from the body, and the trip
/// count of every dimension but the outermost (the delinearisation divides
/// by those). Static bounds stay attributes; dynamic ones are arguments now.
struct BodyBounds {
  SmallVector<OpFoldResult> lbs, steps, counts;
};

BodyBounds boundsInBody(IndexMath &math, scf::ForallOp loop,
                        const IRMapping &map) {
  auto inBody = [&](OpFoldResult r) -> OpFoldResult {
    if (auto v = dyn_cast<Value>(r))
      return map.lookup(v);
    return r;
  };
  BodyBounds bounds;
  for (auto [lb, ub, step] :
       llvm::zip(loop.getMixedLowerBound(), loop.getMixedUpperBound(),
                 loop.getMixedStep())) {
    bounds.lbs.push_back(inBody(lb));
    bounds.steps.push_back(inBody(step));
    bounds.counts.push_back(
        bounds.lbs.size() == 1
            ? OpFoldResult()
            : math.tripCount(bounds.lbs.back(), inBody(ub),
                             bounds.steps.back()));
  }
  return bounds;
}

/// Maps each induction variable of `loop` to its value at `linearIndex`.
/// Row-major: the last induction variable varies fastest, as in
/// scf.forall's own sequential order.
void delinearise(IndexMath &math, scf::ForallOp loop, const BodyBounds &bounds,
                 Value linearIndex, IRMapping &map) {
  OpFoldResult rest = linearIndex;
  for (int d = bounds.counts.size() - 1; d >= 0; --d) {
    OpFoldResult i = d == 0 ? rest : math.rem(rest, bounds.counts[d]);
    if (d != 0)
      rest = math.div(rest, bounds.counts[d]);
    map.map(loop.getInductionVars()[d],
            math.value(math.add(math.mul(i, bounds.steps[d]), bounds.lbs[d])));
  }
}

/// Step 3: constants cloned, captures mapped to the arguments, then
/// `for i in [begin, end): <loop body at delinearise(i)>`.
void buildBody(func::FuncOp fn, scf::ForallOp loop, const Captures &captures) {
  Block *entry = fn.addEntryBlock();
  OpBuilder b = OpBuilder::atBlockBegin(entry);
  Location loc = loop.getLoc();
  IRMapping map;
  for (Operation *c : captures.constants)
    b.clone(*c, map);
  for (auto [i, v] : llvm::enumerate(captures.values))
    map.map(v, entry->getArgument(i + 2));

  IndexMath math{b, loc};
  BodyBounds bounds = boundsInBody(math, loop, map);
  auto linear = b.create<scf::ForOp>(
      loc, entry->getArgument(0), entry->getArgument(1),
      b.create<arith::ConstantIndexOp>(loc, 1));
  b.create<func::ReturnOp>(loc);

  b.setInsertionPointToStart(linear.getBody());
  delinearise(math, loop, bounds, linear.getInductionVar(), map);
  for (Operation &op : loop.getBody()->without_terminator())
    b.clone(op, map);
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
  func::FuncOp fn = declareBody(loop, parent, index, captures->values, symbols);
  buildBody(fn, loop, *captures);
  replaceByCall(loop, fn, captures->values);
  return true;
}

struct CPUOutlineParallelPass
    : kiln::impl::CPUOutlineParallelBase<CPUOutlineParallelPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    SmallVector<func::FuncOp> funcs(module.getOps<func::FuncOp>());
    for (func::FuncOp parent : funcs) {
      if (parent.isExternal() || parent->hasAttr("kiln.parallel_body"))
        continue;
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
