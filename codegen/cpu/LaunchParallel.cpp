// kiln-cpu-launch-parallel: calls of outlined parallel bodies (see
// OutlineParallel.cpp) -> kiln_parallel_for launches with a stack context.
// Runs on the LLVM dialect, where the captures already have their final
// types (memrefs are bare pointers), so packing them is a plain struct.
#include "codegen/cpu/Passes.h"

namespace kiln {
#define GEN_PASS_DEF_CPULAUNCHPARALLEL
#include "codegen/cpu/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

constexpr llvm::StringLiteral kParallelFor = "kiln_parallel_for";

/// void kiln_parallel_for(int64_t n, void (*)(int64_t, int64_t, void *),
///                        void *ctx) from libkiln_rt.
LLVM::LLVMFuncOp declareParallelFor(ModuleOp module, OpBuilder &b) {
  if (auto f = module.lookupSymbol<LLVM::LLVMFuncOp>(kParallelFor))
    return f;
  MLIRContext *ctx = module.getContext();
  auto ptr = LLVM::LLVMPointerType::get(ctx);
  auto i64 = IntegerType::get(ctx, 64);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToEnd(module.getBody());
  return b.create<LLVM::LLVMFuncOp>(
      module.getLoc(), kParallelFor,
      LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx),
                                  {i64, ptr, ptr}));
}

/// `void <body>_thunk(i64 b, i64 e, ptr ctx)`: ctx points at
/// {i64 begin, captures...}; calls body(begin + b, begin + e, captures...).
LLVM::LLVMFuncOp buildThunk(LLVM::LLVMFuncOp body,
                            LLVM::LLVMStructType context, OpBuilder &b) {
  MLIRContext *ctx = body.getContext();
  auto ptr = LLVM::LLVMPointerType::get(ctx);
  auto i64 = IntegerType::get(ctx, 64);
  Location loc = body.getLoc();
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointAfter(body);
  auto thunk = b.create<LLVM::LLVMFuncOp>(
      loc, (body.getSymName() + "_thunk").str(),
      LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx),
                                  {i64, i64, ptr}),
      LLVM::Linkage::Internal);
  // Only kiln_parallel_for sees its address, and never compares it: LLVM's
  // MergeFunctions (MachineCode.cpp) may then drop a duplicate outright
  // instead of keeping it as a thunk of the thunk.
  thunk.setUnnamedAddr(LLVM::UnnamedAddr::Global);
  Block *entry = thunk.addEntryBlock(b);
  b.setInsertionPointToStart(entry);
  SmallVector<Value> fields;
  for (auto [i, type] : llvm::enumerate(context.getBody())) {
    Value at = b.create<LLVM::GEPOp>(
        loc, ptr, context, entry->getArgument(2),
        ArrayRef<LLVM::GEPArg>{0, static_cast<int32_t>(i)});
    fields.push_back(b.create<LLVM::LoadOp>(loc, type, at));
  }
  SmallVector<Value> args = {
      b.create<LLVM::AddOp>(loc, fields[0], entry->getArgument(0)),
      b.create<LLVM::AddOp>(loc, fields[0], entry->getArgument(1))};
  args.append(fields.begin() + 1, fields.end());
  b.create<LLVM::CallOp>(loc, body, args);
  b.create<LLVM::ReturnOp>(loc, ValueRange());
  return thunk;
}

struct CPULaunchParallelPass
    : kiln::impl::CPULaunchParallelBase<CPULaunchParallelPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<std::pair<LLVM::CallOp, LLVM::LLVMFuncOp>> launches;
    WalkResult walk = module.walk([&](LLVM::CallOp call) {
      auto callee = call.getCallee();
      if (!callee)
        return WalkResult::advance();
      auto body = module.lookupSymbol<LLVM::LLVMFuncOp>(*callee);
      if (!body || !body->hasAttr("kiln.parallel_body"))
        return WalkResult::advance();
      if (call.getNumOperands() < 2 || call.getNumResults() != 0 ||
          !call.getOperand(0).getType().isInteger(64) ||
          !call.getOperand(1).getType().isInteger(64)) {
        call.emitOpError("kiln-cpu-launch-parallel: a parallel body takes "
                         "(i64 begin, i64 end, captures...) and returns "
                         "nothing");
        return WalkResult::interrupt();
      }
      launches.push_back({call, body});
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return signalPassFailure();
    if (launches.empty())
      return;

    MLIRContext *ctx = module.getContext();
    OpBuilder b(ctx);
    LLVM::LLVMFuncOp parallelFor = declareParallelFor(module, b);
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    DenseMap<Operation *, LLVM::LLVMFuncOp> thunks;
    for (auto [call, body] : launches) {
      Location loc = call.getLoc();
      // {begin, captures...}: the call's operands minus `end`.
      SmallVector<Value> fields = {call.getOperand(0)};
      llvm::append_range(fields, call.getOperands().drop_front(2));
      SmallVector<Type> fieldTypes;
      for (Value v : fields)
        fieldTypes.push_back(v.getType());
      auto context = LLVM::LLVMStructType::getLiteral(ctx, fieldTypes);
      LLVM::LLVMFuncOp &thunk = thunks[body];
      if (!thunk)
        thunk = buildThunk(body, context, b);

      // The context lives in the entry block's frame: a launch inside a loop
      // must not grow the stack on every iteration.
      auto parent = call->getParentOfType<LLVM::LLVMFuncOp>();
      b.setInsertionPointToStart(&parent.getBody().front());
      Value one = b.create<LLVM::ConstantOp>(loc, b.getI64Type(),
                                             b.getI64IntegerAttr(1));
      Value slot = b.create<LLVM::AllocaOp>(loc, ptr, context, one);

      b.setInsertionPoint(call);
      for (auto [i, v] : llvm::enumerate(fields)) {
        Value at = b.create<LLVM::GEPOp>(
            loc, ptr, context, slot,
            ArrayRef<LLVM::GEPArg>{0, static_cast<int32_t>(i)});
        b.create<LLVM::StoreOp>(loc, v, at);
      }
      Value n = b.create<LLVM::SubOp>(loc, call.getOperand(1),
                                      call.getOperand(0));
      Value fn = b.create<LLVM::AddressOfOp>(loc, thunk);
      b.create<LLVM::CallOp>(loc, parallelFor, ValueRange{n, fn, slot});
      call.erase();
    }
  }
};

} // namespace
