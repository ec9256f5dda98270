// The nn dialect: ops after torch.nn on statically shaped tensors.
#ifndef KILN_IR_NNDIALECT_H
#define KILN_IR_NNDIALECT_H

#include "ir/IndexBounds.h"
#include "ir/PoolShapeRules.h"
#include "ir/ShapeRules.h"

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "ir/NNDialect.h.inc"
#include "ir/NNEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "ir/NNAttrs.h.inc"
#include "ir/NNInterfaces.h.inc"

#define GET_OP_CLASSES
#include "ir/NNOps.h.inc"

namespace kiln::nn {

/// Torch broadcasting of two static shapes; nullopt when incompatible.
std::optional<llvm::SmallVector<int64_t>>
broadcastShapes(llvm::ArrayRef<int64_t> a, llvm::ArrayRef<int64_t> b);

/// Whether `from` broadcasts to `to` (torch rules).
bool isBroadcastableTo(llvm::ArrayRef<int64_t> from, llvm::ArrayRef<int64_t> to);

/// torch.optim.SGD's constraints on its hyper-parameters, checked once for
/// the importer, nn-build-train-step and nn.sgd_update's verifier: the
/// problem in words, or "" when they are valid.
std::string checkSgdOptions(double momentum, double dampening,
                            double weightDecay, bool nesterov);

} // namespace kiln::nn

#endif // KILN_IR_NNDIALECT_H
