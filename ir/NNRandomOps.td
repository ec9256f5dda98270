#ifndef KILN_NN_RANDOM_OPS
#define KILN_NN_RANDOM_OPS

include "NNBase.td"

// The model instance's random state (kiln_rng_state): seed, then offset, as
// two i64 (the u64 bits). Entry functions take it as an `nn.role = "rng"`
// argument.
def NN_RngState : 1DTensorOf<[I64]>;

def NN_RandomUniformOp : NN_Op<"random_uniform", [Pure]> {
  let summary = "uniform [0, 1) samples from the instance's counter-based stream";
  let description = [{
    Element `i` (row-major) is drawn from Philox-4x32-10 with key `seed`
    and counter `rng.offset + offset + i` (64 bits, in the first two counter
    words): the first output word's top 24 bits, times 2^-24. The result is
    a pure function of the state operand and `offset`, so the same op in a
    forward and its backward sees the same samples, and two ops of one
    kernel draw from disjoint counter ranges when the importer gives them
    disjoint `offset`s. A kernel that uses `N` counters is advanced by `N`
    after each call (kiln_kernel_info.rng_counters), never by the ops.

    ```mlir
    %u = nn.random_uniform %rng {offset = 64 : i64} : (tensor<2xi64>) -> tensor<4x16xf32>
    ```
  }];
  let arguments = (ins NN_RngState:$rng, I64Attr:$offset);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$rng attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

#endif // KILN_NN_RANDOM_OPS
