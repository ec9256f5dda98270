// The argument contract of Kiln's entry functions: every argument carries
// `nn.name` (its state_dict key or API name), `nn.role` (#nn.role<...>)
// and, for tensors the runtime initialises, `nn.init` (#nn.init<...>). The
// importer and nn-build-train-step both build such signatures; autodiff and
// codegen's ModelInterface read them through roleOf / initOf.
#ifndef KILN_IR_ARGSIGNATURE_H
#define KILN_IR_ARGSIGNATURE_H

#include "ir/NNDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

namespace kiln {

/// Argument types and attributes of a function being built.
struct ArgSignature {
  llvm::SmallVector<mlir::Type> types;
  llvm::SmallVector<mlir::DictionaryAttr> attrs;

  void add(mlir::OpBuilder &b, mlir::Type t, llvm::StringRef name,
           nn::TensorRole role, nn::InitAttr init = {}) {
    types.push_back(t);
    llvm::SmallVector<mlir::NamedAttribute> a{
        b.getNamedAttr("nn.name", b.getStringAttr(name)),
        b.getNamedAttr("nn.role", nn::TensorRoleAttr::get(b.getContext(), role))};
    if (init)
      a.push_back(b.getNamedAttr("nn.init", init));
    attrs.push_back(b.getDictionaryAttr(a));
  }

  /// Argument `i` of `f`, type and attributes unchanged.
  void copy(mlir::func::FuncOp f, unsigned i) {
    types.push_back(f.getArgumentTypes()[i]);
    attrs.push_back(f.getArgAttrDict(i));
  }
};

/// The role of argument `i` of `f`, if it has one.
inline std::optional<nn::TensorRole> roleOf(mlir::func::FuncOp f, unsigned i) {
  if (auto role = f.getArgAttrOfType<nn::TensorRoleAttr>(i, "nn.role"))
    return role.getValue();
  return std::nullopt;
}

/// The initializer of argument `i` of `f` (null when it has none).
inline nn::InitAttr initOf(mlir::func::FuncOp f, unsigned i) {
  return f.getArgAttrOfType<nn::InitAttr>(i, "nn.init");
}

} // namespace kiln

#endif // KILN_IR_ARGSIGNATURE_H
