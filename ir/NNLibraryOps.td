#ifndef KILN_NN_LIBRARY_OPS
#define KILN_NN_LIBRARY_OPS

include "NNBase.td"
include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.td"
include "mlir/Interfaces/DestinationStyleOpInterface.td"

// A call of a routine of the runtime library (libkiln_rt), at the level of
// linalg: what a lowering emits where a library routine beats generated loops
// (the convolutions of passes/LowerConvLibrary.cpp). Verifier and bufferization:
// NNLibraryOps.cpp; the call itself: the backend (CPU:
// kiln-cpu-library-calls-to-runtime).
def NN_LibraryCallOp : NN_Op<"library_call", [AttrSizedOperandSegments,
    DeclareOpInterfaceMethods<MemoryEffectsOpInterface>,
    DestinationStyleOpInterface,
    DeclareOpInterfaceMethods<BufferizableOpInterface,
        ["bufferizesToMemoryRead", "bufferizesToMemoryWrite",
         "getAliasingValues", "bufferize"]>]> {
  let summary = "a runtime library routine in destination-passing style";
  let description = [{
    Calls `callee` with the integer `params`, reading `inputs` and writing
    every element of `outputs` (their previous contents are not read). On
    tensors the results are the written outputs; on buffers (after
    bufferization) there are no results. `callee` is one of the routines the
    verifier knows, with the operand counts it lists:

    | callee | params | inputs | outputs |
    |---|---|---|---|
    | `kiln_sconv_forward` | the 22-value geometry of `kiln/runtime.h` | x, w (, bias) | y |
    | `kiln_sconv_backward_input` | same | dy, w | dx |
    | `kiln_sconv_backward_weight` | same | x, dy | dw |
    | `kiln_ctc_loss_forward` | T, N, C, S, blank, zero_infinity | log_probs, targets, input_lengths, target_lengths | loss |
    | `kiln_ctc_loss_backward` | same | log_probs, targets, input_lengths, target_lengths, grad_loss | grad_log_probs |
    | `kiln_all_reduce_mean` | n | the gradients of one bucket, flat | their average over the processes |
    | `kiln_all_reduce_sum` | n | per-process sums, flat | their sum over the processes |
    | `kiln_world_size` | 1 | (none) | [1]: the number of processes |
    | `kiln_all_reduce_start` | n, bucket | a bucket, flat | its in-flight buffer (average started) |
    | `kiln_all_reduce_wait` | n, bucket | (none) | the bucket's average (after the wait) |

    Every operand has a static shape; the CTC routines' targets and lengths
    are i64, every other operand f32.

    ```mlir
    %y = nn.library_call "kiln_sconv_forward" [1, 3, 8, 1, 1, 8, 1, 1, 6, 1, 1, 3, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1]
           ins(%x, %w : tensor<1x3x8xf32>, tensor<8x3x3xf32>)
           outs(%init : tensor<1x8x6xf32>) -> tensor<1x8x6xf32>
    ```
  }];
  let arguments = (ins StrAttr:$callee, DenseI64ArrayAttr:$params,
                       Variadic<AnyShaped>:$inputs,
                       Variadic<AnyShaped>:$outputs);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let assemblyFormat = [{
    $callee $params (`ins` `(` $inputs^ `:` type($inputs) `)`)?
    `outs` `(` $outputs `:` type($outputs) `)` attr-dict (`->` type($results)^)?
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return getOutputsMutable();
    }
  }];
}

#endif // KILN_NN_LIBRARY_OPS
