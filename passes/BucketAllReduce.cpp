// nn-bucket-all-reduce (Passes.td): the gradient average of a
// data-parallel step, one nn.all_reduce after the whole backward, becomes
// buckets in the order their gradients are ready, each started as soon as
// its last gradient is computed and waited for right before the first op
// that reads one of its averages (clipping reads them all; without it, each
// parameter's update waits only for its own bucket); the work after the
// backward then runs in bucket order, so that the communication runs beside
// the rest of the backward and the updates (DDP's buckets and hooks).
#include "passes/Passes.h"

#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace kiln {
#define GEN_PASS_DEF_BUCKETALLREDUCE
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln::nn;

namespace {

int64_t bytesOf(Value v) { return cast<RankedTensorType>(v.getType()).getNumElements() * 4; }

struct BucketAllReducePass : kiln::impl::BucketAllReduceBase<BucketAllReducePass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<AllReduceOp> reductions;
    getOperation().walk([&](AllReduceOp op) { reductions.push_back(op); });
    for (AllReduceOp op : reductions)
      split(op);
  }

  void split(AllReduceOp op) {
    Block *block = op->getBlock();
    DenseMap<Operation *, int64_t> position;
    int64_t index = 0;
    for (Operation &o : *block)
      position[&o] = index++;
    // Operands that are not defined in this block (outer values) count as
    // ready at entry, as arguments do.
    auto ready = [&](Value v) {
      Operation *def = v.getDefiningOp();
      return def && def->getBlock() == block ? position.lookup(def) : int64_t(-1);
    };
    SmallVector<unsigned> order(op.getNumOperands());
    for (unsigned i = 0; i < order.size(); ++i)
      order[i] = i;
    llvm::stable_sort(order, [&](unsigned a, unsigned b) {
      return ready(op.getOperand(a)) < ready(op.getOperand(b));
    });
    // Greedy buckets in ready order: the first small (its all-reduce starts
    // soonest), the others up to bucketBytes; every bucket takes at least
    // one tensor.
    SmallVector<SmallVector<unsigned>> buckets;
    int64_t filled = 0;
    for (unsigned i : order) {
      int64_t cap = buckets.size() <= 1 ? int64_t(firstBucketBytes) : int64_t(bucketBytes);
      if (buckets.empty() || (filled + bytesOf(op.getOperand(i)) > cap && filled > 0)) {
        buckets.emplace_back();
        filled = 0;
      }
      buckets.back().push_back(i);
      filled += bytesOf(op.getOperand(i));
    }

    OpBuilder b(op);
    SmallVector<Value> replacement(op.getNumResults());
    for (auto [id, bucket] : llvm::enumerate(buckets)) {
      SmallVector<Value> inputs;
      SmallVector<Type> types;
      int64_t total = 0, latest = -1;
      // Start right after the bucket's last gradient (at the block's start
      // when all are arguments).
      Operation *lastDefinition = nullptr;
      for (unsigned i : bucket) {
        Value v = op.getOperand(i);
        inputs.push_back(v);
        types.push_back(v.getType());
        total += bytesOf(v) / 4;
        if (ready(v) > latest) {
          latest = ready(v);
          lastDefinition = v.getDefiningOp();
        }
      }
      if (lastDefinition)
        b.setInsertionPointAfter(lastDefinition);
      else
        b.setInsertionPointToStart(block);
      auto flatType = RankedTensorType::get({total}, b.getF32Type());
      auto start = b.create<AllReduceStartOp>(op.getLoc(), flatType, inputs,
                                              b.getI64IntegerAttr(int64_t(id)));
      // Wait right before the first op that reads one of the bucket's
      // averages (in this block; the average's position when none does).
      Operation *firstUser = nullptr;
      for (unsigned i : bucket)
        for (Operation *user : op->getResult(i).getUsers())
          if (Operation *top = block->findAncestorOpInBlock(*user))
            if (!firstUser || top->isBeforeInBlock(firstUser))
              firstUser = top;
      b.setInsertionPoint(firstUser ? firstUser : op.getOperation());
      auto wait = b.create<AllReduceWaitOp>(op.getLoc(), types, start.getInFlight(),
                                            b.getI64IntegerAttr(int64_t(id)));
      for (auto [k, i] : llvm::enumerate(bucket))
        replacement[i] = wait.getResult(k);
      if (remarks)
        start.emitRemark() << "all-reduce: bucket " << id << " of " << buckets.size() << " ("
                           << bucket.size() << " tensor(s), " << total * 4
                           << " bytes) starts after its last gradient and is waited for "
                              "before the first op that reads it";
    }
    op->replaceAllUsesWith(replacement);
    Operation *next = op->getNextNode();
    op->erase();
    updateInBucketOrder(next);
  }

  /// Reorders the ops from `first` to the block's terminator so that what
  /// needs only bucket 0's averages (its wait, its parameters' updates)
  /// comes first, then what needs bucket 1, and so on; what needs no
  /// average keeps its place ahead of them. Then each wait is followed by
  /// the work that needs it alone, and later buckets are still in flight
  /// meanwhile (W1: the head's update runs beside the 2.66 MB bucket).
  /// Each op's rank is the highest bucket it depends on through its
  /// operands (so a producer's rank never exceeds its user's), and a stable
  /// sort by rank keeps every producer before its users. Left as it is when
  /// an op there has regions or memory effects other than the waits' (their
  /// relative order could matter).
  void updateInBucketOrder(Operation *first) {
    if (!first)
      return;
    SmallVector<Operation *> tail;
    for (Operation *o = first; o && !o->hasTrait<OpTrait::IsTerminator>();
         o = o->getNextNode()) {
      if (o->getNumRegions() > 0 ||
          (!isa<AllReduceWaitOp>(o) && !isMemoryEffectFree(o)))
        return;
      tail.push_back(o);
    }
    DenseMap<Operation *, int64_t> rank;
    for (Operation *o : tail) {
      int64_t r = -1;
      if (auto wait = dyn_cast<AllReduceWaitOp>(o))
        r = static_cast<int64_t>(wait.getBucket());
      for (Value operand : o->getOperands())
        if (Operation *def = operand.getDefiningOp())
          if (auto it = rank.find(def); it != rank.end())
            r = std::max(r, it->second);
      rank[o] = r;
    }
    SmallVector<Operation *> order = tail;
    llvm::stable_sort(order, [&](Operation *a, Operation *b) {
      return rank[a] < rank[b];
    });
    Operation *terminator = first->getBlock()->getTerminator();
    for (Operation *o : order)
      o->moveBefore(terminator);
  }
};

} // namespace
