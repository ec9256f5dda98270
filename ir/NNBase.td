// What every op family shares: element types, the differentiable-op base
// class and the broadcasting binary class.
#ifndef KILN_NN_BASE
#define KILN_NN_BASE

include "NNDialect.td"
include "NNInterfaces.td"
include "mlir/IR/OpBase.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def NN_FloatTensor : RankedTensorOf<[F32]>;
def NN_IndexTensor : RankedTensorOf<[I64]>;
def NN_ScalarF32 : 0DTensorOf<[F32]>;

// A differentiable op: its gradient rule lives in NNGradients.cpp.
class NN_DiffOp<string mnemonic, list<Trait> traits = [],
                list<string> gradientOverrides = []>
    : NN_Op<mnemonic, !listconcat([Pure,
        DeclareOpInterfaceMethods<NN_GradientOpInterface, gradientOverrides>],
        traits)>;

def NN_BoolTensor : RankedTensorOf<[I1]>;

class NN_BroadcastBinaryOp<string mnemonic, string torchName>
    : NN_DiffOp<mnemonic, [DeclareOpInterfaceMethods<InferTypeOpInterface>]> {
  let summary = "elementwise " # torchName # " with torch broadcasting";
  let description = [{
    Shapes broadcast as in torch (aligned on the right; a dimension of size 1
    stretches).

    ```mlir
    %z = nn.}] # mnemonic # [{ %x, %y : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$lhs, NN_FloatTensor:$rhs);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
}

#endif // KILN_NN_BASE
