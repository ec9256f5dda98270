// kiln-cpu-fuse-row-reductions (Passes.td): a linalg.generic that reads row
// statistics (a softmax's max and sum of exponentials, a norm's mean) is
// tiled into blocks of rows, and the reductions that compute those
// statistics, with the ops that only feed them, are computed per block
// inside the same loop: one pass over each block of rows instead of one pass
// over the whole tensor per reduction.
#include "codegen/cpu/GenericRows.h"
#include "codegen/cpu/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "llvm/ADT/SmallVectorExtras.h"

#include <deque>

namespace kiln {
#define GEN_PASS_DEF_CPUFUSEROWREDUCTIONS
#include "codegen/cpu/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

bool isRowReduction(Operation *op) {
  auto g = dyn_cast<linalg::GenericOp>(op);
  return g && g.getNumReductionLoops() > 0 && g.getNumParallelLoops() > 0;
}

/// The producers of `consumer` that may move into its row loop: linalg
/// generics and fills (and, transitively, theirs) all of whose users are
/// the consumer or such producers, so that none is needed outside the loop
/// and none is computed twice. Named contractions stay (the GEMM path).
llvm::SetVector<Operation *> fusableProducers(linalg::GenericOp consumer) {
  llvm::SetVector<Operation *> group, pending;
  auto addOperands = [&](Operation *op) {
    for (Value v : op->getOperands())
      if (Operation *def = v.getDefiningOp())
        if (isa<linalg::GenericOp, linalg::FillOp>(def) && !group.contains(def))
          pending.insert(def);
  };
  addOperands(consumer);
  bool changed = true;
  while (changed) {
    changed = false;
    for (Operation *op : llvm::to_vector(pending)) {
      bool onlyInside = llvm::all_of(op->getUsers(), [&](Operation *user) {
        return user == consumer.getOperation() || group.contains(user);
      });
      if (!onlyInside ||
          llvm::any_of(op->getResultTypes(),
                       [](Type t) { return !cast<ShapedType>(t).hasStaticShape(); }))
        continue;
      pending.remove(op);
      group.insert(op);
      addOperands(op);
      changed = true;
    }
  }
  return group;
}

bool sameIndex(OpFoldResult a, OpFoldResult b) {
  if (isEqualConstantIntOrValue(a, b))
    return true;
  auto va = dyn_cast<Value>(a), vb = dyn_cast<Value>(b);
  if (!va || !vb)
    return false;
  auto aa = va.getDefiningOp<affine::AffineApplyOp>();
  auto ab = vb.getDefiningOp<affine::AffineApplyOp>();
  return aa && ab && aa.getAffineMap() == ab.getAffineMap() &&
         aa.getMapOperands() == ab.getMapOperands();
}

/// Whether two slices of one tensor cover the same elements.
bool sameSlice(tensor::ExtractSliceOp a, tensor::ExtractSliceOp b) {
  auto equal = [](ArrayRef<OpFoldResult> x, ArrayRef<OpFoldResult> y) {
    return x.size() == y.size() &&
           llvm::all_of(llvm::zip(x, y), [](auto pair) {
             return sameIndex(std::get<0>(pair), std::get<1>(pair));
           });
  };
  return a.getSource() == b.getSource() && a.getType() == b.getType() &&
         equal(a.getMixedOffsets(), b.getMixedOffsets()) &&
         equal(a.getMixedSizes(), b.getMixedSizes()) &&
         equal(a.getMixedStrides(), b.getMixedStrides());
}

/// CSE leaves producers that write into slices of one tensor.empty (the
/// [N] statistics of a softmax share one); inside the row loop their
/// per-block slices would then conflict, and bufferization would allocate
/// per task. One empty each keeps every block's temporaries as disjoint
/// views of buffers allocated (and planned) outside the loop.
void giveOwnEmptyDestinations(IRRewriter &rewriter,
                              const llvm::SetVector<Operation *> &group) {
  for (Operation *op : group) {
    auto dps = dyn_cast<DestinationStyleOpInterface>(op);
    if (!dps)
      continue;
    for (OpOperand &init : dps.getDpsInitsMutable()) {
      auto empty = init.get().getDefiningOp<tensor::EmptyOp>();
      if (!empty || empty->hasOneUse())
        continue;
      rewriter.setInsertionPoint(op);
      Operation *own = rewriter.clone(*empty);
      rewriter.modifyOpInPlace(op, [&] { init.set(own->getResult(0)); });
    }
  }
}

struct Fusion {
  int64_t blockRows = 0;
  bool threaded = false;
};

/// Blocks of rows for the fused loop: thread tasks as kiln-cpu-tile-and-
/// vectorize would make them; else, when the rows do not all fit one block
/// of kGenericGrain iterations (16 KiB of f32 per operand), sequential
/// blocks of at most that size, so each block's rows stay in L1 between the
/// reductions and the consumer. 0 rows: leave the ops alone.
Fusion chooseBlocks(int64_t rows, int64_t rowIterations) {
  if (int64_t b = threadBlockRows(rows, rowIterations))
    return {b, true};
  if (rows * rowIterations <= kGenericGrain)
    return {};
  for (int64_t b = rows - 1; b >= 1; --b)
    if (rows % b == 0 && b * rowIterations <= kGenericGrain)
      return {b, false};
  return {};
}

struct CPUFuseRowReductionsPass
    : kiln::impl::CPUFuseRowReductionsBase<CPUFuseRowReductionsPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<linalg::GenericOp> consumers;
    getOperation().walk([&](linalg::GenericOp op) { consumers.push_back(op); });
    DenseSet<Operation *> erased;
    IRRewriter rewriter(&getContext());
    // Last first: a consumer that feeds a later one joins the later's group.
    for (linalg::GenericOp consumer : llvm::reverse(consumers)) {
      if (erased.contains(consumer.getOperation()))
        continue;
      if (failed(fuse(rewriter, consumer, erased)))
        return signalPassFailure();
    }
  }

  LogicalResult fuse(IRRewriter &rewriter, linalg::GenericOp consumer,
                     DenseSet<Operation *> &erased) {
    std::optional<unsigned> loop = outermostOutputLoop(consumer);
    SmallVector<int64_t> ranges = consumer.getStaticLoopRanges();
    if (!loop || llvm::any_of(ranges, ShapedType::isDynamic))
      return success();
    llvm::SetVector<Operation *> group = fusableProducers(consumer);
    int64_t reductions = llvm::count_if(group, isRowReduction);
    if (reductions == 0)
      return success();
    int64_t rowIterations = 1;
    for (auto [i, r] : llvm::enumerate(ranges))
      if (i != *loop)
        rowIterations *= r;
    Fusion blocks = chooseBlocks(ranges[*loop], rowIterations);
    if (blocks.blockRows == 0) {
      if (remarks)
        consumer.emitRemark()
            << "fusion: " << reductions
            << " row reduction(s) before this op left as loops of their own: "
               "all its rows fit one block of "
            << kGenericGrain << " iterations (they stay in L1 as they are)";
      return success();
    }

    giveOwnEmptyDestinations(rewriter, group);

    SmallVector<int64_t> sizes(ranges.size(), 0);
    sizes[*loop] = blocks.blockRows;
    scf::SCFTilingOptions options;
    options.setTileSizes(getAsIndexOpFoldResult(&getContext(), sizes));
    options.setLoopType(blocks.threaded
                            ? scf::SCFTilingOptions::LoopType::ForallOp
                            : scf::SCFTilingOptions::LoopType::ForOp);
    rewriter.setInsertionPoint(consumer);
    FailureOr<scf::SCFTilingResult> tiled = scf::tileUsingSCF(
        rewriter, cast<TilingInterface>(consumer.getOperation()), options);
    if (failed(tiled))
      return consumer.emitError("internal error: tiling the rows failed");
    rewriter.replaceOp(consumer, tiled->replacements);
    erased.insert(consumer.getOperation());

    // Producers' slices, consumer to producers. A producer result already
    // fused for an equal slice is reused rather than computed again.
    std::deque<tensor::ExtractSliceOp> worklist;
    auto enqueue = [&](Operation *op) {
      for (Value v : op->getOperands())
        if (auto slice = v.getDefiningOp<tensor::ExtractSliceOp>())
          worklist.push_back(slice);
    };
    for (Operation *op : tiled->tiledOps)
      enqueue(op);
    DenseMap<Value, std::pair<tensor::ExtractSliceOp, Value>> fused;
    while (!worklist.empty()) {
      tensor::ExtractSliceOp slice = worklist.front();
      worklist.pop_front();
      auto source = dyn_cast<OpResult>(slice.getSource());
      if (!source || !group.contains(source.getOwner()))
        continue;
      if (auto it = fused.find(source); it != fused.end()) {
        auto [first, value] = it->second;
        Operation *def = value.getDefiningOp();
        if (sameSlice(first, slice) && def &&
            def->getBlock() == slice->getBlock() && def->isBeforeInBlock(slice))
          rewriter.replaceAllUsesWith(slice.getResult(), value);
        continue;
      }
      // A block that reads the whole of a producer's result (a per-channel
      // statistic of a loop over images) would recompute all of it in every
      // block: that producer stays outside, computed once.
      if (slice.getType().getShape() ==
          cast<RankedTensorType>(slice.getSource().getType()).getShape())
        continue;
      std::optional<scf::SCFFuseProducerOfSliceResult> result =
          scf::tileAndFuseProducerOfSlice(rewriter, slice, tiled->loops);
      if (!result)
        continue;
      fused[source] = {slice, result->tiledAndFusedProducer};
      // The producer's block goes to a slice of a loop result (a shared
      // output of the forall): bufferization then writes each block in
      // place into one buffer allocated outside the loop, where a block's
      // own temporary would be allocated per task.
      if (failed(scf::yieldReplacementForFusedProducer(rewriter, slice, *result,
                                                       tiled->loops)))
        return consumer.emitError("internal error: yielding a fused row block failed");
      for (Operation *op : result->tiledOps)
        enqueue(op);
    }

    // Yielding replaced the loop: mark the final one.
    tiled->loops.front()->setAttr(kFusedRowLoopAttr, rewriter.getUnitAttr());

    // The slices the fused copies replaced, then the originals are dead,
    // unless a slice could not be fused (then they stay, computed once
    // outside the loop: correct, only unfused). A fill can stay as the
    // consumer's own destination.
    tiled->loops.front()->walk([&](tensor::ExtractSliceOp slice) {
      if (slice->use_empty())
        rewriter.eraseOp(slice);
    });
    // Erased ops are freed: what the remark needs of them is read first,
    // and only pointers of ops alive at this point are compared (a freed
    // op's address may be reused by an op created later).
    SmallVector<bool> groupIsReduction = llvm::map_to_vector(group, isRowReduction);
    DenseSet<Operation *> erasedHere;
    for (bool progress = true; progress;) {
      progress = false;
      for (Operation *op : llvm::reverse(group)) {
        if (erasedHere.contains(op) || !op->use_empty())
          continue;
        erasedHere.insert(op);
        rewriter.eraseOp(op);
        progress = true;
      }
    }
    erased.insert(erasedHere.begin(), erasedHere.end());
    if (remarks) {
      // What moved into the loop: the group's ops that are gone outside.
      int64_t movedReductions = 0, movedOthers = 0, kept = 0;
      for (auto [op, reduction] : llvm::zip_equal(group, groupIsReduction)) {
        bool moved = erasedHere.contains(op);
        if (reduction)
          (moved ? movedReductions : kept) += 1;
        else if (moved)
          ++movedOthers;
      }
      InFlightDiagnostic d = tiled->tiledOps.front()->emitRemark();
      d << "fusion: " << movedReductions << " row reduction(s) and " << movedOthers
        << " op(s) feeding them computed per block of " << blocks.blockRows
        << " rows in this op's loop ("
        << (blocks.threaded ? "one thread task per block" : "sequential blocks") << ")";
      if (kept > 0)
        d << "; " << kept
          << " reduction(s) kept outside, computed once (every block reads all of it)";
    }
    return success();
  }
};

} // namespace
