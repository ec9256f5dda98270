// kiln-cpu-split-deallocs: a bufferization.dealloc of several memrefs with
// no retained values becomes one single-memref dealloc each, so that
// bufferization-lower-deallocations never emits its generic helper
// function (dynamically shaped memref arguments, which the kernels'
// bare-pointer calling convention cannot lower).
//
// Semantics kept: a dealloc frees each distinct base buffer once, when any
// of the conditions of the memrefs that share it holds. Memref i is freed
// under cond_i unless an earlier memref j with the same aligned pointer is
// freed (under its own adjusted condition), which gives exactly that.
#include "codegen/cpu/Passes.h"

namespace kiln {
#define GEN_PASS_DEF_CPUSPLITDEALLOCS
#include "codegen/cpu/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

struct CPUSplitDeallocsPass : kiln::impl::CPUSplitDeallocsBase<CPUSplitDeallocsPass> {
  void runOnOperation() override {
    SmallVector<bufferization::DeallocOp> deallocs;
    getOperation().walk([&](bufferization::DeallocOp op) {
      if (op.getMemrefs().size() > 1 && op.getRetained().empty())
        deallocs.push_back(op);
    });
    for (bufferization::DeallocOp op : deallocs)
      split(op);
  }

  static void split(bufferization::DeallocOp op) {
    OpBuilder b(op);
    Location loc = op.getLoc();
    SmallVector<Value> pointers, freed;
    for (auto [memref, condition] : llvm::zip(op.getMemrefs(), op.getConditions())) {
      Value pointer = b.create<memref::ExtractAlignedPointerAsIndexOp>(loc, memref);
      Value free = condition;
      for (auto [earlier, earlierFreed] : llvm::zip(pointers, freed)) {
        Value same = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, pointer, earlier);
        Value done = b.create<arith::AndIOp>(loc, same, earlierFreed);
        Value notDone = b.create<arith::XOrIOp>(
            loc, done, b.create<arith::ConstantIntOp>(loc, 1, 1));
        free = b.create<arith::AndIOp>(loc, free, notDone);
      }
      b.create<bufferization::DeallocOp>(loc, ValueRange{memref}, ValueRange{free},
                                         ValueRange{});
      pointers.push_back(pointer);
      freed.push_back(free);
    }
    op.erase();
  }
};

} // namespace
