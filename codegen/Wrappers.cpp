// LLVM IR that turns compiled kernels into a linkable model object: packed
// entry points (void f(void **args)) and the exported
// `const kiln_model_metadata <prefix>__metadata` that points to them
// (<kiln/runtime.h>). The per-model C API lives in the generated header.
// Target independent: any backend whose host side is LLVM IR uses it.
#include "codegen/Wrappers.h"

#include "mlir/Interfaces/FunctionInterfaces.h"
#include "llvm/IR/IRBuilder.h"

using namespace kiln;

namespace {

/// Writes the metadata struct as LLVM constants whose layout, under the
/// target's data layout, is the C layout of the structs in <kiln/runtime.h>
/// (natural alignment; enums as i32). Doubles go in as their bits.
class MetadataBuilder {
public:
  MetadataBuilder(llvm::Module &m, const ModelInterface &model)
      : m(m), ctx(m.getContext()), model(model),
        ptrTy(llvm::PointerType::getUnqual(ctx)), i32Ty(llvm::Type::getInt32Ty(ctx)),
        i64Ty(llvm::Type::getInt64Ty(ctx)), f64Ty(llvm::Type::getDoubleTy(ctx)),
        initTy(llvm::StructType::get(ctx, {i32Ty, llvm::ArrayType::get(f64Ty, 2)})),
        rangeTy(llvm::StructType::get(ctx, {i32Ty, i32Ty, i64Ty, i64Ty, i64Ty})),
        tensorTy(llvm::StructType::get(ctx, {ptrTy, i32Ty, i32Ty, i32Ty, ptrTy, initTy,
                                             rangeTy})),
        argTy(llvm::StructType::get(ctx, {i32Ty, i32Ty})),
        kernelTy(llvm::StructType::get(ctx, {i32Ty, i32Ty, ptrTy, i32Ty, ptrTy, i64Ty})),
        metadataTy(llvm::StructType::get(
            ctx, {i32Ty, i32Ty, ptrTy, i32Ty, i32Ty, ptrTy, i32Ty, ptrTy, f64Ty, i64Ty, i32Ty,
                  llvm::ArrayType::get(f64Ty, KILN_OPTIMIZER_ARGS), ptrTy, i64Ty,
                  i32Ty, ptrTy, i32Ty})) {}

  llvm::GlobalVariable *build(std::string &error) {
    std::vector<llvm::Constant *> kernels;
    for (const KernelSpec &k : model.kernels) {
      llvm::Constant *c = kernel(k, error);
      if (!c)
        return nullptr;
      kernels.push_back(c);
    }
    std::vector<llvm::Constant *> tensors;
    for (const TensorSpec &t : model.tensors)
      tensors.push_back(tensor(t));
    const llvm::DataLayout &dl = m.getDataLayout();
    llvm::Constant *fields[] = {
        i32(KILN_METADATA_VERSION),
        i32(static_cast<int32_t>(dl.getTypeAllocSize(metadataTy))),
        string(model.name, "name"),
        i32(model.device),
        i32(static_cast<int32_t>(tensors.size())),
        array(tensorTy, tensors, "tensors"),
        i32(static_cast<int32_t>(kernels.size())),
        array(kernelTy, kernels, "kernels"),
        llvm::ConstantFP::get(f64Ty, model.lr),
        llvm::ConstantInt::get(i64Ty, model.workspaceBytes),
        i32(model.optimizer),
        optimizerArgs(),
        model.device == KILN_DEVICE_CUDA ? deviceCode()
                                         : llvm::ConstantPointerNull::get(ptrTy),
        llvm::ConstantInt::get(i64Ty, model.device == KILN_DEVICE_CUDA
                                          ? static_cast<int64_t>(model.deviceCode.size())
                                          : 0),
        i32(static_cast<int64_t>(model.deviceKernels.size())),
        deviceKernels(),
        i32(model.dataParallel ? KILN_MODEL_DATA_PARALLEL : 0)};
    return new llvm::GlobalVariable(m, metadataTy, /*isConstant=*/true,
                                    llvm::GlobalValue::ExternalLinkage,
                                    llvm::ConstantStruct::get(metadataTy, fields),
                                    model.name + "__metadata");
  }

private:
  llvm::Constant *i32(int64_t v) { return llvm::ConstantInt::get(i32Ty, v); }

  /// The device code, NUL-terminated, 64-byte aligned (a fatbin's
  /// headers are read in place).
  llvm::Constant *deviceCode() {
    auto *g = llvm::cast<llvm::GlobalVariable>(string(model.deviceCode, "device_code"));
    g->setAlignment(llvm::Align(64));
    return g;
  }

  llvm::Constant *deviceKernels() {
    std::vector<llvm::Constant *> names;
    for (const std::string &name : model.deviceKernels)
      names.push_back(string(name, "device_kernel"));
    return array(ptrTy, names, "device_kernels");
  }

  llvm::Constant *optimizerArgs() {
    std::vector<llvm::Constant *> args;
    for (double v : model.optimizerArgs)
      args.push_back(llvm::ConstantFP::get(f64Ty, v));
    return llvm::ConstantArray::get(llvm::ArrayType::get(f64Ty, KILN_OPTIMIZER_ARGS), args);
  }

  /// A private constant global holding `init`; null for an empty array.
  llvm::Constant *global(llvm::Constant *init, const llvm::Twine &what) {
    auto *g = new llvm::GlobalVariable(m, init->getType(), true,
                                       llvm::GlobalValue::PrivateLinkage, init,
                                       model.name + "__metadata." + what);
    g->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::Global);
    return g;
  }

  llvm::Constant *string(const std::string &s, const llvm::Twine &what) {
    return global(llvm::ConstantDataArray::getString(ctx, s, true), what);
  }

  llvm::Constant *array(llvm::Type *elem, llvm::ArrayRef<llvm::Constant *> items,
                        const llvm::Twine &what) {
    if (items.empty())
      return llvm::ConstantPointerNull::get(ptrTy);
    return global(llvm::ConstantArray::get(llvm::ArrayType::get(elem, items.size()), items),
                  what);
  }

  llvm::Constant *tensor(const TensorSpec &t) {
    std::vector<llvm::Constant *> dims;
    for (int64_t d : t.shape)
      dims.push_back(llvm::ConstantInt::get(i64Ty, d));
    llvm::Constant *args[] = {llvm::ConstantFP::get(f64Ty, t.init.args[0]),
                              llvm::ConstantFP::get(f64Ty, t.init.args[1])};
    llvm::Constant *init = llvm::ConstantStruct::get(
        initTy, {i32(t.init.kind),
                 llvm::ConstantArray::get(llvm::ArrayType::get(f64Ty, 2), args)});
    return llvm::ConstantStruct::get(
        tensorTy, {string(t.name, "name"), i32(t.dtype == "i64" ? KILN_I64 : KILN_F32),
                   i32(t.role), i32(static_cast<int64_t>(t.shape.size())),
                   array(i64Ty, dims, "shape"), init, range(t)});
  }

  /// kiln_index_range: all zero unless ops index with the tensor.
  llvm::Constant *range(const TensorSpec &t) {
    const std::optional<nn::IndexBounds> &b = t.indexBounds;
    auto i64 = [&](int64_t v) { return llvm::ConstantInt::get(i64Ty, v); };
    return llvm::ConstantStruct::get(
        rangeTy, {i32(b ? 1 : 0), i32(b && b->ignore ? 1 : 0), i64(b ? b->lo : 0),
                  i64(b ? b->hi : 0), i64(b && b->ignore ? *b->ignore : 0)});
  }

  llvm::Constant *kernel(const KernelSpec &k, std::string &error) {
    llvm::Function *packed = packedEntry(k, error);
    if (!packed)
      return nullptr;
    std::vector<llvm::Constant *> args;
    for (const KernelArg &a : k.args)
      args.push_back(llvm::ConstantStruct::get(argTy, {i32(a.kind), i32(a.tensor)}));
    return llvm::ConstantStruct::get(
        kernelTy, {i32(k.entry), i32(k.mode), packed,
                   i32(static_cast<int64_t>(args.size())), array(argTy, args, "args"),
                   llvm::ConstantInt::get(i64Ty, k.rngCounters)});
  }

  /// `void <kernel>_packed(void **args)` calling the bare-pointer kernel,
  /// which must take exactly the arguments the metadata lists.
  llvm::Function *packedEntry(const KernelSpec &spec, std::string &error) {
    llvm::Function *k = m.getFunction(spec.symbol);
    if (!k || k->arg_size() != spec.args.size()) {
      error = "kernel '" + spec.symbol + "' " +
              (k ? "takes " + std::to_string(k->arg_size()) + " arguments, the metadata lists " +
                       std::to_string(spec.args.size())
                 : std::string("was not compiled"));
      return nullptr;
    }
    auto *f = llvm::Function::Create(
        llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptrTy}, false),
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

  llvm::Module &m;
  llvm::LLVMContext &ctx;
  const ModelInterface &model;
  llvm::PointerType *ptrTy;
  llvm::Type *i32Ty, *i64Ty, *f64Ty;
  llvm::StructType *initTy, *rangeTy, *tensorTy, *argTy, *kernelTy, *metadataTy;
};

} // namespace

llvm::GlobalVariable *kiln::emitModelMetadata(llvm::Module &m,
                                              const ModelInterface &model,
                                              std::string &error) {
  return MetadataBuilder(m, model).build(error);
}

int64_t kiln::workspaceBytes(mlir::ModuleOp module) {
  int64_t bytes = 0;
  module.walk([&](mlir::FunctionOpInterface fn) {
    if (auto attr = fn->getAttrOfType<mlir::IntegerAttr>("kiln.workspace_bytes"))
      bytes = std::max(bytes, attr.getInt());
  });
  return bytes;
}
