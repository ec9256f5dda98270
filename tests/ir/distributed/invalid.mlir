// RUN: kiln-opt %s --split-input-file --verify-diagnostics

func.func @nothing() {
  // expected-error @+1 {{needs at least one tensor to reduce}}
  "nn.all_reduce"() : () -> ()
  return
}

// -----

func.func @dynamic(%a: tensor<?xf32>) {
  // expected-error @+1 {{has no static shape}}
  %r = nn.all_reduce %a : tensor<?xf32>
  return
}

// -----

func.func @library_count(%a: tensor<12xf32>, %o: tensor<12xf32>) {
  // expected-error @+1 {{operand has 12 elements, the all-reduce 10}}
  %r = nn.library_call "kiln_all_reduce_mean" [10] ins(%a : tensor<12xf32>) outs(%o : tensor<12xf32>) -> tensor<12xf32>
  return
}
