// kiln-produce-into-slices: before bufferization, a tensor assembled from
// pieces by a chain of tensor.insert_slice ops into a tensor.empty (a
// data-parallel gradient bucket, nn-bucket-all-reduce) gets each piece
// computed in its slice, so that bufferization copies nothing (Passes.td).
//
// Why a rewrite: one-shot bufferization copies every piece into the
// assembled buffer, and it elides a copy only for the canonical form
// "extract_slice of the chain's value -> compute into it -> insert_slice
// into that same value at the same place", where it sees the slice and
// the insert are one. The bucket's chain comes after all its producers, and
// a piece written into a slice of the base tensor ahead of an insert into
// another slice is copied all the same (the analysis does not reason about
// disjoint slices). So the chain is rebuilt in the producers' order, each
// insert right after its producer, each producer's destination the slice
// of the chain value just before it.
//
// Rule: for a chain in one block, bottoming out in a tensor.empty of static
// shape, with static, pairwise disjoint slices of unit stride, each piece
// whose value (or its tensor.collapse_shape) has no other use and whose
// destination chain (DPS inits, scf.forall shared outputs, each used once)
// starts at a tensor.empty of the same block is eligible. The eligible
// pieces are chained in program order of their producers: the root empty
// becomes extract_slice (+ expand_shape) of the previous chain value, moved
// with the ops between it and the producer (a fill) to right before the
// producer; the insert follows the producer. The other pieces are inserted
// after them where the old chain's last insert was. Other uses of the base
// tensor.empty get an empty of their own.
#include "passes/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace kiln {
#define GEN_PASS_DEF_PRODUCEINTOSLICES
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// The operand `result` is computed in place of: a DPS op's tied init, an
/// scf.forall's shared output; null for anything else.
OpOperand *tiedDestination(OpResult result) {
  Operation *op = result.getOwner();
  if (auto dps = dyn_cast<DestinationStyleOpInterface>(op))
    return dps.getTiedOpOperand(result);
  if (auto forall = dyn_cast<scf::ForallOp>(op))
    return &forall.getOutputsMutable()[result.getResultNumber()];
  return nullptr;
}

/// One insert_slice of the chain.
struct Piece {
  tensor::InsertSliceOp insert;
  int64_t offset = 0, size = 0; // the slice, in the flattened base
  /// Eligible pieces: the producer's result, its collapse_shape (or null),
  /// the tensor.empty its destination chain starts from, and the ops of
  /// that chain between the empty and the producer.
  Value produced;
  tensor::CollapseShapeOp collapse;
  tensor::EmptyOp root;
  OpOperand *rootUse = nullptr; // the destination operand the root fills
  SmallVector<Operation *> initOps;
};

/// The chain ending at `last` (insert_slice ops whose dests lead to a
/// tensor.empty), first insert first; empty when it is not one.
SmallVector<tensor::InsertSliceOp> chainOf(tensor::InsertSliceOp last,
                                           tensor::EmptyOp &base) {
  SmallVector<tensor::InsertSliceOp> chain;
  Value v = last.getResult();
  while (auto insert = v.getDefiningOp<tensor::InsertSliceOp>()) {
    if (insert->getBlock() != last->getBlock())
      return {};
    chain.push_back(insert);
    v = insert.getDest();
    // Inner links are used once: by the next insert.
    if (!v.hasOneUse() && v.getDefiningOp<tensor::InsertSliceOp>())
      return {};
  }
  base = v.getDefiningOp<tensor::EmptyOp>();
  if (!base || base->getBlock() != last->getBlock() || !base.getType().hasStaticShape())
    return {};
  std::reverse(chain.begin(), chain.end());
  return chain;
}

/// The slice of `insert` as [offset, offset + size) of a 1-D destination
/// with unit stride, with the source of the destination's rank.
bool sliceOf(tensor::InsertSliceOp insert, Piece &piece) {
  if (insert.getDestType().getRank() != 1 ||
      insert.getSourceType().getRank() != 1 || !insert.hasUnitStride())
    return false;
  std::optional<int64_t> offset = getConstantIntValue(insert.getMixedOffsets()[0]);
  std::optional<int64_t> size = getConstantIntValue(insert.getMixedSizes()[0]);
  if (!offset || !size)
    return false;
  piece.offset = *offset;
  piece.size = *size;
  return true;
}

/// Fills in the producer side of `piece`; false when it is not eligible.
bool findProducer(Piece &piece) {
  Block *block = piece.insert->getBlock();
  Value source = piece.insert.getSource();
  if (!source.hasOneUse())
    return false;
  if (auto collapse = source.getDefiningOp<tensor::CollapseShapeOp>()) {
    piece.collapse = collapse;
    source = collapse.getSrc();
    if (!source.hasOneUse())
      return false;
  }
  auto result = dyn_cast<OpResult>(source);
  if (!result || result.getOwner()->getBlock() != block)
    return false;
  piece.produced = source;
  // Down the destinations to the tensor.empty they start from.
  OpOperand *dest = tiedDestination(result);
  while (dest) {
    Value v = dest->get();
    // A tensor.empty may be shared (CSE): only this use is replaced.
    if (auto empty = v.getDefiningOp<tensor::EmptyOp>()) {
      if (empty->getBlock() != block || !empty.getType().hasStaticShape())
        return false;
      piece.root = empty;
      piece.rootUse = dest;
      break;
    }
    if (!v.hasOneUse())
      return false;
    auto inner = dyn_cast<OpResult>(v);
    if (!inner || inner.getOwner()->getBlock() != block)
      return false;
    piece.initOps.push_back(inner.getOwner());
    dest = tiedDestination(inner);
  }
  if (!piece.root)
    return false;
  // Pure on tensors and before the producer already: they may move down
  // to it.
  std::reverse(piece.initOps.begin(), piece.initOps.end());
  return llvm::all_of(piece.initOps, [](Operation *op) { return isMemoryEffectFree(op); });
}

struct ProduceIntoSlicesPass : kiln::impl::ProduceIntoSlicesBase<ProduceIntoSlicesPass> {
  void runOnOperation() override {
    // The last insert of every chain: one whose result no insert extends.
    SmallVector<tensor::InsertSliceOp> ends;
    getOperation().walk([&](tensor::InsertSliceOp insert) {
      bool extended = llvm::any_of(insert->getUsers(), [&](Operation *user) {
        auto next = dyn_cast<tensor::InsertSliceOp>(user);
        return next && next.getDest() == insert.getResult();
      });
      if (!extended)
        ends.push_back(insert);
    });
    for (tensor::InsertSliceOp end : ends)
      rebuild(end);
  }

  void rebuild(tensor::InsertSliceOp end) {
    tensor::EmptyOp base;
    SmallVector<tensor::InsertSliceOp> chain = chainOf(end, base);
    if (chain.empty())
      return;
    SmallVector<Piece> pieces(chain.size());
    for (auto [piece, insert] : llvm::zip(pieces, chain)) {
      piece.insert = insert;
      if (!sliceOf(insert, piece))
        return;
    }
    // Disjoint slices: the inserts may then come in any order.
    SmallVector<Piece *> byOffset;
    for (Piece &p : pieces)
      byOffset.push_back(&p);
    llvm::sort(byOffset, [](Piece *a, Piece *b) { return a->offset < b->offset; });
    for (size_t i = 1; i < byOffset.size(); ++i)
      if (byOffset[i - 1]->offset + byOffset[i - 1]->size > byOffset[i]->offset)
        return;

    SmallVector<Piece *> eligible, others;
    for (Piece &p : pieces)
      (findProducer(p) ? eligible : others).push_back(&p);
    if (eligible.empty())
      return;
    auto producerOf = [](Piece *p) { return p->produced.getDefiningOp(); };
    llvm::sort(eligible, [&](Piece *a, Piece *b) {
      return producerOf(a)->isBeforeInBlock(producerOf(b));
    });

    // Where the old chain ended: the pieces that stay copies go there, and
    // what read its value reads the new chain's.
    Operation *anchor = end->getNextNode();
    SmallVector<OpOperand *> readers;
    for (OpOperand &use : end->getResult(0).getUses())
      readers.push_back(&use);
    // The base first of all, with its other users on empties of their own.
    OpBuilder b(base);
    for (OpOperand &use : llvm::make_early_inc_range(base->getUses())) {
      if (use.getOwner() == chain.front())
        continue;
      b.setInsertionPoint(use.getOwner());
      use.set(b.clone(*base)->getResult(0));
    }
    // Before every slice taken of it: those go right before each producer's
    // init ops once moved there, so no earlier than where the first of them,
    // or the first producer, is now.
    Operation *first = producerOf(eligible.front());
    for (Piece *p : eligible)
      if (!p->initOps.empty() && p->initOps.front()->isBeforeInBlock(first))
        first = p->initOps.front();
    if (first->isBeforeInBlock(base))
      base->moveBefore(first);

    Value current = base.getResult();
    for (Piece *p : eligible) {
      Operation *producer = producerOf(p);
      for (Operation *op : p->initOps)
        op->moveBefore(producer);
      b.setInsertionPoint(p->initOps.empty() ? producer : p->initOps.front());
      Location loc = p->root.getLoc();
      Value slice = b.create<tensor::ExtractSliceOp>(
          loc, current, ArrayRef<OpFoldResult>{b.getIndexAttr(p->offset)},
          ArrayRef<OpFoldResult>{b.getIndexAttr(p->size)},
          ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
      if (p->collapse)
        slice = b.create<tensor::ExpandShapeOp>(loc, p->root.getType(), slice,
                                                p->collapse.getReassociationIndices());
      p->rootUse->set(slice);
      if (p->root->use_empty())
        p->root->erase();
      // The insert (and its collapse) right after the producer.
      if (p->collapse)
        p->collapse->moveAfter(producer);
      p->insert->moveAfter(p->collapse ? p->collapse.getOperation() : producer);
      p->insert.getDestMutable().assign(current);
      current = p->insert.getResult();
    }
    // The others where the chain ended, in their order.
    for (Piece *p : others) {
      p->insert->moveBefore(anchor);
      p->insert.getDestMutable().assign(current);
      current = p->insert.getResult();
    }
    for (OpOperand *use : readers)
      use->set(current);
  }
};

} // namespace
