// kiln-cpu-plan-memory: static memory planning of kernel temporaries. Every
// planned buffer becomes a view at a fixed offset of one workspace argument;
// buffers with disjoint lifetimes share bytes.
#include "codegen/cpu/Passes.h"

#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace kiln {
#define GEN_PASS_DEF_CPUPLANMEMORY
#include "codegen/cpu/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

constexpr int64_t kAlignment = 64; // a cache line; AVX-512 vector width

struct Buffer {
  memref::AllocOp alloc;
  int64_t bytes = 0;
  int64_t first = 0, last = 0; // lifetime, entry-block positions, inclusive
  int64_t offset = -1;
  SmallVector<memref::DeallocOp> deallocs;
};

/// The last entry-block position that uses what the top-level `load` read,
/// directly or through top-level pure ops. The buffer lives until then:
/// the CUDA target moves such a load to where its value is used, into the
/// kernel of that use (kiln-cuda-map-to-gpu), since the host cannot read
/// device memory; bytes reused in between would be read overwritten (a
/// cross entropy's mean: the loss sum, loaded, then the count reduced
/// into the same bytes, then the division). On the CPU it keeps a scalar's
/// bytes a little longer.
int64_t lastUseOfLoaded(memref::LoadOp load, Block &entry,
                        const DenseMap<Operation *, int64_t> &position) {
  int64_t last = position.lookup(load);
  SmallVector<Value> values = {load.getResult()};
  llvm::SmallPtrSet<Operation *, 8> followed; // each pure op once (a DAG)
  while (!values.empty()) {
    Value v = values.pop_back_val();
    for (Operation *user : v.getUsers()) {
      Operation *top = entry.findAncestorOpInBlock(*user);
      if (!top)
        continue;
      last = std::max(last, position.lookup(top));
      if (top == user && isMemoryEffectFree(user) && followed.insert(user).second)
        llvm::append_range(values, user->getResults());
    }
  }
  return last;
}

/// Lifetime end and deallocs of `buffer`; false when an alias may escape
/// (stored, returned, yielded, passed through a non-view op result), in
/// which case the buffer stays on the heap.
bool analyzeUses(Buffer &buffer, Block &entry,
                 const DenseMap<Operation *, int64_t> &position) {
  SmallVector<Value> aliases = {buffer.alloc.getResult()};
  buffer.last = buffer.first;
  while (!aliases.empty()) {
    Value v = aliases.pop_back_val();
    for (OpOperand &use : v.getUses()) {
      Operation *user = use.getOwner();
      if (auto dealloc = dyn_cast<memref::DeallocOp>(user)) {
        if (v != buffer.alloc.getResult() || dealloc->getBlock() != &entry)
          return false;
        buffer.deallocs.push_back(dealloc);
        continue;
      }
      // The entry-block op that contains the use (the user itself, or the
      // loop or call around it).
      Operation *top = entry.findAncestorOpInBlock(*user);
      if (!top)
        return false;
      buffer.last = std::max(buffer.last, position.lookup(top));
      if (auto load = dyn_cast<memref::LoadOp>(user); load && top == user)
        buffer.last = std::max(buffer.last, lastUseOfLoaded(load, entry, position));
      if (auto view = dyn_cast<ViewLikeOpInterface>(user)) {
        if (view.getViewSource() == v) {
          aliases.push_back(view->getResult(0));
          continue;
        }
      }
      // A non-view op producing a memref could return an alias.
      if (llvm::any_of(user->getResultTypes(), llvm::IsaPred<BaseMemRefType>))
        return false;
      // Storing the memref itself (not through it) lets it escape.
      if (isa<memref::StoreOp>(user) && use.getOperandNumber() == 0)
        return false;
      if (isa<func::ReturnOp>(user))
        return false;
    }
  }
  return true;
}

/// Largest first, lowest aligned offset that overlaps no placed buffer with
/// an overlapping lifetime. Returns the total size.
int64_t assignOffsets(MutableArrayRef<Buffer> buffers) {
  SmallVector<Buffer *> order;
  for (Buffer &b : buffers)
    order.push_back(&b);
  // Ties in program order, so the plan is deterministic.
  llvm::sort(order, [](Buffer *x, Buffer *y) {
    return std::make_pair(-x->bytes, x->first) < std::make_pair(-y->bytes, y->first);
  });
  int64_t total = 0;
  SmallVector<Buffer *> placed;
  for (Buffer *b : order) {
    SmallVector<std::pair<int64_t, int64_t>> busy; // [begin, end) in bytes
    for (Buffer *p : placed)
      if (p->first <= b->last && b->first <= p->last)
        busy.push_back({p->offset, p->offset + p->bytes});
    llvm::sort(busy);
    int64_t offset = 0;
    for (auto [begin, end] : busy) {
      if (offset + b->bytes <= begin)
        break;
      offset = std::max<int64_t>(offset, llvm::alignTo(end, kAlignment));
    }
    b->offset = offset;
    total = std::max(total, offset + b->bytes);
    placed.push_back(b);
  }
  return static_cast<int64_t>(llvm::alignTo(total, kAlignment));
}

/// The plan as remarks: the kernel's totals and its peak (at the op where
/// the most bytes are live), then its `kLargest` largest buffers at the ops
/// that produced them. Positions are entry-block op indices.
void reportPlan(func::FuncOp fn, ArrayRef<Buffer> buffers, int64_t total,
                ArrayRef<Operation *> ops) {
  constexpr size_t kLargest = 3;
  int64_t sum = 0;
  for (const Buffer &b : buffers)
    sum += b.bytes;
  int64_t peak = 0, peakAt = 0;
  for (int64_t at = 0; at < static_cast<int64_t>(ops.size()); ++at) {
    int64_t live = 0;
    for (const Buffer &b : buffers)
      if (b.first <= at && at <= b.last)
        live += b.bytes;
    if (live > peak) {
      peak = live;
      peakAt = at;
    }
  }
  fn.emitRemark() << "memory plan of '" << fn.getSymName() << "': workspace " << total
                  << " bytes for " << buffers.size() << " buffers (" << sum
                  << " bytes if none shared); peak " << peak << " bytes live at once";
  if (peak > 0)
    ops[peakAt]->emitRemark() << "peak of '" << fn.getSymName() << "': " << peak
                              << " bytes live at this '" << ops[peakAt]->getName()
                              << "' (op " << peakAt << " of " << ops.size() << ")";
  SmallVector<Buffer> order(buffers.begin(), buffers.end());
  llvm::stable_sort(order, [](const Buffer &x, const Buffer &y) { return x.bytes > y.bytes; });
  for (Buffer *b = order.begin(); b != order.end() && b - order.begin() < int64_t(kLargest); ++b)
    b->alloc->emitRemark() << "buffer of '" << fn.getSymName() << "': " << b->bytes
                           << " bytes (" << b->alloc.getType() << ") at workspace offset "
                           << b->offset << ", live over ops " << b->first << " to " << b->last;
}

void planFunction(func::FuncOp fn, bool report) {
  Block &entry = fn.getBody().front();
  DenseMap<Operation *, int64_t> position;
  int64_t index = 0;
  for (Operation &op : entry)
    position[&op] = index++;

  SmallVector<Buffer> buffers;
  for (Operation &op : entry) {
    auto alloc = dyn_cast<memref::AllocOp>(&op);
    if (!alloc)
      continue;
    MemRefType type = alloc.getType();
    if (!type.hasStaticShape() || !type.getLayout().isIdentity() ||
        !type.getElementType().isIntOrIndexOrFloat() ||
        type.getElementType().isIndex() || type.getMemorySpace())
      continue;
    Buffer buffer;
    buffer.alloc = alloc;
    buffer.bytes = std::max<int64_t>(
        1, type.getNumElements() *
               llvm::divideCeil(type.getElementTypeBitWidth(), 8));
    buffer.first = position[&op];
    if (analyzeUses(buffer, entry, position))
      buffers.push_back(std::move(buffer));
  }
  // Every kernel takes the workspace argument the model interface lists,
  // even one without temporaries (a ReLU-only model's forward): then it is
  // a memref<0xi8> the kernel never reads.
  int64_t total = assignOffsets(buffers);
  if (report) {
    SmallVector<Operation *> ops;
    for (Operation &op : entry)
      ops.push_back(&op);
    reportPlan(fn, buffers, total, ops);
  }
  MLIRContext *ctx = fn.getContext();
  auto workspaceType = MemRefType::get({total}, IntegerType::get(ctx, 8));
  fn.insertArgument(fn.getNumArguments(), workspaceType,
                    DictionaryAttr::get(ctx), fn.getLoc());
  Value workspace = fn.getArgument(fn.getNumArguments() - 1);
  fn->setAttr("kiln.workspace_bytes",
              IntegerAttr::get(IntegerType::get(ctx, 64), total));

  OpBuilder b(ctx);
  for (Buffer &buffer : buffers) {
    b.setInsertionPoint(buffer.alloc);
    Value offset =
        b.create<arith::ConstantIndexOp>(buffer.alloc.getLoc(), buffer.offset);
    Value view = b.create<memref::ViewOp>(buffer.alloc.getLoc(),
                                          buffer.alloc.getType(), workspace,
                                          offset, ValueRange());
    buffer.alloc.replaceAllUsesWith(view);
    for (memref::DeallocOp dealloc : buffer.deallocs)
      dealloc.erase();
    buffer.alloc.erase();
  }
}

struct CPUPlanMemoryPass : kiln::impl::CPUPlanMemoryBase<CPUPlanMemoryPass> {
  using CPUPlanMemoryBase::CPUPlanMemoryBase;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    for (func::FuncOp fn : module.getOps<func::FuncOp>()) {
      // A kernel is entered only from the runtime: adding an argument must
      // not break a call inside the module.
      if (fn.isExternal() || !fn.isPublic() ||
          !SymbolTable::symbolKnownUseEmpty(fn, module))
        continue;
      planFunction(fn, report);
    }
  }
};

} // namespace
