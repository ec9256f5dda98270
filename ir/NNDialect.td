#ifndef KILN_NN_DIALECT
#define KILN_NN_DIALECT

include "mlir/IR/OpBase.td"
include "mlir/IR/EnumAttr.td"

def NN_Dialect : Dialect {
  let name = "nn";
  let summary = "Neural-network layers, losses and optimizer updates, after torch.nn";
  let description = [{
    Value-semantics ops on statically shaped ranked tensors. Names follow
    torch.nn.functional / aten in snake_case. Parameters are function
    arguments carrying `nn.name` (the PyTorch state_dict key), `nn.role`
    (`#nn.role<param>`, ...) and, for what the runtime initialises,
    `nn.init` (`#nn.init<uniform -0.25, 0.25>`).
  }];
  let useDefaultAttributePrinterParser = 1;
  let cppNamespace = "::kiln::nn";
  // Gradient rules create arith.constant tensors.
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

class NN_Op<string mnemonic, list<Trait> traits = []>
    : Op<NN_Dialect, mnemonic, traits>;

#endif // KILN_NN_DIALECT
