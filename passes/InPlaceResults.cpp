// kiln-in-place-results and kiln-drop-in-place-results: a function result
// marked `kiln.in_place = <j> : i64` is the next value of argument j, and
// the kernel writes it into argument j's buffer instead of an out-parameter
// of its own (KILN_ARG_TENSOR_UPDATE, docs/runtime-abi.md).
//
// Why two passes around one-shot bufferization rather than one: the
// decision whether the producing op can write into the argument (no later
// read of the old value) is bufferization's analysis, which we only feed:
// materialize_in_destination states the destination, the tensor.empty the
// value is computed into becomes the argument (emptyDestination), and the
// analysis copies where it must. What the metadata promises (the result is
// gone from the signature) is checked afterwards on buffers, where it is a
// fact.
#include "passes/Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace kiln {
#define GEN_PASS_DEF_GUARDINPLACERESULTS
#define GEN_PASS_DEF_INPLACERESULTS
#define GEN_PASS_DEF_DROPINPLACERESULTS
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

static constexpr llvm::StringLiteral kInPlace = "kiln.in_place";
static constexpr llvm::StringLiteral kGuard = "kiln.guard";

/// The argument result `r` of `f` is written into, or -1.
static int64_t inPlaceArgument(func::FuncOp f, unsigned r) {
  auto attr = f.getResultAttrOfType<IntegerAttr>(r, kInPlace);
  return attr ? attr.getInt() : -1;
}

/// The single func.return of `f`, or null with an error (kernels have one
/// block; anything else is not ours to rewrite).
static func::ReturnOp singleReturn(func::FuncOp f) {
  if (f.isExternal() || !f.getBody().hasOneBlock()) {
    f.emitError("results marked ") << kInPlace << " need a body of one block";
    return nullptr;
  }
  return cast<func::ReturnOp>(f.getBody().front().getTerminator());
}

/// The results of `f` marked kiln.in_place, as (result, argument) pairs,
/// and its return; no pairs and a null return when none is marked, failure
/// (diagnosed) when a mark names no argument of the result's type or the
/// marked results have no single return to rewrite.
static FailureOr<func::ReturnOp>
markedResults(func::FuncOp f, SmallVectorImpl<std::pair<unsigned, int64_t>> &marked) {
  for (unsigned r = 0; r < f.getNumResults(); ++r) {
    int64_t j = inPlaceArgument(f, r);
    if (j < 0)
      continue;
    if (j >= f.getNumArguments() || f.getArgumentTypes()[j] != f.getResultTypes()[r])
      return f.emitError("result ") << r << " is marked " << kInPlace << " = " << j
                                    << ", which is no argument of its type",
             failure();
    marked.emplace_back(r, j);
  }
  if (marked.empty())
    return func::ReturnOp();
  if (func::ReturnOp ret = singleReturn(f))
    return ret;
  return failure();
}

/// Runs `fn` on every function of `module`, stopping at the first failure.
static LogicalResult eachFunction(ModuleOp module,
                                  llvm::function_ref<LogicalResult(func::FuncOp)> fn) {
  for (auto f : module.getOps<func::FuncOp>())
    if (failed(fn(f)))
      return failure();
  return success();
}

/// The operand through which `v` is computed into a tensor.empty: the
/// destination of v's producer, or of that destination's producer, and so
/// on (a fill, then the contraction accumulating into it; a thread-tiled
/// loop's shared output), ending at an empty. Null when the chain ends
/// elsewhere.
///
/// Why this and not upstream's empty-tensor elimination: that rewrites
/// every subset insertion of the module (and every use of a shared empty),
/// changing how unrelated code bufferizes; this touches only the chains
/// that end in a next value. Replacing an empty by the argument is always
/// sound: an empty's contents are undefined, so any contents will do; the
/// bufferization analysis still decides whether the chain can write into
/// the argument's buffer or must copy it first.
static OpOperand *emptyDestination(Value v) {
  while (auto result = dyn_cast<OpResult>(v)) {
    Operation *op = result.getOwner();
    OpOperand *destination = nullptr;
    if (auto dps = dyn_cast<DestinationStyleOpInterface>(op))
      destination = dps.getTiedOpOperand(result);
    else if (auto forall = dyn_cast<scf::ForallOp>(op))
      destination = forall.getTiedOpOperand(result);
    if (!destination)
      return nullptr;
    if (destination->get().getDefiningOp<tensor::EmptyOp>())
      return destination;
    v = destination->get();
  }
  return nullptr;
}

/// Inside a thread-tiled loop whose shared output starts as a function
/// argument, tiles of that argument are read through the shared output's
/// block argument instead. Same values: within the body the block argument
/// is the initial tensor, since the loop's writes land only after it. But
/// bufferization, seeing each iteration read and write its own tile of one
/// buffer, keeps the update in place, where reading the argument directly
/// looks to it like a read after another iteration's write (and so a copy
/// of the whole argument).
static void readTilesThroughSharedOutputs(func::FuncOp f) {
  f.walk([&](scf::ForallOp forall) {
    for (auto [output, iterArg] : llvm::zip(forall.getOutputs(), forall.getRegionIterArgs())) {
      Value init = output, shared = iterArg;
      auto arg = dyn_cast<BlockArgument>(init);
      if (!arg || arg.getOwner() != &f.getBody().front())
        continue;
      forall.getBody()->walk([&](tensor::ExtractSliceOp slice) {
        if (slice.getSource() == init)
          slice.getSourceMutable().set(shared);
      });
      // The tile read and the tile written are now two equal slices of one
      // value; as one value, the op reading and writing it is elementwise
      // in place, which bufferization accepts (as CSE would make it).
      SmallVector<tensor::ExtractSliceOp> slices;
      for (Operation &op : forall.getBody()->without_terminator())
        if (auto slice = dyn_cast<tensor::ExtractSliceOp>(op); slice && slice.getSource() == shared)
          slices.push_back(slice);
      for (auto [i, later] : llvm::enumerate(slices))
        for (tensor::ExtractSliceOp earlier : ArrayRef(slices).take_front(i))
          if (earlier && later && earlier->getOperands() == later->getOperands() &&
              earlier->getAttrDictionary() == later->getAttrDictionary() &&
              earlier.getType() == later.getType()) {
            later.replaceAllUsesWith(earlier.getResult());
            later.erase();
            slices[i] = nullptr;
            break;
          }
    }
  });
}

namespace {

struct GuardInPlaceResultsPass
    : kiln::impl::GuardInPlaceResultsBase<GuardInPlaceResultsPass> {
  void runOnOperation() override {
    if (failed(eachFunction(getOperation(), [&](func::FuncOp f) { return guard(f); })))
      signalPassFailure();
  }

  /// Whether the check result `v` passed: [index, value] with index -1, or
  /// a finite norm (n - n is 0 exactly for finite n, NaN otherwise).
  static FailureOr<Value> passed(OpBuilder &b, Location loc, Value v, StringRef kind) {
    auto type = dyn_cast<RankedTensorType>(v.getType());
    Type f32 = b.getF32Type();
    Value zero = b.create<arith::ConstantOp>(loc, b.getFloatAttr(f32, 0.0));
    if (kind == "check" && type && type.getShape() == ArrayRef<int64_t>{2} &&
        type.getElementType() == f32) {
      Value c0 = b.create<arith::ConstantIndexOp>(loc, 0);
      Value index = b.create<tensor::ExtractOp>(loc, v, ValueRange{c0});
      return b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OLT, index, zero).getResult();
    }
    if (kind == "norm" && type && type.getRank() == 0 && type.getElementType() == f32) {
      Value norm = b.create<tensor::ExtractOp>(loc, v, ValueRange{});
      Value diff = b.create<arith::SubFOp>(loc, norm, norm);
      return b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OEQ, diff, zero).getResult();
    }
    return failure();
  }

  LogicalResult guard(func::FuncOp f) {
    SmallVector<unsigned> guards;
    for (unsigned r = 0; r < f.getNumResults(); ++r)
      if (f.getResultAttr(r, kGuard))
        guards.push_back(r);
    if (guards.empty())
      return success();
    SmallVector<std::pair<unsigned, int64_t>> updates;
    FailureOr<func::ReturnOp> found = markedResults(f, updates);
    if (failed(found))
      return failure();
    if (updates.empty())
      return success();
    func::ReturnOp ret = *found;
    OpBuilder b(ret);
    Location loc = ret.getLoc();
    Value ok;
    for (unsigned r : guards) {
      auto kind = f.getResultAttrOfType<StringAttr>(r, kGuard);
      FailureOr<Value> pass = failure();
      if (kind)
        pass = passed(b, loc, ret.getOperand(r), kind.getValue());
      if (failed(pass))
        return f.emitError("result ") << r << " is marked " << kGuard << " but is no "
                                      << "check (tensor<2xf32>, \"check\") or norm "
                                      << "(tensor<f32>, \"norm\")",
               failure();
      ok = ok ? b.create<arith::AndIOp>(loc, ok, *pass).getResult() : *pass;
    }
    Value okTensor = b.create<tensor::FromElementsOp>(
        loc, RankedTensorType::get({}, b.getI1Type()), ValueRange{ok});
    for (auto [r, j] : updates) {
      OpOperand &operand = ret->getOpOperand(r);
      auto type = dyn_cast<RankedTensorType>(operand.get().getType());
      if (!type)
        return f.emitError("result ") << r << " is marked " << kInPlace
                                      << " but is no ranked tensor", failure();
      Value old = f.getArgument(j);
      if (isa<FloatType>(type.getElementType())) {
        operand.set(b.create<kiln::nn::WhereOp>(loc, okTensor, operand.get(), old));
      } else if (type.getRank() == 0) {
        operand.set(b.create<arith::SelectOp>(loc, okTensor, operand.get(), old));
      } else {
        return f.emitError("result ") << r << ": an in-place integer tensor of rank > 0 "
                                      << "cannot be guarded", failure();
      }
    }
    return success();
  }
};

struct InPlaceResultsPass : kiln::impl::InPlaceResultsBase<InPlaceResultsPass> {
  void runOnOperation() override {
    if (failed(eachFunction(getOperation(), [&](func::FuncOp f) { return rewrite(f); })))
      signalPassFailure();
  }

  LogicalResult rewrite(func::FuncOp f) {
    SmallVector<std::pair<unsigned, int64_t>> marked;
    FailureOr<func::ReturnOp> found = markedResults(f, marked);
    if (failed(found))
      return failure();
    func::ReturnOp ret = *found;
    llvm::SmallDenseSet<int64_t> taken;
    for (auto [r, j] : marked) {
      if (!isa<RankedTensorType>(f.getResultTypes()[r]))
        return f.emitError("result ") << r << " is marked " << kInPlace
                                      << " but is no ranked tensor";
      if (!taken.insert(j).second)
        return f.emitError("argument ") << j << " is the destination of two results";
      OpBuilder b(ret);
      Value arg = f.getArgument(j);
      OpOperand &operand = ret->getOpOperand(r);
      if (OpOperand *empty = emptyDestination(operand.get()))
        empty->set(arg);
      auto into = b.create<bufferization::MaterializeInDestinationOp>(
          ret.getLoc(), operand.get(), arg);
      operand.set(into.getResult());
    }
    if (ret)
      readTilesThroughSharedOutputs(f);
    return success();
  }
};

struct DropInPlaceResultsPass
    : kiln::impl::DropInPlaceResultsBase<DropInPlaceResultsPass> {
  void runOnOperation() override {
    if (failed(eachFunction(getOperation(), [&](func::FuncOp f) { return drop(f); })))
      signalPassFailure();
  }

  LogicalResult drop(func::FuncOp f) {
    llvm::BitVector erase(f.getNumResults());
    SmallVector<std::pair<unsigned, int64_t>> marked;
    FailureOr<func::ReturnOp> found = markedResults(f, marked);
    if (failed(found))
      return failure();
    func::ReturnOp ret = *found;
    for (auto [r, j] : marked) {
      Value v = ret.getOperand(r);
      while (auto cast = v.getDefiningOp<memref::CastOp>())
        v = cast.getSource();
      if (v != f.getArgument(j))
        return f.emitError("result ")
               << r << " (marked " << kInPlace << " = " << j
               << ") is not returned as that argument's buffer after bufferization",
               failure();
      erase.set(r);
    }
    if (erase.none())
      return success();
    // Kernels are entry points: nothing in the module calls them.
    if (!SymbolTable::symbolKnownUseEmpty(f, getOperation()))
      return f.emitError("a function with results marked ")
             << kInPlace << " must not be called", failure();
    ret->eraseOperands(erase);
    f.eraseResults(erase);
    return success();
  }
};

} // namespace
