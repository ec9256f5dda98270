// kiln-cpu-outline-parallel: scf.forall thread tiles -> private functions
// over a linearised iteration range, called over the whole range. The launch
// itself is made later, on the LLVM dialect (LaunchParallel.cpp), where every
// captured value has a plain LLVM type that can be stored in a context struct.
#include "codegen/cpu/Passes.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/RegionUtils.h"

namespace kiln {
#define GEN_PASS_DEF_CPUOUTLINEPARALLEL
#include "codegen/cpu/Passes.h.inc"
} // namespace kiln

using namespace mlir;

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

/// Index arithmetic on OpFoldResults that folds constants and identities,
/// so static loops produce no index code beyond what is needed.
struct IndexMath {
  OpBuilder &b;
  Location loc;

  Value value(OpFoldResult r) {
    return getValueOrCreateConstantIndexOp(b, loc, r);
  }
  template <typename Op>
  OpFoldResult apply(OpFoldResult x, OpFoldResult y,
                     int64_t (*eval)(int64_t, int64_t)) {
    std::optional<int64_t> cx = getConstantIntValue(x);
    std::optional<int64_t> cy = getConstantIntValue(y);
    if (cx && cy)
      return b.getIndexAttr(eval(*cx, *cy));
    return b.create<Op>(loc, value(x), value(y)).getResult();
  }
  OpFoldResult add(OpFoldResult x, OpFoldResult y) {
    if (isConstantIntValue(y, 0))
      return x;
    if (isConstantIntValue(x, 0))
      return y;
    return apply<arith::AddIOp>(x, y, [](int64_t p, int64_t q) { return p + q; });
  }
  OpFoldResult sub(OpFoldResult x, OpFoldResult y) {
    if (isConstantIntValue(y, 0))
      return x;
    return apply<arith::SubIOp>(x, y, [](int64_t p, int64_t q) { return p - q; });
  }
  OpFoldResult mul(OpFoldResult x, OpFoldResult y) {
    if (isConstantIntValue(y, 1))
      return x;
    if (isConstantIntValue(x, 1))
      return y;
    return apply<arith::MulIOp>(x, y, [](int64_t p, int64_t q) { return p * q; });
  }
  OpFoldResult div(OpFoldResult x, OpFoldResult y) {
    if (isConstantIntValue(y, 1))
      return x;
    return apply<arith::DivSIOp>(x, y, [](int64_t p, int64_t q) { return p / q; });
  }
  OpFoldResult rem(OpFoldResult x, OpFoldResult y) {
    return apply<arith::RemSIOp>(x, y, [](int64_t p, int64_t q) { return p % q; });
  }
  /// max(0, ceil((ub - lb) / step)); steps are positive (scf.forall
  /// verifies it). The clamp matters: two negative counts would multiply
  /// into a positive total.
  OpFoldResult tripCount(OpFoldResult lb, OpFoldResult ub, OpFoldResult step) {
    OpFoldResult span = sub(ub, lb);
    OpFoldResult count =
        isConstantIntValue(step, 1)
            ? span
            : apply<arith::CeilDivSIOp>(span, step, [](int64_t p, int64_t q) {
                return p <= 0 ? 0 : (p + q - 1) / q;
              });
    return apply<arith::MaxSIOp>(count, b.getIndexAttr(0),
                                 [](int64_t p, int64_t q) { return std::max(p, q); });
  }
};

/// Outlines `loop` into `@<parent>_parallel_<index>`; false (IR untouched)
/// when a captured value is not passable.
bool outline(scf::ForallOp loop, func::FuncOp parent, unsigned index,
             SymbolTable &symbols) {
  Region &body = loop.getRegion();
  SetVector<Value> above;
  getUsedValuesDefinedAbove(body, above);
  // The bounds are needed inside too, to turn the linear index back into
  // induction variables; the outermost upper bound is not (the range
  // [begin, end) already encodes it).
  SmallVector<OpFoldResult> ubs = loop.getMixedUpperBound();
  for (OpFoldResult bound : llvm::concat<OpFoldResult>(
           loop.getMixedLowerBound(), MutableArrayRef(ubs).drop_front(),
           loop.getMixedStep()))
    if (auto value = dyn_cast<Value>(bound))
      above.insert(value);

  SmallVector<Value> captures;
  SmallVector<Operation *> constants;
  for (Value v : above) {
    Operation *def = v.getDefiningOp();
    if (def && def->hasTrait<OpTrait::ConstantLike>()) {
      constants.push_back(def);
      continue;
    }
    if (!isPassable(v.getType()))
      return false;
    captures.push_back(v);
  }

  MLIRContext *ctx = loop.getContext();
  OpBuilder b(parent);
  Location loc = loop.getLoc();
  auto indexType = b.getIndexType();
  SmallVector<Type> argTypes = {indexType, indexType};
  for (Value v : captures)
    argTypes.push_back(v.getType());
  auto fn = b.create<func::FuncOp>(
      loc, (parent.getSymName() + "_parallel_" + Twine(index)).str(),
      FunctionType::get(ctx, argTypes, {}));
  fn.setPrivate();
  fn->setAttr("kiln.parallel_body", UnitAttr::get(ctx));
  fn->setAttr("llvm.linkage",
              LLVM::LinkageAttr::get(ctx, LLVM::Linkage::Internal));
  symbols.insert(fn);

  Block *entry = fn.addEntryBlock();
  b.setInsertionPointToStart(entry);
  IRMapping map;
  for (Operation *c : constants)
    b.clone(*c, map);
  for (auto [i, v] : llvm::enumerate(captures))
    map.map(v, entry->getArgument(i + 2));

  // Static bounds stay attributes; dynamic ones are now arguments.
  auto inBody = [&](OpFoldResult r) -> OpFoldResult {
    if (auto v = dyn_cast<Value>(r))
      return map.lookup(v);
    return r;
  };
  IndexMath math{b, loc};
  SmallVector<OpFoldResult> lbs, steps, counts;
  for (auto [lb, ub, step] :
       llvm::zip(loop.getMixedLowerBound(), loop.getMixedUpperBound(),
                 loop.getMixedStep())) {
    lbs.push_back(inBody(lb));
    steps.push_back(inBody(step));
    // Delinearisation divides by every trip count but the outermost.
    counts.push_back(lbs.size() == 1
                         ? OpFoldResult()
                         : math.tripCount(lbs.back(), inBody(ub), steps.back()));
  }
  auto linear = b.create<scf::ForOp>(
      loc, entry->getArgument(0), entry->getArgument(1),
      b.create<arith::ConstantIndexOp>(loc, 1));
  b.create<func::ReturnOp>(loc);

  // Row-major delinearisation: the last induction variable varies fastest,
  // as in scf.forall's own sequential order.
  b.setInsertionPointToStart(linear.getBody());
  OpFoldResult rest = linear.getInductionVar();
  for (int d = counts.size() - 1; d >= 0; --d) {
    OpFoldResult i = d == 0 ? rest : math.rem(rest, counts[d]);
    if (d != 0)
      rest = math.div(rest, counts[d]);
    map.map(loop.getInductionVars()[d],
            math.value(math.add(math.mul(i, steps[d]), lbs[d])));
  }
  for (Operation &op : loop.getBody()->without_terminator())
    b.clone(op, map);

  // Parent: the trip count and one call over the whole range.
  b.setInsertionPoint(loop);
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
