// Typed attributes of the entry functions' argument contract
// (ir/ArgSignature.h): what an argument is (#nn.role<param>) and how the
// runtime initialises it (#nn.init<uniform -0.25, 0.25>). Typed so that a
// misspelt role or a malformed initializer is a parse/verify error, and the
// numbers are f64 values, not text to re-parse.
#ifndef KILN_NN_ATTRS
#define KILN_NN_ATTRS

include "NNDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def NN_TensorRole : I32EnumAttr<"TensorRole", "what an entry-function argument is", [
    I32EnumAttrCase<"param", 0>, I32EnumAttrCase<"buffer", 1>,
    I32EnumAttrCase<"state", 2>, I32EnumAttrCase<"input", 3>,
    I32EnumAttrCase<"target", 4>, I32EnumAttrCase<"step", 5>,
    I32EnumAttrCase<"lr", 6>, I32EnumAttrCase<"rng", 7>,
    // Gradient accumulation (nn-build-train-step): `grad` is the gradient of
    // the parameter of the same nn.name (read), `grad_sum` the instance's
    // running sum of them (`<param>.grad`).
    I32EnumAttrCase<"grad", 8>, I32EnumAttrCase<"grad_sum", 9>,
    // A parameter group's momentum (or beta1) that a scheduler cycles.
    I32EnumAttrCase<"momentum", 10>,
    // Accumulation with a lazy update (SparseAdam): `sparse_rows` is how
    // often the last batch read each row of the parameter's embedding
    // (`<param>.grad_rows`, what the gradients kernel wrote), `rows_sum`
    // the instance's running sum of them (`<param>.grad.rows`).
    I32EnumAttrCase<"sparse_rows", 11>, I32EnumAttrCase<"rows_sum", 12>]> {
  let cppNamespace = "::kiln::nn";
  let genSpecializedAttr = 0;
}

def NN_TensorRoleAttr : EnumAttr<NN_Dialect, NN_TensorRole, "role"> {
  let summary = "the role of an entry-function argument (nn.role)";
  let assemblyFormat = "`<` $value `>`";
}

def NN_InitKind : I32EnumAttr<"InitKind", "how a tensor starts", [
    I32EnumAttrCase<"zeros", 0>, I32EnumAttrCase<"ones", 1>,
    I32EnumAttrCase<"uniform", 2>, I32EnumAttrCase<"normal", 3>,
    I32EnumAttrCase<"constant", 4>, I32EnumAttrCase<"norm_of", 5>,
    I32EnumAttrCase<"unit_normal", 6>, I32EnumAttrCase<"empty", 7>]> {
  let cppNamespace = "::kiln::nn";
  let genSpecializedAttr = 0;
}

def NN_InitAttr : AttrDef<NN_Dialect, "Init"> {
  let mnemonic = "init";
  let summary = "how the runtime fills a parameter, buffer or state (nn.init)";
  let description = [{
    `#nn.init<zeros>`, `#nn.init<ones>`, `#nn.init<uniform LO, HI>`
    (LO <= HI), `#nn.init<normal MEAN, STD>` (STD >= 0) or
    `#nn.init<constant V>` (a parameter group's initial lr),
    `#nn.init<norm_of P, D>` (the 2-norm of parameter P's initial value over
    every dimension but D, or over all with D = -1: weight_norm's g) or
    `#nn.init<unit_normal EPS>` (N(0, 1) scaled to unit norm, spectral_norm's
    u and v) or `#nn.init<empty>` (torch.nn.utils.skip_init: left as it
    is): torch's default initializers reduced to numbers, kept as f64
    and printed in shortest round-trip form, so the metadata gets exactly
    the importer's values.
  }];
  let parameters = (ins EnumParameter<NN_InitKind>:$kind,
                        APFloatParameter<"first argument">:$a,
                        APFloatParameter<"second argument">:$b);
  let builders = [
    AttrBuilder<(ins "InitKind":$kind, CArg<"double", "0">:$a, CArg<"double", "0">:$b), [{
      return $_get($_ctxt, kind, ::llvm::APFloat(a), ::llvm::APFloat(b));
    }]>
  ];
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
}

#endif // KILN_NN_ATTRS
