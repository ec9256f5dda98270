// The argument contract of Kiln's entry functions: every argument carries
// `nn.name` (its state_dict key or API name), `nn.role` and, for tensors the
// runtime initialises, `nn.init`. The importer and nn-build-train-step both
// build such signatures; codegen's ModelInterface reads them.
#ifndef KILN_IR_ARGSIGNATURE_H
#define KILN_IR_ARGSIGNATURE_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

namespace kiln {

/// Argument types and attributes of a function being built.
struct ArgSignature {
  llvm::SmallVector<mlir::Type> types;
  llvm::SmallVector<mlir::DictionaryAttr> attrs;

  void add(mlir::OpBuilder &b, mlir::Type t, llvm::StringRef name,
           llvm::StringRef role, llvm::StringRef init = {}) {
    types.push_back(t);
    llvm::SmallVector<mlir::NamedAttribute> a{
        b.getNamedAttr("nn.name", b.getStringAttr(name)),
        b.getNamedAttr("nn.role", b.getStringAttr(role))};
    if (!init.empty())
      a.push_back(b.getNamedAttr("nn.init", b.getStringAttr(init)));
    attrs.push_back(b.getDictionaryAttr(a));
  }

  /// Argument `i` of `f`, type and attributes unchanged.
  void copy(mlir::func::FuncOp f, unsigned i) {
    types.push_back(f.getArgumentTypes()[i]);
    attrs.push_back(f.getArgAttrDict(i));
  }
};

} // namespace kiln

#endif // KILN_IR_ARGSIGNATURE_H
