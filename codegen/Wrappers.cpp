// LLVM IR that turns compiled kernels into a linkable model object: packed
// entry points (void f(void **args)), the descriptor string, and the C API
// of the generated header, each a forwarder to libkiln_rt's kiln_model_*.
#include "codegen/Codegen.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Verifier.h"
#include "llvm/Support/raw_ostream.h"

using namespace kiln;

namespace {

class WrapperBuilder {
public:
  WrapperBuilder(llvm::Module &m, const ModelInterface &model)
      : m(m), ctx(m.getContext()), model(model),
        ptrTy(llvm::PointerType::getUnqual(ctx)),
        i32Ty(llvm::Type::getInt32Ty(ctx)), i64Ty(llvm::Type::getInt64Ty(ctx)),
        f32Ty(llvm::Type::getFloatTy(ctx)), voidTy(llvm::Type::getVoidTy(ctx)) {}

  /// `void <kernel>_packed(void **args)` calling the bare-pointer kernel;
  /// null when the kernel was not compiled (inference mode).
  llvm::Constant *packedEntry(llvm::StringRef kernel) {
    llvm::Function *k = m.getFunction(kernelSymbol(model.name, kernel));
    if (!k)
      return llvm::ConstantPointerNull::get(ptrTy);
    auto *f = llvm::Function::Create(
        llvm::FunctionType::get(voidTy, {ptrTy}, false),
        llvm::GlobalValue::InternalLinkage, k->getName() + "_packed", m);
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", f));
    llvm::SmallVector<llvm::Value *> args;
    for (unsigned i = 0; i < k->arg_size(); ++i) {
      llvm::Value *slot = b.CreateConstGEP1_64(ptrTy, f->getArg(0), i);
      args.push_back(b.CreateLoad(ptrTy, slot));
    }
    b.CreateCall(k, args);
    b.CreateRetVoid();
    // The kernel is only reached through its packed entry point.
    k->setLinkage(llvm::GlobalValue::InternalLinkage);
    return f;
  }

  /// `<prefix>_<name>(args...)` returning `kiln_model_<name>(args...)`.
  void forwarder(llvm::StringRef name, llvm::Type *ret,
                 llvm::ArrayRef<llvm::Type *> params) {
    auto *type = llvm::FunctionType::get(ret, params, false);
    llvm::FunctionCallee target =
        m.getOrInsertFunction(("kiln_model_" + name).str(), type);
    llvm::IRBuilder<> b(entryOf(name, type));
    llvm::Function *f = b.GetInsertBlock()->getParent();
    llvm::SmallVector<llvm::Value *> args;
    for (llvm::Argument &a : f->args())
      args.push_back(&a);
    llvm::Value *r = b.CreateCall(target, args);
    ret->isVoidTy() ? b.CreateRetVoid() : b.CreateRet(r);
  }

  void build() {
    llvm::Constant *fwd = packedEntry("forward");
    llvm::Constant *grads = packedEntry("gradients");
    llvm::Constant *step = packedEntry("train_step");
    std::string text = model.descriptor();
    auto *init = llvm::ConstantDataArray::getString(ctx, text, true);
    auto *desc = new llvm::GlobalVariable(
        m, init->getType(), true, llvm::GlobalValue::PrivateLinkage, init,
        model.name + "__descriptor");

    {
      auto *type = llvm::FunctionType::get(i32Ty, {ptrTy}, false);
      auto create = m.getOrInsertFunction(
          "kiln_model_create",
          llvm::FunctionType::get(i32Ty, {ptrTy, ptrTy, ptrTy, ptrTy, ptrTy},
                                  false));
      llvm::IRBuilder<> b(entryOf("create", type));
      llvm::Function *f = b.GetInsertBlock()->getParent();
      b.CreateRet(b.CreateCall(create, {desc, fwd, grads, step, f->getArg(0)}));
    }
    {
      // last_error(NULL) reports the failure of a create, which has no
      // instance to hold its message.
      auto *type = llvm::FunctionType::get(ptrTy, {ptrTy}, false);
      auto global = m.getOrInsertFunction(
          "kiln_last_error", llvm::FunctionType::get(ptrTy, {}, false));
      auto perModel = m.getOrInsertFunction("kiln_model_last_error", type);
      llvm::IRBuilder<> b(entryOf("last_error", type));
      llvm::Function *f = b.GetInsertBlock()->getParent();
      auto *none = llvm::BasicBlock::Create(ctx, "none", f);
      auto *some = llvm::BasicBlock::Create(ctx, "some", f);
      b.CreateCondBr(b.CreateIsNull(f->getArg(0)), none, some);
      b.SetInsertPoint(none);
      b.CreateRet(b.CreateCall(global, {}));
      b.SetInsertPoint(some);
      b.CreateRet(b.CreateCall(perModel, {f->getArg(0)}));
    }
    forwarder("destroy", voidTy, {ptrTy});
    forwarder("init_parameters", i32Ty, {ptrTy, i64Ty});
    for (const char *io : {"load_parameters", "save_parameters",
                           "load_optimizer_state", "save_optimizer_state"})
      forwarder(io, i32Ty, {ptrTy, ptrTy});
    forwarder("forward", i32Ty, {ptrTy, ptrTy, ptrTy});
    forwarder("gradients", i32Ty, {ptrTy, ptrTy, ptrTy, ptrTy});
    forwarder("train_step", i32Ty, {ptrTy, ptrTy, ptrTy, ptrTy});
    forwarder("get_lr", i32Ty, {ptrTy, ptrTy});
    forwarder("set_lr", i32Ty, {ptrTy, f32Ty});
    forwarder("get_step", i32Ty, {ptrTy, ptrTy});
    forwarder("set_training", i32Ty, {ptrTy, i32Ty});
    forwarder("num_parameters", i32Ty, {ptrTy});
    forwarder("parameter", i32Ty, {ptrTy, i32Ty, ptrTy, ptrTy, ptrTy});
    forwarder("gradient", i32Ty, {ptrTy, i32Ty, ptrTy});
    forwarder("num_states", i32Ty, {ptrTy});
    forwarder("state", i32Ty, {ptrTy, i32Ty, ptrTy, ptrTy, ptrTy});
  }

private:
  llvm::BasicBlock *entryOf(llvm::StringRef name, llvm::FunctionType *type) {
    auto *f = llvm::Function::Create(type, llvm::GlobalValue::ExternalLinkage,
                                     model.name + "_" + name, m);
    return llvm::BasicBlock::Create(ctx, "entry", f);
  }

  llvm::Module &m;
  llvm::LLVMContext &ctx;
  const ModelInterface &model;
  llvm::PointerType *ptrTy;
  llvm::Type *i32Ty, *i64Ty, *f32Ty, *voidTy;
};

} // namespace

std::unique_ptr<llvm::Module>
kiln::translateAndWrap(mlir::ModuleOp module, const ModelInterface &model,
                       llvm::LLVMContext &ctx, llvm::TargetMachine &tm,
                       int optLevel) {
  mlir::DialectRegistry registry;
  mlir::registerBuiltinDialectTranslation(registry);
  mlir::registerLLVMDialectTranslation(registry);
  module->getContext()->appendDialectRegistry(registry);
  std::unique_ptr<llvm::Module> m =
      mlir::translateModuleToLLVMIR(module, ctx, model.name);
  if (!m)
    return nullptr;
  m->setDataLayout(tm.createDataLayout());
  m->setTargetTriple(tm.getTargetTriple().str());
  // One workspace serves every kernel (an instance runs one at a time).
  ModelInterface withWorkspace = model;
  module.walk([&](mlir::LLVM::LLVMFuncOp fn) {
    if (auto bytes =
            fn->getAttrOfType<mlir::IntegerAttr>("kiln.workspace_bytes"))
      withWorkspace.workspaceBytes =
          std::max(withWorkspace.workspaceBytes, bytes.getInt());
  });
  WrapperBuilder(*m, withWorkspace).build();

  // Let IR-level passes and the backend use the full vector width the
  // target has (LLVM otherwise prefers 256-bit vectors on AVX-512 parts).
  bool avx512 = tm.getTargetFeatureString().contains("+avx512f");
  for (llvm::Function &f : *m) {
    if (f.isDeclaration())
      continue;
    f.addFnAttr("target-cpu", tm.getTargetCPU());
    f.addFnAttr("target-features", tm.getTargetFeatureString());
    if (avx512) {
      f.addFnAttr("prefer-vector-width", "512");
      f.addFnAttr("min-legal-vector-width", "512");
    }
  }
  if (llvm::verifyModule(*m, &llvm::errs()))
    return nullptr;
  auto optimize = mlir::makeOptimizingTransformer(optLevel, 0, &tm);
  if (llvm::Error err = optimize(m.get())) {
    llvm::errs() << "kilnc: LLVM optimization failed: "
                 << llvm::toString(std::move(err)) << "\n";
    return nullptr;
  }
  return m;
}
