// kiln-cuda-block-reductions: a reduction whose outputs are few, or whose
// rows are long and contiguous, as one block per output that reduces in
// shared memory (Passes.td says when and why).
#include "codegen/cuda/Passes.h"
#include "codegen/cuda/ReductionLoops.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/IR/IRMapping.h"

namespace kiln {
#define GEN_PASS_DEF_CUDABLOCKREDUCTIONS
#include "codegen/cuda/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// Fewer outputs than this leave a GPU mostly idle at one thread each.
constexpr int64_t kFewOutputs = 4096;
/// Shorter reductions stay one thread per output: a tree over fewer
/// terms than a warp costs more barriers than it saves.
constexpr int64_t kMinLength = 32;
/// A contiguous row at least this long is read coalesced by a block even
/// when there are enough rows for one thread each.
constexpr int64_t kLongRow = 128;

/// The value the combiner starts from: `combine(identity, x) == x` for
/// every x, NaN and -0.0 included, so threads without terms change nothing.
std::optional<APFloat> identityOf(Operation *combine, const llvm::fltSemantics &sem) {
  if (isa<arith::AddFOp>(combine))
    return APFloat::getZero(sem, /*Negative=*/true);
  if (isa<arith::MulFOp>(combine))
    return APFloat::getOne(sem);
  if (isa<arith::MaximumFOp>(combine))
    return APFloat::getInf(sem, /*Negative=*/true);
  if (isa<arith::MinimumFOp>(combine))
    return APFloat::getInf(sem, /*Negative=*/false);
  // maxnum/minnum return the other operand of a NaN.
  if (isa<arith::MaxNumFOp, arith::MinNumFOp>(combine))
    return APFloat::getQNaN(sem);
  return std::nullopt;
}

/// An output that the reduction loops combine into: the generic yields
/// `combine(acc, term)` for it, its accumulator used there only.
struct Reduced {
  unsigned output = 0;
  Operation *combine = nullptr;
  Value term;
  APFloat identity = APFloat(0.0f);
};

struct Plan : kiln::cuda::ReductionLoops {
  SmallVector<Reduced> reduced;   // at least one
  // The other outputs: one element per iteration (their maps permute all
  // loops), written by the thread that runs that iteration (a fused
  // loss's gradient beside its sum).
  SmallVector<unsigned> perTerm;
  int64_t threads = 0;
  bool contiguousRow = false;
};

/// Whether some input reads its innermost reduction loop as its last,
/// unit-stride dimension: the threads of a block then read consecutive
/// addresses.
bool readsRowsContiguously(linalg::GenericOp op, unsigned innermost) {
  for (OpOperand *in : op.getDpsInputOperands()) {
    auto type = dyn_cast<MemRefType>(in->get().getType());
    AffineMap map = op.getMatchingIndexingMap(in);
    if (!type || map.getNumResults() == 0)
      continue;
    auto last = dyn_cast<AffineDimExpr>(map.getResults().back());
    SmallVector<int64_t> strides;
    int64_t offset;
    if (last && last.getPosition() == innermost &&
        succeeded(getStridesAndOffset(type, strides, offset)) && strides.back() == 1)
      return true;
  }
  return false;
}

/// Output `i` as a reduced output, if it is one: a float buffer indexed
/// by a permutation of the parallel loops (no two blocks write one
/// element), yielded as combine(acc, term) with an identity.
std::optional<Reduced> reducedOutput(linalg::GenericOp op, unsigned i, unsigned parallel) {
  OpOperand *init = op.getDpsInitOperand(i);
  auto type = dyn_cast<MemRefType>(init->get().getType());
  AffineMap map = op.getMatchingIndexingMap(init);
  if (!type || !isa<FloatType>(type.getElementType()) || !map.isProjectedPermutation() ||
      map.getNumResults() != parallel)
    return std::nullopt;
  for (unsigned d = parallel; d < map.getNumDims(); ++d)
    if (map.isFunctionOfDim(d))
      return std::nullopt;
  Block &body = op.getRegion().front();
  BlockArgument acc = op.getMatchingBlockArgument(init);
  Operation *combine = body.getTerminator()->getOperand(i).getDefiningOp();
  if (!combine || combine->getBlock() != &body || !combine->hasOneUse() ||
      combine->getNumOperands() != 2 || !acc.hasOneUse() || *acc.getUsers().begin() != combine)
    return std::nullopt;
  std::optional<APFloat> identity =
      identityOf(combine, cast<FloatType>(type.getElementType()).getFloatSemantics());
  if (!identity)
    return std::nullopt;
  Value term = combine->getOperand(0) == acc ? combine->getOperand(1) : combine->getOperand(0);
  return Reduced{i, combine, term, *identity};
}

/// Whether `op` is a reduction this pass takes, and how: buffers, the
/// parallel loops before the reductions, static sizes, every output
/// either reduced (reducedOutput) or one element per iteration, at least
/// one reduced.
std::optional<Plan> plan(linalg::GenericOp op, int64_t maxThreads) {
  if (!op.hasPureBufferSemantics())
    return std::nullopt;
  std::optional<kiln::cuda::ReductionLoops> loops = kiln::cuda::reductionLoops(op);
  if (!loops)
    return std::nullopt;
  Plan p;
  static_cast<kiln::cuda::ReductionLoops &>(p) = std::move(*loops);
  for (unsigned i = 0; i < op.getNumDpsInits(); ++i) {
    if (std::optional<Reduced> r = reducedOutput(op, i, p.parallel)) {
      p.reduced.push_back(*r);
      continue;
    }
    OpOperand *init = op.getDpsInitOperand(i);
    if (!isa<MemRefType>(init->get().getType()) ||
        !op.getMatchingIndexingMap(init).isPermutation())
      return std::nullopt;
    p.perTerm.push_back(i);
  }
  if (p.reduced.empty())
    return std::nullopt;
  p.contiguousRow = readsRowsContiguously(op, p.ranges.size() - 1);
  if (p.length < kMinLength ||
      !(p.outputs < kFewOutputs || (p.contiguousRow && p.length >= kLongRow)))
    return std::nullopt;
  p.threads = std::clamp<int64_t>(llvm::PowerOf2Ceil(p.length), 32, maxThreads);
  return p;
}

/// `linear` as indices of loops with `ranges` (row-major).
SmallVector<Value> delinearize(OpBuilder &b, Location loc, Value linear,
                               ArrayRef<int64_t> ranges) {
  SmallVector<Value> indices(ranges.size());
  for (int i = int(ranges.size()) - 1; i > 0; --i) {
    Value size = b.create<arith::ConstantIndexOp>(loc, ranges[i]);
    indices[i] = b.create<arith::RemUIOp>(loc, linear, size);
    linear = b.create<arith::DivUIOp>(loc, linear, size);
  }
  if (!ranges.empty())
    indices[0] = linear;
  return indices;
}

/// The element of `buffer` that `map` addresses at loop indices `loops`.
SmallVector<Value> address(OpBuilder &b, Location loc, AffineMap map, ValueRange loops) {
  SmallVector<Value> indices;
  for (unsigned i = 0; i < map.getNumResults(); ++i)
    indices.push_back(b.create<affine::AffineApplyOp>(loc, map.getSubMap({i}), loops));
  return indices;
}

struct CUDABlockReductionsPass
    : kiln::impl::CUDABlockReductionsBase<CUDABlockReductionsPass> {
  using CUDABlockReductionsBase::CUDABlockReductionsBase;

  void runOnOperation() override {
    if (threads < 32 || threads > 1024 || !llvm::isPowerOf2_64(threads)) {
      getOperation().emitError(
          "kiln-cuda-block-reductions: threads must be a power of two in [32, 1024]");
      return signalPassFailure();
    }
    SmallVector<std::pair<linalg::GenericOp, Plan>> work;
    getOperation().walk([&](linalg::GenericOp op) {
      if (std::optional<Plan> p = plan(op, threads))
        work.push_back({op, std::move(*p)});
    });
    for (auto &[op, p] : work)
      rewrite(op, p);
  }

  /// One block per output element. Thread t combines the terms t, t + T,
  /// t + 2T, ... of its output (consecutive threads, consecutive terms),
  /// writing the per-term outputs of those iterations, and stores its
  /// partials into shared memory (a buffer per reduced output); a tree of
  /// log2(T) halvings, each behind a barrier, combines the T partials;
  /// thread 0 combines the results into the outputs' initial values.
  /// Every barrier is at the top of the kernel body, reached by all
  /// threads of the block (the tree's levels are unrolled), which
  /// kiln-cuda-emulate-on-cpu relies on.
  void rewrite(linalg::GenericOp op, const Plan &p) {
    OpBuilder b(op);
    Location loc = op.getLoc();
    auto c = [&](int64_t v) { return b.create<arith::ConstantIndexOp>(loc, v).getResult(); };
    auto workgroup = gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
    SmallVector<Type> shared;
    for (const Reduced &r : p.reduced)
      shared.push_back(MemRefType::get(
          {p.threads}, cast<MemRefType>(op.getDpsInits()[r.output].getType()).getElementType(),
          AffineMap(), workgroup));
    auto launch = b.create<gpu::LaunchOp>(loc, c(p.outputs), c(1), c(1), c(p.threads), c(1),
                                          c(1), /*dynamicSharedMemorySize=*/nullptr,
                                          /*asyncTokenType=*/nullptr, ValueRange{}, shared);
    ArrayRef<BlockArgument> partials = launch.getWorkgroupAttributions();
    b.setInsertionPointToStart(&launch.getBody().front());
    Value tx = launch.getThreadIds().x;
    ArrayRef<int64_t> ranges = p.ranges;
    SmallVector<Value> outer =
        delinearize(b, loc, launch.getBlockIds().x, ranges.take_front(p.parallel));
    SmallVector<Value> identities;
    for (const Reduced &r : p.reduced)
      identities.push_back(b.create<arith::ConstantFloatOp>(
          loc, r.identity, cast<FloatType>(r.term.getType())));

    // This thread's terms.
    auto terms = b.create<scf::ForOp>(loc, tx, c(p.length), c(p.threads), identities);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(terms.getBody());
      SmallVector<Value> loops(outer);
      llvm::append_range(loops, delinearize(b, loc, terms.getInductionVar(),
                                            ranges.drop_front(p.parallel)));
      IRMapping map;
      Block &body = op.getRegion().front();
      for (OpOperand *in : op.getDpsInputOperands()) {
        Value v = in->get();
        if (isa<MemRefType>(v.getType()))
          v = b.create<memref::LoadOp>(loc, v,
                                       address(b, loc, op.getMatchingIndexingMap(in), loops));
        map.map(body.getArgument(in->getOperandNumber()), v);
      }
      // A per-term output's element, if the body reads it.
      for (unsigned i : p.perTerm) {
        OpOperand *out = op.getDpsInitOperand(i);
        BlockArgument arg = op.getMatchingBlockArgument(out);
        if (!arg.use_empty())
          map.map(arg, b.create<memref::LoadOp>(
                           loc, out->get(), address(b, loc, op.getMatchingIndexingMap(out), loops)));
      }
      for (Operation &inner : body.without_terminator()) {
        if (llvm::any_of(p.reduced, [&](const Reduced &r) { return r.combine == &inner; }))
          continue;
        if (auto index = dyn_cast<linalg::IndexOp>(inner)) {
          map.map(index.getResult(), loops[index.getDim()]);
          continue;
        }
        b.clone(inner, map);
      }
      Operation *yield = body.getTerminator();
      for (unsigned i : p.perTerm) {
        OpOperand *out = op.getDpsInitOperand(i);
        b.create<memref::StoreOp>(loc, map.lookupOrDefault(yield->getOperand(i)), out->get(),
                                  address(b, loc, op.getMatchingIndexingMap(out), loops));
      }
      SmallVector<Value> next;
      for (auto [r, acc] : llvm::zip(p.reduced, terms.getRegionIterArgs()))
        next.push_back(combine(b, r, acc, map.lookupOrDefault(r.term)));
      b.create<scf::YieldOp>(loc, next);
    }
    for (auto [partial, value] : llvm::zip(partials, terms.getResults()))
      b.create<memref::StoreOp>(loc, value, partial, tx);
    b.create<gpu::BarrierOp>(loc);

    // The tree: at each level the lower half adds the upper half.
    for (int64_t half = p.threads / 2; half >= 1; half /= 2) {
      Value active = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, tx, c(half));
      auto level = b.create<scf::IfOp>(loc, active, /*withElseRegion=*/false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(level.thenBlock());
      Value upper = b.create<arith::AddIOp>(loc, tx, c(half));
      for (auto [r, partial] : llvm::zip(p.reduced, partials)) {
        Value mine = b.create<memref::LoadOp>(loc, partial, tx);
        Value other = b.create<memref::LoadOp>(loc, partial, upper);
        b.create<memref::StoreOp>(loc, combine(b, r, mine, other), partial, tx);
      }
      b.setInsertionPointAfter(level);
      // Thread 0 wrote the last level's results itself: no barrier after it.
      if (half > 1)
        b.create<gpu::BarrierOp>(loc);
    }

    // The outputs: their initial values combined with the block's results.
    Value first = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, tx, c(0));
    auto store = b.create<scf::IfOp>(loc, first, /*withElseRegion=*/false);
    b.setInsertionPointToStart(store.thenBlock());
    // Their maps do not use the reduction loops: any index will do there.
    SmallVector<Value> outLoops(outer);
    outLoops.resize(ranges.size(), c(0));
    for (auto [r, partial] : llvm::zip(p.reduced, partials)) {
      OpOperand *out = op.getDpsInitOperand(r.output);
      SmallVector<Value> at = address(b, loc, op.getMatchingIndexingMap(out), outLoops);
      Value init = b.create<memref::LoadOp>(loc, out->get(), at);
      Value total = b.create<memref::LoadOp>(loc, partial, ValueRange{c(0)});
      b.create<memref::StoreOp>(loc, combine(b, r, init, total), out->get(), at);
    }
    b.setInsertionPointToEnd(&launch.getBody().front());
    b.create<gpu::TerminatorOp>(loc);

    if (remarks)
      op.emitRemark() << "reduction on one GPU block per output: " << p.outputs
                      << (p.outputs == 1 ? " output" : " outputs") << " of " << p.length
                      << " terms, " << p.threads << " threads and a shared-memory tree each"
                      << (p.contiguousRow ? " (rows read coalesced)" : "");
    op.erase();
  }

  /// The generic's combiner on (a, b), with its attributes (fastmath).
  static Value combine(OpBuilder &b, const Reduced &r, Value lhs, Value rhs) {
    Operation *op = b.clone(*r.combine);
    op->setOperands({lhs, rhs});
    return op->getResult(0);
  }
};

} // namespace
