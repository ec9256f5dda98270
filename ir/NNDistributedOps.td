#ifndef KILN_NN_DISTRIBUTED_OPS
#define KILN_NN_DISTRIBUTED_OPS

include "NNBase.td"

// Collectives of data-parallel training (docs/distributed.md). Inserted by
// nn-build-train-step for a module marked nn.data_parallel, after autodiff:
// they have no gradient rule.
def NN_AllReduceOp : NN_Op<"all_reduce", [
    DeclareOpInterfaceMethods<InferTypeOpInterface>]> {
  let summary = "average tensors over the processes of the data-parallel group";
  let description = [{
    Each result is the average over the processes of the communicator
    attached to the instance (kiln/comm.h) of the corresponding operand:
    every process contributes operand / world_size and the contributions
    are summed, as torch's DistributedDataParallel averages its gradient
    buckets. The operands are one bucket: they travel as one contiguous
    message. Without a communicator, or with one of a single process, the
    results equal the operands. Every process must run the same
    all_reduce ops in the same order (they do: they run the same kernel).

    ```mlir
    %a, %b = nn.all_reduce %ga, %gb : tensor<16x8xf32>, tensor<16xf32>
    ```
  }];
  let arguments = (ins Variadic<NN_FloatTensor>:$inputs);
  let results = (outs Variadic<NN_FloatTensor>:$results);
  let assemblyFormat = "$inputs attr-dict `:` type($inputs)";
  let hasVerifier = 1;
}

def NN_AllReduceStartOp : NN_Op<"all_reduce_start",
    [MemoryEffects<[MemRead, MemWrite]>]> {
  let summary = "start averaging one bucket of tensors over the group";
  let description = [{
    The first half of an `nn.all_reduce` split by `nn-bucket-all-reduce`:
    the operands (one bucket) are copied end to end into `in_flight` and
    their average over the processes is started; the communicator's
    thread carries it out while the kernel goes on (kiln/comm.h).
    `in_flight` holds the average only after the matching
    `nn.all_reduce_wait` (same `bucket`). Memory effects keep both in
    place: every process must start the buckets in the same order.

    ```mlir
    %h = nn.all_reduce_start %a, %b {bucket = 0 : i64} : tensor<4x3xf32>, tensor<3xf32> -> tensor<15xf32>
    ```
  }];
  let arguments = (ins Variadic<NN_FloatTensor>:$inputs, I64Attr:$bucket);
  let results = (outs NN_FloatTensor:$in_flight);
  let assemblyFormat = "$inputs attr-dict `:` type($inputs) `->` type($in_flight)";
  let hasVerifier = 1;
}

def NN_AllReduceWaitOp : NN_Op<"all_reduce_wait",
    [MemoryEffects<[MemRead, MemWrite]>]> {
  let summary = "wait for a bucket's average and split it into tensors";
  let description = [{
    Waits until the bucket `nn.all_reduce_start` (same `bucket`) started
    is averaged, then gives its tensors, in the start's operand order and
    types.

    ```mlir
    %a, %b = nn.all_reduce_wait %h {bucket = 0 : i64} : tensor<15xf32> -> tensor<4x3xf32>, tensor<3xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$in_flight, I64Attr:$bucket);
  let results = (outs Variadic<NN_FloatTensor>:$results);
  let assemblyFormat = "$in_flight attr-dict `:` type($in_flight) `->` type($results)";
  let hasVerifier = 1;
}

def NN_WorldSizeOp : NN_Op<"world_size", [Pure]> {
  let summary = "the number of processes of the data-parallel group, as f32";
  let description = [{
    The size of the communicator attached to the instance that runs the
    kernel (kiln/comm.h), 1 without one: what a synchronised batch norm
    multiplies its per-process element count by for the unbiased running
    variance.

    ```mlir
    %n = nn.world_size : tensor<f32>
    ```
  }];
  let results = (outs NN_ScalarF32:$result);
  let assemblyFormat = "attr-dict `:` type($result)";
}

#endif // KILN_NN_DISTRIBUTED_OPS
