#ifndef KILN_NN_ELEMENTWISE_OPS
#define KILN_NN_ELEMENTWISE_OPS

include "NNBase.td"

def NN_AddOp : NN_BroadcastBinaryOp<"add", "torch.add">;
def NN_SubOp : NN_BroadcastBinaryOp<"sub", "torch.sub">;
def NN_MulOp : NN_BroadcastBinaryOp<"mul", "torch.mul">;

//===----------------------------------------------------------------------===//
// Unary math: one class, one lowering template (passes/LowerElementwise.cpp),
// gradients in NNElementwiseOps.cpp.
//===----------------------------------------------------------------------===//

class NN_UnaryOp<string mnemonic, string torchName, string math>
    : NN_DiffOp<mnemonic, [SameOperandsAndResultType]> {
  let summary = "y = " # math # " elementwise (" # torchName # ")";
  let description = [{
    ```mlir
    %y = nn.}] # mnemonic # [{ %x : tensor<4x8xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def NN_NegOp : NN_UnaryOp<"neg", "torch.neg", "-x">;
def NN_AbsOp : NN_UnaryOp<"abs", "torch.abs", "|x|">;
def NN_SignOp : NN_UnaryOp<"sign", "torch.sign", "sign(x) (0 at 0; gradient 0)">;
def NN_ExpOp : NN_UnaryOp<"exp", "torch.exp", "e^x">;
def NN_LogOp : NN_UnaryOp<"log", "torch.log", "ln x">;
def NN_Log1pOp : NN_UnaryOp<"log1p", "torch.log1p", "ln(1 + x)">;
def NN_SqrtOp : NN_UnaryOp<"sqrt", "torch.sqrt", "sqrt(x)">;
def NN_RsqrtOp : NN_UnaryOp<"rsqrt", "torch.rsqrt", "1 / sqrt(x)">;
def NN_TanhOp : NN_UnaryOp<"tanh", "torch.tanh", "tanh x">;
def NN_SigmoidOp : NN_UnaryOp<"sigmoid", "torch.sigmoid", "1 / (1 + e^-x)">;
def NN_ErfOp : NN_UnaryOp<"erf", "torch.erf", "erf x">;

//===----------------------------------------------------------------------===//
// Binary arithmetic with torch broadcasting
//===----------------------------------------------------------------------===//

def NN_DivOp : NN_BroadcastBinaryOp<"div", "torch.div">;
def NN_MaximumOp : NN_BroadcastBinaryOp<"maximum", "torch.maximum">;
def NN_MinimumOp : NN_BroadcastBinaryOp<"minimum", "torch.minimum">;
// a ** b; gradient as torch's: (where(b == 0, 0, dy b a^(b-1)),
// where(a == 0 and b >= 0, 0, dy a^b ln a)).
def NN_PowOp : NN_BroadcastBinaryOp<"pow", "torch.pow">;

//===----------------------------------------------------------------------===//
// Compare and select (masks; not differentiable in their condition)
//===----------------------------------------------------------------------===//

def NN_ComparePredicate : I64EnumAttr<"ComparePredicate", "elementwise comparison", [
    I64EnumAttrCase<"eq", 0>, I64EnumAttrCase<"ne", 1>, I64EnumAttrCase<"lt", 2>,
    I64EnumAttrCase<"le", 3>, I64EnumAttrCase<"gt", 4>, I64EnumAttrCase<"ge", 5>]> {
  let cppNamespace = "::kiln::nn";
}

def NN_CompareOp : NN_Op<"compare",
    [Pure, DeclareOpInterfaceMethods<InferTypeOpInterface>]> {
  let summary = "elementwise comparison with broadcasting (torch.eq, lt, ...)";
  let description = [{
    An i1 mask; ordered comparisons (false when either side is NaN, like
    torch). Not differentiable.

    ```mlir
    %m = nn.compare lt, %a, %b : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xi1>
    ```
  }];
  let arguments = (ins NN_ComparePredicate:$predicate, NN_FloatTensor:$lhs,
                       NN_FloatTensor:$rhs);
  let results = (outs NN_BoolTensor:$result);
  let assemblyFormat = "$predicate `,` $lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
}

def NN_WhereOp : NN_DiffOp<"where",
    [DeclareOpInterfaceMethods<InferTypeOpInterface>], ["isDifferentiableOperand"]> {
  let summary = "condition ? lhs : rhs elementwise with broadcasting (torch.where)";
  let description = [{
    ```mlir
    %y = nn.where %m, %a, %b : (tensor<4x8xi1>, tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
    ```
  }];
  let arguments = (ins NN_BoolTensor:$condition, NN_FloatTensor:$lhs,
                       NN_FloatTensor:$rhs);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$condition `,` $lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
}

#endif // KILN_NN_ELEMENTWISE_OPS
