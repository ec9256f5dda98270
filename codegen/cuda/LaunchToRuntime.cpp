// kiln-cuda-launch-to-runtime: one gpu.module with every kernel, and each
// host-side gpu.launch_func a call of libkiln_rt's kiln_cuda_launch
// (Passes.td). Precondition: after gpu-kernel-outlining, on buffers.
#include "codegen/cpu/BufferAddress.h"
#include "codegen/cuda/Passes.h"

#include "mlir/IR/Matchers.h"

namespace kiln {
#define GEN_PASS_DEF_CUDALAUNCHTORUNTIME
#include "codegen/cuda/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

constexpr llvm::StringLiteral kLaunch = "kiln_cuda_launch";

/// void kiln_cuda_launch(i32 kernel, i64 blocks, i64 threads, i64 args,
///                       i32 num_args)
func::FuncOp declareLaunch(ModuleOp module) {
  Builder b(module.getContext());
  Type i32 = b.getI32Type(), i64 = b.getI64Type();
  return kiln::cpu::declareRuntimeFunction(module, kLaunch, {i32, i64, i64, i64, i32});
}

bool isOne(Value v) {
  APInt value;
  return matchPattern(v, m_ConstantInt(&value)) && value == 1;
}

struct CUDALaunchToRuntimePass
    : kiln::impl::CUDALaunchToRuntimeBase<CUDALaunchToRuntimePass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<gpu::GPUModuleOp> outlined(module.getOps<gpu::GPUModuleOp>());
    if (outlined.empty())
      return;
    if (module.lookupSymbol(kiln::kCUDAKernelModule)) {
      module.emitError("kiln-cuda-launch-to-runtime: the kernels are merged already");
      return signalPassFailure();
    }
    // Every kernel, renamed after its (unique) outlined module, into one.
    OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
    auto merged = b.create<gpu::GPUModuleOp>(module.getLoc(), kiln::kCUDAKernelModule);
    llvm::StringMap<int32_t> index; // "module::kernel" -> kernel number
    SmallVector<Attribute> names;
    for (gpu::GPUModuleOp m : outlined) {
      for (auto fn : llvm::make_early_inc_range(m.getOps<gpu::GPUFuncOp>())) {
        if (!fn.isKernel())
          continue;
        std::string key = (m.getName() + "::" + fn.getName()).str();
        index[key] = static_cast<int32_t>(names.size());
        fn.setName(m.getName());
        names.push_back(b.getStringAttr(m.getName()));
        fn->moveBefore(merged.getBody()->getTerminator());
      }
      // What outlining copied in beside the kernel (the globals of
      // constant tensors, kiln-cuda-sink-into-kernels): once each.
      for (Operation &op : llvm::make_early_inc_range(m.getBody()->without_terminator())) {
        auto global = dyn_cast<memref::GlobalOp>(op);
        if (!global) {
          op.emitError("kiln-cuda-launch-to-runtime: an outlined GPU module holds ")
              << op.getName() << " beside its kernel";
          return signalPassFailure();
        }
        if (SymbolTable::lookupSymbolIn(merged, global.getSymName()))
          global.erase();
        else
          global->moveBefore(merged.getBody()->getTerminator());
      }
    }
    module->setAttr(kiln::kCUDAKernelsAttr, b.getArrayAttr(names));

    SmallVector<gpu::LaunchFuncOp> launches;
    module.walk([&](gpu::LaunchFuncOp op) { launches.push_back(op); });
    for (gpu::LaunchFuncOp launch : launches) {
      std::string key = (launch.getKernelModuleName().getValue() + "::" +
                         launch.getKernelName().getValue()).str();
      auto it = index.find(key);
      if (it == index.end()) {
        launch.emitError("kiln-cuda-launch-to-runtime: no kernel ") << key;
        return signalPassFailure();
      }
      if (failed(rewrite(launch, it->second)))
        return signalPassFailure();
    }
    for (gpu::GPUModuleOp m : outlined)
      m.erase();
  }

  LogicalResult rewrite(gpu::LaunchFuncOp launch, int32_t kernel) {
    if (!isOne(launch.getGridSizeY()) || !isOne(launch.getGridSizeZ()) ||
        !isOne(launch.getBlockSizeY()) || !isOne(launch.getBlockSizeZ()))
      return launch.emitError("kiln-cuda-launch-to-runtime: only one-dimensional "
                              "grids and blocks are launched");
    if (launch.getDynamicSharedMemorySize() || launch.getAsyncToken() ||
        !launch.getAsyncDependencies().empty())
      return launch.emitError("kiln-cuda-launch-to-runtime: no dynamic shared "
                              "memory or async tokens are launched");
    OpBuilder b(launch);
    Location loc = launch.getLoc();
    Type i64 = b.getI64Type();
    ValueRange operands = launch.getKernelOperands();
    auto slotsType = MemRefType::get({int64_t(operands.size())}, i64);
    Value slots = b.create<memref::AllocaOp>(loc, slotsType);
    for (auto [i, v] : llvm::enumerate(operands)) {
      Value slot;
      Type type = v.getType();
      if (auto memref = dyn_cast<MemRefType>(type)) {
        SmallVector<int64_t> strides;
        int64_t offset;
        if (!memref.hasStaticShape() ||
            failed(getStridesAndOffset(memref, strides, offset)) ||
            ShapedType::isDynamic(offset) ||
            llvm::any_of(strides, ShapedType::isDynamic))
          return launch.emitError("kiln-cuda-launch-to-runtime: kernel operand ")
                 << i << " of type " << type
                 << " has a dynamic shape, offset or stride";
        if (kiln::cpu::rootBuffer(v).getDefiningOp<memref::GetGlobalOp>())
          return launch.emitError("kiln-cuda-launch-to-runtime: kernel operand ")
                 << i << " is a global of the host's memory";
        slot = b.create<arith::IndexCastOp>(loc, i64, kiln::cpu::alignedAddress(b, loc, v));
      } else if (type.isIndex()) {
        slot = b.create<arith::IndexCastOp>(loc, i64, v);
      } else if (type.isInteger(64)) {
        slot = v;
      } else if (type.isInteger(32) || type.isInteger(1) || type.isInteger(8) ||
                 type.isInteger(16)) {
        slot = b.create<arith::ExtUIOp>(loc, i64, v);
      } else if (type.isF32()) {
        Value bits = b.create<arith::BitcastOp>(loc, b.getI32Type(), v);
        slot = b.create<arith::ExtUIOp>(loc, i64, bits);
      } else if (type.isF64()) {
        slot = b.create<arith::BitcastOp>(loc, i64, v);
      } else {
        return launch.emitError("kiln-cuda-launch-to-runtime: kernel operand ")
               << i << " of type " << type << " cannot be passed";
      }
      Value position = b.create<arith::ConstantIndexOp>(loc, i);
      b.create<memref::StoreOp>(loc, slot, slots, position);
    }
    auto i32 = [&](int64_t v) {
      return b.create<arith::ConstantIntOp>(loc, v, 32).getResult();
    };
    auto toI64 = [&](Value v) { return b.create<arith::IndexCastOp>(loc, i64, v); };
    Value args = toI64(kiln::cpu::alignedAddress(b, loc, slots));
    b.create<func::CallOp>(
        loc, declareLaunch(launch->getParentOfType<ModuleOp>()),
        ValueRange{i32(kernel), toI64(launch.getGridSizeX()),
                   toI64(launch.getBlockSizeX()), args,
                   i32(static_cast<int64_t>(operands.size()))});
    launch.erase();
    return success();
  }
};

} // namespace
