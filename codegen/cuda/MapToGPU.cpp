// kiln-cuda-map-to-gpu: the host functions' loops onto GPU blocks and
// threads (Passes.td). After it, convert-parallel-loops-to-gpu makes each
// mapped top-level loop a gpu.launch.
#include "codegen/cpu/BufferAddress.h"
#include "codegen/cuda/Passes.h"
#include "ir/NNDialect.h"

#include "mlir/Dialect/GPU/Transforms/ParallelLoopMapper.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace kiln {
#define GEN_PASS_DEF_CUDAMAPTOGPU
#include "codegen/cuda/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

gpu::ParallelLoopDimMappingAttr mapping(MLIRContext *ctx, gpu::Processor p) {
  AffineMap id = AffineMap::getMultiDimIdentityMap(1, ctx);
  return gpu::ParallelLoopDimMappingAttr::get(ctx, p, id, id);
}

/// Every scf.parallel inside `op` runs sequentially in its thread.
void mapNestedSequential(Operation *op) {
  op->walk([&](scf::ParallelOp inner) {
    if (inner == op)
      return;
    SmallVector<gpu::ParallelLoopDimMappingAttr> dims(
        inner.getNumLoops(), mapping(op->getContext(), gpu::Processor::Sequential));
    (void)gpu::setMappingAttr(inner, dims);
  });
}

/// Ops that stay on the host: they only describe buffers or call the
/// runtime, or they are pure and take nothing computed on the device.
bool staysOnHost(Operation *op) {
  return isa<func::ReturnOp, func::CallOp, memref::AllocaOp,
             memref::DeallocOp, memref::ExtractStridedMetadataOp,
             memref::ExtractAlignedPointerAsIndexOp, ViewLikeOpInterface>(op);
}

/// What a runtime routine of nn.library_call computes, for the error.
llvm::StringRef routineKind(llvm::StringRef callee) {
  if (callee.starts_with("kiln_sconv"))
    return "a convolution";
  if (callee.starts_with("kiln_ctc"))
    return "the CTC loss";
  if (callee.starts_with("kiln_all_reduce") || callee == "kiln_world_size")
    return "a data-parallel collective";
  return "a runtime routine";
}

struct CUDAMapToGPUPass : kiln::impl::CUDAMapToGPUBase<CUDAMapToGPUPass> {
  using CUDAMapToGPUBase::CUDAMapToGPUBase;

  void runOnOperation() override {
    if (threads < 32 || threads > 1024 || threads % 32) {
      getOperation().emitError("kiln-cuda-map-to-gpu: threads must be a multiple of 32 in [32, 1024]");
      return signalPassFailure();
    }
    for (auto fn : getOperation().getOps<func::FuncOp>()) {
      if (fn.isDeclaration())
        continue;
      if (!fn.getBody().hasOneBlock()) {
        fn.emitError("kiln-cuda-map-to-gpu: expected a function of one block");
        return signalPassFailure();
      }
      if (failed(mapFunction(fn.getBody().front())))
        return signalPassFailure();
    }
  }

  LogicalResult mapFunction(Block &block) {
    sinkScalarLoads(block);
    SmallVector<Operation *> group; // consecutive device ops, one thread
    llvm::SmallPtrSet<Operation *, 8> inGroup;
    auto close = [&](Operation *before) -> LogicalResult {
      if (group.empty())
        return success();
      LogicalResult result = wrapSerial(group, inGroup, before);
      group.clear();
      inGroup.clear();
      return result;
    };
    for (Operation &op : llvm::make_early_inc_range(block)) {
      if (auto call = dyn_cast<kiln::nn::LibraryCallOp>(op))
        return call.emitError("--target=cuda: ")
               << "no GPU kernel for the runtime routine '" << call.getCallee()
               << "' (" << routineKind(call.getCallee())
               << "); only --target=cpu compiles it so far";
      if (isa<memref::AllocOp>(op))
        return op.emitError("--target=cuda: a temporary stayed outside the planned "
                            "workspace (kiln-cpu-plan-memory), so it would be host memory");
      if (auto loop = dyn_cast<scf::ParallelOp>(op)) {
        if (failed(close(&op)))
          return failure();
        mapParallel(loop);
        continue;
      }
      // A kernel already (kiln-cuda-block-reductions): in order, as it is.
      if (isa<gpu::LaunchOp>(op)) {
        if (failed(close(&op)))
          return failure();
        continue;
      }
      bool readsGroup = llvm::any_of(op.getOperands(), [&](Value v) {
        return inGroup.contains(v.getDefiningOp());
      });
      bool device = !staysOnHost(&op) && !isMemoryEffectFree(&op);
      if (device || (readsGroup && isMemoryEffectFree(&op) && !staysOnHost(&op))) {
        group.push_back(&op);
        inGroup.insert(&op);
        continue;
      }
      if (isMemoryEffectFree(&op) && !readsGroup)
        continue; // constants, index math: nothing to order against
      if (failed(close(&op)))
        return failure();
    }
    return close(block.getTerminator());
  }

  /// A scalar the host would load from device memory for a kernel (an
  /// optimizer's lr or step: tensor.extract before bufferization) is
  /// loaded and computed with inside every kernel that uses it: at the
  /// start of a loop's body, or right before an op that will run on one
  /// thread (where it joins that op's kernel). So the host reads no device
  /// memory and no kernel's result has to come back to it. Valid while
  /// nothing may write the buffer between the load and the user; a use
  /// after such a write keeps the original, which the grouping below
  /// refuses loudly.
  void sinkScalarLoads(Block &block) {
    SmallVector<memref::LoadOp> loads(block.getOps<memref::LoadOp>());
    for (memref::LoadOp load : loads) {
      // The load and the top-level pure ops computed from it, in order.
      SmallVector<Operation *> chain = {load};
      llvm::SmallPtrSet<Operation *, 8> inChain = {load};
      for (Operation *op = load->getNextNode(); op; op = op->getNextNode())
        if (isMemoryEffectFree(op) && op->getNumRegions() == 0 &&
            llvm::any_of(op->getOperands(), [&](Value v) {
              return inChain.contains(v.getDefiningOp());
            })) {
          chain.push_back(op);
          inChain.insert(op);
        }
      Value buffer = load.getMemRef();
      for (Operation *op = load->getNextNode(); op; op = op->getNextNode()) {
        if (inChain.contains(op))
          continue;
        bool writes = mayWrite(op, buffer);
        if (usesAny(op, chain)) {
          // A loop or a kernel: its threads would read what others write.
          bool threaded = isa<scf::ParallelOp, gpu::LaunchOp>(op);
          if (threaded && writes)
            break;
          OpBuilder b(op);
          if (threaded)
            b.setInsertionPointToStart(&op->getRegion(0).front());
          rematerialize(b, op, chain);
        }
        if (writes)
          break;
      }
      for (Operation *op : llvm::reverse(chain))
        if (op->use_empty())
          op->erase();
    }
  }

  static bool usesAny(Operation *region, ArrayRef<Operation *> chain) {
    return llvm::any_of(chain, [&](Operation *op) {
      return llvm::any_of(op->getUsers(),
                          [&](Operation *user) { return region->isAncestor(user); });
    });
  }

  /// Clones what `user` uses of `chain` (and what that is computed from)
  /// at `b`'s insertion point, for the uses in `user`. Everything else
  /// such an op reads was defined before it, so before `user`.
  static void rematerialize(OpBuilder &b, Operation *user,
                            ArrayRef<Operation *> chain) {
    llvm::SmallPtrSet<Operation *, 8> needed;
    for (Operation *op : llvm::reverse(chain)) {
      bool used = llvm::any_of(op->getUsers(), [&](Operation *u) {
        return user->isAncestor(u) || needed.contains(u);
      });
      if (used)
        needed.insert(op);
    }
    IRMapping map;
    for (Operation *op : chain) {
      if (!needed.contains(op))
        continue;
      Operation *copy = b.clone(*op, map);
      op->replaceUsesWithIf(copy->getResults(), [&](OpOperand &use) {
        return user->isAncestor(use.getOwner());
      });
    }
  }

  /// The buffer whose address the pointer a runtime call writes through
  /// was computed from (index casts and offsets of an
  /// extract_aligned_pointer_as_index): a kiln_cuda_sgemm's C
  /// (kiln-cuda-gemm-to-runtime), a collective's `out`
  /// (kiln-cpu-library-calls-to-runtime); null for other calls.
  static Value callOutput(func::CallOp call) {
    StringRef callee = call.getCallee();
    std::optional<unsigned> operand;
    if (callee == "kiln_cuda_sgemm" && call.getNumOperands() == 16)
      operand = 10;
    else if ((callee == "kiln_cuda_all_reduce_mean" || callee == "kiln_cuda_all_reduce_sum" ||
              callee == "kiln_cuda_all_reduce_start") &&
             call.getNumOperands() == 3)
      operand = 2;
    else if ((callee == "kiln_cuda_all_reduce_wait" || callee == "kiln_cuda_world_size") &&
             call.getNumOperands() == 2)
      operand = 1;
    if (!operand)
      return nullptr;
    Value v = call.getOperand(*operand);
    while (Operation *def = v.getDefiningOp()) {
      if (auto pointer = dyn_cast<memref::ExtractAlignedPointerAsIndexOp>(def))
        return pointer.getSource();
      if (!isa<arith::IndexCastOp, arith::AddIOp>(def))
        return nullptr;
      v = def->getOperand(0);
    }
    return nullptr;
  }

  /// The allocation `buffer` is part of: through views and through the
  /// memref.view ops that place temporaries in the workspace.
  static Value wholeBuffer(Value buffer) {
    Value root = kiln::cpu::rootBuffer(buffer);
    while (auto view = root.getDefiningOp<memref::ViewOp>())
      root = kiln::cpu::rootBuffer(view.getSource());
    return root;
  }

  /// The byte range [first, second) a memref.view with a constant shift
  /// takes of its source (its type is static: planned temporaries).
  static std::optional<std::pair<int64_t, int64_t>> viewBytes(Value root) {
    auto view = root.getDefiningOp<memref::ViewOp>();
    if (!view)
      return std::nullopt;
    std::optional<int64_t> shift = getConstantIntValue(view.getByteShift());
    auto type = cast<MemRefType>(view.getType());
    if (!shift || !type.hasStaticShape())
      return std::nullopt;
    int64_t bytes = type.getNumElements() * type.getElementTypeBitWidth() / 8;
    return std::make_pair(*shift, *shift + bytes);
  }

  /// Whether memrefs `a` and `b` may share bytes. Distinct allocations
  /// (function arguments) never do; two temporaries the planner placed in
  /// the workspace do when their byte ranges overlap, which it allows when
  /// their lifetimes did not, so moving a load of one past a write of the
  /// other is not safe in general.
  static bool mayAlias(Value a, Value b) {
    if (wholeBuffer(a) != wholeBuffer(b))
      return false;
    auto ra = viewBytes(kiln::cpu::rootBuffer(a)), rb = viewBytes(kiln::cpu::rootBuffer(b));
    if (!ra || !rb)
      return true;
    return ra->first < rb->second && rb->first < ra->second;
  }

  /// Whether `op` may write memory that `buffer` reads (mayAlias). A GEMM
  /// or collective call writes its output, somewhere in that output's
  /// allocation; other calls may write anything.
  static bool mayWrite(Operation *op, Value buffer) {
    bool writes = false;
    op->walk([&](Operation *inner) {
      // A barrier of a kernel (kiln-cuda-block-reductions, the CTC
      // kernels) orders its block's threads and writes nothing; MLIR 19's
      // gpu.barrier declares no memory effects, which reads as "may write
      // anything" below.
      if (isa<gpu::BarrierOp>(inner))
        return;
      if (auto call = dyn_cast<func::CallOp>(inner)) {
        Value written = callOutput(call);
        writes |= !written || wholeBuffer(written) == wholeBuffer(buffer);
        return;
      }
      auto effects = dyn_cast<MemoryEffectOpInterface>(inner);
      if (!effects) {
        writes |= !inner->hasTrait<OpTrait::HasRecursiveMemoryEffects>() &&
                  !isMemoryEffectFree(inner);
        return;
      }
      SmallVector<MemoryEffects::EffectInstance> list;
      effects.getEffects(list);
      for (auto &effect : list) {
        if (!isa<MemoryEffects::Write>(effect.getEffect()))
          continue;
        Value target = effect.getValue();
        writes |= !target || mayAlias(target, buffer);
      }
    });
    return writes;
  }

  /// One top-level loop: collapsed to one dimension, tiled by at most
  /// `threads`; tiles -> blocks, their iterations -> threads.
  void mapParallel(scf::ParallelOp loop) {
    IRRewriter rewriter(loop.getContext());
    if (loop.getNumLoops() > 1) {
      Operation *prev = loop->getPrevNode();
      Block *block = loop->getBlock();
      std::vector<unsigned> all;
      for (unsigned i = 0; i < loop.getNumLoops(); ++i)
        all.push_back(i);
      rewriter.setInsertionPoint(loop);
      collapseParallelLoops(rewriter, loop, {all});
      // The collapsed loop replaces it, after the bound computations.
      Operation *next = prev ? prev->getNextNode() : &block->front();
      while (!isa<scf::ParallelOp>(next))
        next = next->getNextNode();
      loop = cast<scf::ParallelOp>(next);
    }
    // A small loop takes a block of whole warps that just covers it.
    int64_t tile = threads;
    if (std::optional<int64_t> trips = constantTripCount(loop))
      tile = std::min<int64_t>(threads, std::max<int64_t>(32, llvm::alignTo(*trips, 32)));
    // tileParallelLoop erases `loop`: nothing of it is used after.
    MLIRContext *ctx = loop.getContext();
    auto [outer, inner] = scf::tileParallelLoop(loop, {tile}, /*noMinMaxBounds=*/true);
    (void)gpu::setMappingAttr(outer, {mapping(ctx, gpu::Processor::BlockX)});
    (void)gpu::setMappingAttr(inner, {mapping(ctx, gpu::Processor::ThreadX)});
    mapNestedSequential(inner);
  }

  static std::optional<int64_t> constantTripCount(scf::ParallelOp loop) {
    std::optional<int64_t> lb = getConstantIntValue(loop.getLowerBound()[0]);
    std::optional<int64_t> ub = getConstantIntValue(loop.getUpperBound()[0]);
    std::optional<int64_t> step = getConstantIntValue(loop.getStep()[0]);
    if (!lb || !ub || !step || *step <= 0)
      return std::nullopt;
    return llvm::divideCeil(std::max<int64_t>(0, *ub - *lb), *step);
  }

  /// Ops that read or write device memory outside any parallel loop: one
  /// thread of a one-block kernel, placed before `before` (after every
  /// pure op they use).
  LogicalResult wrapSerial(ArrayRef<Operation *> ops,
                           const llvm::SmallPtrSetImpl<Operation *> &members,
                           Operation *before) {
    for (Operation *op : ops)
      for (Operation *user : op->getUsers())
        if (llvm::none_of(ops, [&](Operation *o) { return o->isAncestor(user); }))
          return user->emitError("this op uses a value computed on the GPU on the host")
                     .attachNote(op->getLoc())
                 << "by " << op->getName() << ", which runs on one GPU thread; used by "
                 << user->getName();
    OpBuilder b(before);
    Location loc = ops.front()->getLoc();
    Value zero = b.create<arith::ConstantIndexOp>(loc, 0);
    Value one = b.create<arith::ConstantIndexOp>(loc, 1);
    auto loop = b.create<scf::ParallelOp>(loc, ValueRange{zero}, ValueRange{one},
                                          ValueRange{one});
    for (Operation *op : ops)
      op->moveBefore(loop.getBody()->getTerminator());
    MLIRContext *ctx = loop.getContext();
    (void)gpu::setMappingAttr(loop, {mapping(ctx, gpu::Processor::BlockX)});
    mapNestedSequential(loop);
    if (remarks)
      ops.front()->emitRemark()
          << "runs on one GPU thread: no parallel loop around it (a "
             "reduction of all elements, or a 0-d op)";
    return success();
  }
};

} // namespace
