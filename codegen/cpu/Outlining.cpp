#include "codegen/cpu/Outlining.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"

using namespace mlir;

namespace kiln {

SmallVector<func::FuncOp> outliningParents(ModuleOp module) {
  SmallVector<func::FuncOp> parents;
  for (func::FuncOp f : module.getOps<func::FuncOp>())
    if (!f.isExternal() && !f->hasAttr("kiln.parallel_body"))
      parents.push_back(f);
  return parents;
}

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

std::optional<Captures> classifyCaptures(const SetVector<Value> &above) {
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

func::FuncOp declareParallelBody(Location loc, func::FuncOp parent,
                                 StringRef suffix, ArrayRef<Value> captures,
                                 SymbolTable &symbols) {
  MLIRContext *ctx = parent.getContext();
  OpBuilder b(parent);
  auto indexType = b.getIndexType();
  SmallVector<Type> argTypes = {indexType, indexType};
  for (Value v : captures)
    argTypes.push_back(v.getType());
  auto fn = b.create<func::FuncOp>(
      loc, (parent.getSymName() + "_" + suffix).str(),
      FunctionType::get(ctx, argTypes, {}));
  fn.setPrivate();
  fn->setAttr("kiln.parallel_body", UnitAttr::get(ctx));
  fn->setAttr("llvm.linkage",
              LLVM::LinkageAttr::get(ctx, LLVM::Linkage::Internal));
  symbols.insert(fn);
  return fn;
}

Block *beginParallelBody(func::FuncOp fn, const Captures &captures,
                         IRMapping &map, OpBuilder &b) {
  Block *entry = fn.addEntryBlock();
  b.setInsertionPointToStart(entry);
  for (Operation *c : captures.constants)
    b.clone(*c, map);
  for (auto [i, v] : llvm::enumerate(captures.values))
    map.map(v, entry->getArgument(i + 2));
  return entry;
}

void delinearise(IndexMath &math, scf::ForallOp loop, Value linearIndex,
                 IRMapping &map) {
  auto inBody = [&](OpFoldResult r) -> OpFoldResult {
    if (auto v = dyn_cast<Value>(r))
      return map.lookup(v);
    return r;
  };
  SmallVector<OpFoldResult> lbs = loop.getMixedLowerBound();
  SmallVector<OpFoldResult> ubs = loop.getMixedUpperBound();
  SmallVector<OpFoldResult> steps = loop.getMixedStep();
  OpFoldResult rest = linearIndex;
  for (int d = lbs.size() - 1; d >= 0; --d) {
    OpFoldResult lb = inBody(lbs[d]), step = inBody(steps[d]);
    OpFoldResult i = rest;
    // The outermost count is never needed: the linear range encodes it.
    if (d != 0) {
      OpFoldResult count = math.tripCount(lb, inBody(ubs[d]), step);
      i = math.rem(rest, count);
      rest = math.div(rest, count);
    }
    map.map(loop.getInductionVars()[d],
            math.value(math.add(math.mul(i, step), lb)));
  }
}

} // namespace kiln
