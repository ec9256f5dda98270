// kiln-cpu-library-calls-to-runtime: nn.library_call on buffers -> a call of
// the libkiln_rt routine it names (the convolutions of
// passes/LowerConvLibrary.cpp; runtime/lib/conv.cpp). The parameters become
// a constant global array (one per distinct array), the buffers the
// addresses of their first elements. Precondition: after bufferization and
// memory planning (the call hides its buffer uses from both).
#include "codegen/cpu/BufferAddress.h"
#include "codegen/cpu/Passes.h"
#include "ir/NNDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Utils/MemRefUtils.h"

#include <map>

namespace kiln {
#define GEN_PASS_DEF_CPULIBRARYCALLSTORUNTIME
#include "codegen/cpu/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// void callee(i64 params, i64 operand...): pointers travel as i64.
func::FuncOp declareRoutine(ModuleOp module, StringRef name, size_t args) {
  SmallVector<Type> types(args, IntegerType::get(module.getContext(), 64));
  return kiln::cpu::declareRuntimeFunction(module, name, types);
}

/// The data-parallel collectives (passes/LowerDistributed.cpp).
bool isCollective(StringRef callee) {
  return callee.starts_with("kiln_all_reduce") || callee == "kiln_world_size";
}

struct CPULibraryCallsToRuntimePass
    : kiln::impl::CPULibraryCallsToRuntimeBase<CPULibraryCallsToRuntimePass> {
  using CPULibraryCallsToRuntimeBase::CPULibraryCallsToRuntimeBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<kiln::nn::LibraryCallOp> calls;
    module.walk([&](kiln::nn::LibraryCallOp op) {
      if (!collectivesOnly || isCollective(op.getCallee()))
        calls.push_back(op);
    });
    std::map<std::vector<int64_t>, memref::GlobalOp> globals;
    // A bucket's wait must complete the buffer its start handed to the
    // communication thread: bufferization kept them one buffer, or the wait
    // would read a copy taken while the all-reduce was still running.
    DenseMap<std::pair<Operation *, int64_t>, Value> inFlight;
    for (kiln::nn::LibraryCallOp call : calls) {
      if (call.getCallee() != "kiln_all_reduce_start" &&
          call.getCallee() != "kiln_all_reduce_wait")
        continue;
      auto key = std::make_pair(call->getParentOfType<func::FuncOp>().getOperation(),
                                call.getParams()[1]);
      Value buffer = call.getOutputs()[0];
      if (call.getCallee() == "kiln_all_reduce_start") {
        inFlight[key] = buffer;
      } else if (inFlight.lookup(key) != buffer) {
        call.emitOpError("internal error: bucket ")
            << key.second << "'s wait does not complete its start's buffer";
        return signalPassFailure();
      }
    }
    for (kiln::nn::LibraryCallOp call : calls) {
      if (!call.getResults().empty()) {
        call.emitOpError("is still on tensors: kiln-cpu-library-calls-to-runtime "
                         "runs after bufferization");
        return signalPassFailure();
      }
      for (Value v : call.getOperands())
        if (!memref::isStaticShapeAndContiguousRowMajor(cast<MemRefType>(v.getType()))) {
          call.emitOpError("operand of type ")
              << v.getType() << " is not a contiguous buffer";
          return signalPassFailure();
        }
      std::vector<int64_t> params(call.getParams().begin(), call.getParams().end());
      memref::GlobalOp &global = globals[params];
      OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
      if (!global) {
        auto type = MemRefType::get({int64_t(params.size())}, b.getI64Type());
        std::string name = "__kiln_params_" + std::to_string(globals.size() - 1);
        global = b.create<memref::GlobalOp>(
            call.getLoc(), name, b.getStringAttr("private"), type,
            DenseIntElementsAttr::get(
                RankedTensorType::get(type.getShape(), b.getI64Type()),
                ArrayRef<int64_t>(params)),
            /*constant=*/true, b.getI64IntegerAttr(8));
      }
      b.setInsertionPoint(call);
      Location loc = call.getLoc();
      auto address = [&](Value memref) {
        return kiln::cpu::firstElementAddressI64(b, loc, memref);
      };
      Value paramsBuffer = b.create<memref::GetGlobalOp>(loc, global.getType(),
                                                         global.getName());
      SmallVector<Value> args{address(paramsBuffer)};
      for (Value v : call.getInputs())
        args.push_back(address(v));
      // kiln_sconv_forward's bias is optional: a null pointer without it.
      if (call.getCallee() == "kiln_sconv_forward" && call.getInputs().size() == 2)
        args.push_back(b.create<arith::ConstantIntOp>(loc, 0, 64));
      for (Value v : call.getOutputs())
        args.push_back(address(v));
      std::string callee = call.getCallee().str();
      if (StringRef(callee).starts_with("kiln_"))
        callee = prefix + callee.substr(5);
      b.create<func::CallOp>(loc, declareRoutine(module, callee, args.size()), args);
      call.erase();
    }
  }
};

} // namespace
