// kiln-cuda-emulate-on-cpu: the CUDA backend's kernels as sequential CPU
// loops and its GEMM calls as the CPU runtime's (Passes.td says why).
#include "codegen/cpu/BufferAddress.h"
#include "codegen/cuda/Passes.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"

namespace kiln {
#define GEN_PASS_DEF_CUDAEMULATEONCPU
#include "codegen/cuda/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// void kiln_sgemm(i64 m, n, k, a, a_row, a_col, b, b_row, b_col, c, c_row,
///                 i32 accumulate) (runtime/lib/gemm.cpp).
func::FuncOp declareCPUGemm(ModuleOp module) {
  Builder b(module.getContext());
  SmallVector<Type> args(11, b.getI64Type());
  args.push_back(b.getI32Type());
  return kiln::cpu::declareRuntimeFunction(module, "kiln_sgemm", args);
}

/// The address (bytes, as i64) of `buffer[indices]`: firstElementAddress
/// at the element's offset (which keeps a memref.view's shift, left out by
/// extract_aligned_pointer_as_index of a view).
Value elementAddress(OpBuilder &b, Location loc, Value buffer, ValueRange indices) {
  auto meta = b.create<memref::ExtractStridedMetadataOp>(loc, buffer);
  Value offset = meta.getOffset();
  for (auto [index, stride] : llvm::zip(indices, meta.getStrides()))
    offset = b.create<arith::AddIOp>(loc, offset, b.create<arith::MulIOp>(loc, index, stride));
  return b.create<arith::IndexCastOp>(loc, b.getI64Type(),
                                      kiln::cpu::firstElementAddress(b, loc, buffer, offset));
}

struct CUDAEmulateOnCPUPass : kiln::impl::CUDAEmulateOnCPUBase<CUDAEmulateOnCPUPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<gpu::LaunchOp> launches;
    module.walk([&](gpu::LaunchOp op) { launches.push_back(op); });
    for (auto [number, launch] : llvm::enumerate(launches))
      if (failed(emulateLaunch(launch, static_cast<int64_t>(number))))
        return signalPassFailure();
    SmallVector<func::CallOp> gemms;
    module.walk([&](func::CallOp call) {
      if (call.getCallee() == "kiln_cuda_sgemm")
        gemms.push_back(call);
    });
    for (func::CallOp call : gemms)
      emulateGemm(call);
    if (auto decl = module.lookupSymbol<func::FuncOp>("kiln_cuda_sgemm"))
      if (decl.isDeclaration() && SymbolTable::symbolKnownUseEmpty(decl, module))
        decl.erase();
    emulateCollectives(module);
  }

  /// The collectives' CUDA versions (kiln_cuda_all_reduce_*,
  /// kiln_cuda_world_size) take the CPU versions' arguments: the calls and
  /// declarations are renamed to those.
  static void emulateCollectives(ModuleOp module) {
    for (auto decl : llvm::make_early_inc_range(module.getOps<func::FuncOp>())) {
      StringRef name = decl.getSymName();
      if (!decl.isDeclaration() ||
          !(name.starts_with("kiln_cuda_all_reduce") || name == "kiln_cuda_world_size"))
        continue;
      std::string cpu = ("kiln_" + name.drop_front(StringRef("kiln_cuda_").size())).str();
      if (failed(SymbolTable::replaceAllSymbolUses(decl, StringAttr::get(module.getContext(), cpu),
                                                   module)))
        continue;
      decl.setSymName(cpu);
    }
  }

  /// Blocks, then threads, in order. A body with barriers runs phase by
  /// phase: every thread of a block through one phase before any starts
  /// the next (Passes.td). A barrier is at the top level of the body, or at
  /// the top level of a barrier loop's body: an scf.for at the top level of
  /// the body with uniform bounds (the same for every thread of a block)
  /// and no results, which becomes a loop of the block around its phases.
  LogicalResult emulateLaunch(gpu::LaunchOp launch, int64_t number) {
    gpu::KernelDim3 grid = launch.getGridSizeOperandValues();
    gpu::KernelDim3 block = launch.getBlockSizeOperandValues();
    for (Value v : {grid.y, grid.z, block.y, block.z}) {
      APInt one;
      if (!matchPattern(v, m_ConstantInt(&one)) || one != 1)
        return launch.emitError("kiln-cuda-emulate-on-cpu: only one-dimensional launches");
    }
    if (!launch.getBody().hasOneBlock())
      return launch.emitError("kiln-cuda-emulate-on-cpu: a kernel body of several blocks");
    if (launch.getNumPrivateAttributions() != 0)
      return launch.emitError("kiln-cuda-emulate-on-cpu: private memory attributions");
    Block &body = launch.getBody().front();
    // The blocks whose top-level ops are cut into phases: the body and the
    // barrier loops' bodies.
    llvm::SmallPtrSet<Block *, 4> segments = {&body};
    for (Operation &op : body.without_terminator())
      if (auto loop = dyn_cast<scf::ForOp>(op))
        if (hasBarrier(loop.getBody())) {
          if (loop.getNumResults() != 0)
            return loop.emitError("kiln-cuda-emulate-on-cpu: a loop with a barrier has results");
          segments.insert(loop.getBody());
        }
    WalkResult nested = body.walk([&](gpu::BarrierOp barrier) {
      return segments.contains(barrier->getBlock()) ? WalkResult::advance()
                                                     : WalkResult::interrupt();
    });
    if (nested.wasInterrupted())
      return launch.emitError("kiln-cuda-emulate-on-cpu: a barrier inside control flow");

    OpBuilder b(launch);
    Location loc = launch.getLoc();
    Value zero = b.create<arith::ConstantIndexOp>(loc, 0);
    Value one = b.create<arith::ConstantIndexOp>(loc, 1);
    IRMapping common;
    // Shared memory: one buffer, reused by the blocks in turn (a block
    // starts from undefined contents on a GPU too).
    llvm::SmallPtrSet<Value, 2> sharedBuffers;
    for (BlockArgument shared : launch.getWorkgroupAttributions()) {
      auto type = cast<MemRefType>(shared.getType());
      auto host = MemRefType::get(type.getShape(), type.getElementType(), type.getLayout());
      Value buffer = b.create<memref::AllocaOp>(loc, host);
      common.map(shared, buffer);
      sharedBuffers.insert(buffer);
    }
    // The block's phase count so far: the race check's phase (a barrier
    // loop runs its phases once per iteration).
    Type i32 = b.getI32Type(), i64 = b.getI64Type();
    Value phases = b.create<memref::AllocaOp>(loc, MemRefType::get({}, i64));
    ModuleOp module = launch->getParentOfType<ModuleOp>();
    func::FuncOp begin = kiln::cpu::declareRuntimeFunction(module, "kiln_emu_race_begin", {i64});
    func::FuncOp access = kiln::cpu::declareRuntimeFunction(module, "kiln_emu_race_access", {i64, i32, i32, i64, i64, i64});
    func::FuncOp end = kiln::cpu::declareRuntimeFunction(module, "kiln_emu_race_end", {});
    b.create<func::CallOp>(loc, begin,
                           ValueRange{b.create<arith::ConstantIntOp>(loc, number, 64)});
    auto blocks = b.create<scf::ForOp>(loc, zero, grid.x, one);
    gpu::KernelDim3 blockIds = launch.getBlockIds(), threadIds = launch.getThreadIds();
    gpu::KernelDim3 gridArgs = launch.getGridSize(), blockArgs = launch.getBlockSize();
    common.map(blockIds.x, blocks.getInductionVar());
    for (Value v : {blockIds.y, blockIds.z, threadIds.y, threadIds.z})
      common.map(v, zero);
    common.map(gridArgs.x, grid.x);
    common.map(blockArgs.x, block.x);
    for (Value v : {gridArgs.y, gridArgs.z, blockArgs.y, blockArgs.z})
      common.map(v, one);
    b.setInsertionPointToStart(blocks.getBody());
    b.create<memref::StoreOp>(loc, b.create<arith::ConstantIntOp>(loc, 0, 64), phases);

    // The top-level op of a segment that `op` is or is inside; null for an
    // op outside the kernel.
    auto segmentOp = [&](Operation *op) -> Operation * {
      while (op && !segments.contains(op->getBlock()))
        op = op->getParentOp() == launch ? nullptr : op->getParentOp();
      return op;
    };
    // `v` at `b`'s insertion point under `map`: mapped, from outside the
    // kernel, computed by the ops being cloned (`current`), or else
    // recomputed there when pure (ids, index math, constants). `what`
    // names the place in the error.
    std::function<LogicalResult(Value, IRMapping &, const llvm::SmallPtrSetImpl<Operation *> &,
                                StringRef)>
        provide = [&](Value v, IRMapping &map, const llvm::SmallPtrSetImpl<Operation *> &current,
                      StringRef what) -> LogicalResult {
      if (map.contains(v))
        return success();
      Operation *def = v.getDefiningOp();
      if (!def) {
        // The kernel's ids are mapped but the thread's outside a phase;
        // other block arguments are a region's inside what is cloned.
        if (v.getParentBlock()->getParentOp() == launch.getOperation())
          return launch.emitError("kiln-cuda-emulate-on-cpu: a value ")
                 << what << " depends on the thread";
        return success();
      }
      Operation *top = segmentOp(def);
      if (!top || current.contains(top))
        return success();
      if (!isMemoryEffectFree(def) || def->getNumRegions() != 0)
        return def->emitError("kiln-cuda-emulate-on-cpu: a value computed by an op with effects is "
                              "used ")
               << what;
      for (Value operand : def->getOperands())
        if (failed(provide(operand, map, current, what)))
          return failure();
      b.clone(*def, map);
      return success();
    };

    // One phase: `ops` for every thread of the block, the phase counter
    // advanced after.
    auto emitPhase = [&](ArrayRef<Operation *> ops, IRMapping &blockMap) -> LogicalResult {
      if (ops.empty())
        return success();
      Value phase = b.create<memref::LoadOp>(loc, phases);
      auto threads = b.create<scf::ForOp>(loc, zero, block.x, one);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(threads.getBody());
      IRMapping map = blockMap;
      map.map(threadIds.x, threads.getInductionVar());
      llvm::SmallPtrSet<Operation *, 16> current(ops.begin(), ops.end());
      for (Operation *op : ops) {
        WalkResult used = op->walk([&](Operation *inner) {
          for (Value operand : inner->getOperands())
            if (failed(provide(operand, map, current, "after a barrier")))
              return WalkResult::interrupt();
          return WalkResult::advance();
        });
        if (used.wasInterrupted())
          return failure();
        b.clone(*op, map);
      }
      checkRaces(threads, blocks.getInductionVar(), phase, access, sharedBuffers);
      b.setInsertionPointAfter(threads);
      b.create<memref::StoreOp>(
          loc, b.create<arith::AddIOp>(loc, phase, b.create<arith::ConstantIntOp>(loc, 1, 64)),
          phases);
      return success();
    };

    // A segment's ops, cut at its barriers; a barrier loop becomes a loop
    // of the block around its own phases.
    std::function<LogicalResult(Block &, IRMapping &)> emitSegment =
        [&](Block &segment, IRMapping &blockMap) -> LogicalResult {
      SmallVector<Operation *> pending;
      for (Operation &op : segment.without_terminator()) {
        if (isa<gpu::BarrierOp>(op)) {
          if (failed(emitPhase(pending, blockMap)))
            return failure();
          pending.clear();
          continue;
        }
        auto loop = dyn_cast<scf::ForOp>(op);
        if (!loop || !segments.contains(loop.getBody())) {
          pending.push_back(&op);
          continue;
        }
        if (failed(emitPhase(pending, blockMap)))
          return failure();
        pending.clear();
        llvm::SmallPtrSet<Operation *, 1> none;
        for (Value bound : {loop.getLowerBound(), loop.getUpperBound(), loop.getStep()})
          if (failed(provide(bound, blockMap, none, "as the bound of a loop with a barrier")))
            return failure();
        auto blockLoop = b.create<scf::ForOp>(loc, blockMap.lookupOrDefault(loop.getLowerBound()),
                                              blockMap.lookupOrDefault(loop.getUpperBound()),
                                              blockMap.lookupOrDefault(loop.getStep()));
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPoint(blockLoop.getBody()->getTerminator());
        IRMapping inner = blockMap;
        inner.map(loop.getInductionVar(), blockLoop.getInductionVar());
        if (failed(emitSegment(*loop.getBody(), inner)))
          return failure();
      }
      return emitPhase(pending, blockMap);
    };
    b.setInsertionPoint(blocks.getBody()->getTerminator());
    if (failed(emitSegment(body, common)))
      return failure();
    b.setInsertionPointAfter(blocks);
    b.create<func::CallOp>(loc, end, ValueRange{});
    launch.erase();
    return success();
  }

  /// Whether `block` has a barrier at its top level.
  static bool hasBarrier(Block *block) {
    return llvm::any_of(*block, [](Operation &op) { return isa<gpu::BarrierOp>(op); });
  }

  /// Every load and store of a phase's thread loop reports its element's
  /// address to the runtime's race check (runtime/lib/emulation_races.cpp)
  /// first, with the block, the thread and the phase.
  static void checkRaces(scf::ForOp threads, Value block, Value phase, func::FuncOp access,
                         const llvm::SmallPtrSetImpl<Value> &sharedBuffers) {
    SmallVector<Operation *> accesses;
    threads.getBody()->walk([&](Operation *op) {
      if (isa<memref::LoadOp, memref::StoreOp>(op))
        accesses.push_back(op);
    });
    for (Operation *op : accesses) {
      OpBuilder b(op);
      Location loc = op->getLoc();
      bool write = isa<memref::StoreOp>(op);
      Value buffer = write ? cast<memref::StoreOp>(op).getMemRef() : cast<memref::LoadOp>(op).getMemRef();
      ValueRange indices =
          write ? cast<memref::StoreOp>(op).getIndices() : cast<memref::LoadOp>(op).getIndices();
      bool shared = sharedBuffers.contains(kiln::cpu::rootBuffer(buffer));
      auto i64 = [&](Value v) { return b.create<arith::IndexCastOp>(loc, b.getI64Type(), v); };
      b.create<func::CallOp>(
          loc, access,
          ValueRange{elementAddress(b, loc, buffer, indices),
                     b.create<arith::ConstantIntOp>(loc, write ? 1 : 0, 32),
                     b.create<arith::ConstantIntOp>(loc, shared ? 1 : 0, 32), i64(block),
                     i64(threads.getInductionVar()), phase});
    }
  }

  /// kiln_cuda_sgemm (row-major, leading dimensions, batched) as one
  /// kiln_sgemm per batch (element strides; accumulate when beta is 1).
  void emulateGemm(func::CallOp call) {
    OpBuilder b(call);
    Location loc = call.getLoc();
    auto arg = [&](unsigned i) { return call.getOperand(i); };
    Type i64 = b.getI64Type();
    auto c64 = [&](int64_t v) { return b.create<arith::ConstantIntOp>(loc, v, 64).getResult(); };
    Value transA = b.create<arith::ExtUIOp>(loc, i64, arg(0));
    Value transB = b.create<arith::ExtUIOp>(loc, i64, arg(1));
    Value isTransA = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ne, transA, c64(0));
    Value isTransB = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ne, transB, c64(0));
    // Element (i, j) of op(X) is at x + i * row + j * col.
    Value aRow = b.create<arith::SelectOp>(loc, isTransA, c64(1), arg(6));
    Value aCol = b.create<arith::SelectOp>(loc, isTransA, arg(6), c64(1));
    Value bRow = b.create<arith::SelectOp>(loc, isTransB, c64(1), arg(8));
    Value bCol = b.create<arith::SelectOp>(loc, isTransB, arg(8), c64(1));
    Value zeroBeta = b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(0));
    Value accumulate = b.create<arith::ExtUIOp>(
        loc, b.getI32Type(),
        b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::UNE, arg(9), zeroBeta));
    Value lb = b.create<arith::ConstantIndexOp>(loc, 0);
    Value step = b.create<arith::ConstantIndexOp>(loc, 1);
    Value ub = b.create<arith::IndexCastOp>(loc, b.getIndexType(), arg(12));
    auto loop = b.create<scf::ForOp>(loc, lb, ub, step);
    b.setInsertionPointToStart(loop.getBody());
    Value batch = b.create<arith::IndexCastOp>(loc, i64, loop.getInductionVar());
    auto shifted = [&](Value base, Value stride) {
      Value bytes = b.create<arith::MulIOp>(loc, b.create<arith::MulIOp>(loc, batch, stride),
                                            c64(4));
      return b.create<arith::AddIOp>(loc, base, bytes).getResult();
    };
    b.create<func::CallOp>(
        loc, declareCPUGemm(call->getParentOfType<ModuleOp>()),
        ValueRange{arg(2), arg(3), arg(4), shifted(arg(5), arg(13)), aRow, aCol,
                   shifted(arg(7), arg(14)), bRow, bCol, shifted(arg(10), arg(15)), arg(11),
                   accumulate});
    call.erase();
  }
};

} // namespace
