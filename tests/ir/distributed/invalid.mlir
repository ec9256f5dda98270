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

// -----

func.func @start_flat(%a: tensor<4x3xf32>) {
  // expected-error @+1 {{the bucket's flat tensor must be tensor<12xf32>, got 'tensor<10xf32>'}}
  %h = nn.all_reduce_start %a {bucket = 0 : i64} : tensor<4x3xf32> -> tensor<10xf32>
  return
}

// -----

func.func @wait_flat(%h: tensor<12xf32>) {
  // expected-error @+1 {{the bucket's flat tensor must be tensor<15xf32>, got 'tensor<12xf32>'}}
  %r:2 = nn.all_reduce_wait %h {bucket = 0 : i64} : tensor<12xf32> -> tensor<4x3xf32>, tensor<3xf32>
  return
}

// -----

func.func @wait_params(%h: tensor<12xf32>) {
  // expected-error @+1 {{'kiln_all_reduce_wait' takes [element count >= 1, bucket >= 0]}}
  %r = nn.library_call "kiln_all_reduce_wait" [12] outs(%h : tensor<12xf32>) -> tensor<12xf32>
  return
}
