// RUN: kiln-opt %s --split-input-file --nn-bucket-all-reduce="first-bucket-bytes=64 bucket-bytes=1000 remarks=true" --verify-diagnostics | FileCheck %s

// Buckets in ready order: %b (ready first, 48 bytes) alone in the first
// (64 bytes at most), started right after it; %a and %c (each 400 bytes)
// share the second (1000 at most), started after %c, the later of the
// two. Each is waited for right before the first op that reads one of its
// averages (here the return, for both), and the average's results are the
// waits' (in the original operand order).
// CHECK-LABEL: func.func @buckets
// CHECK:         %[[B:.+]] = nn.neg %arg1
// CHECK-NEXT:    %[[H0:.+]] = nn.all_reduce_start %[[B]] {bucket = 0 : i64} : tensor<12xf32> -> tensor<12xf32>
// CHECK:         %[[A:.+]] = nn.neg %arg0
// CHECK:         %[[C:.+]] = nn.neg %arg2
// CHECK-NEXT:    %[[H1:.+]] = nn.all_reduce_start %[[A]], %[[C]] {bucket = 1 : i64} : tensor<10x10xf32>, tensor<100xf32> -> tensor<200xf32>
// CHECK:         %[[W0:.+]] = nn.all_reduce_wait %[[H0]] {bucket = 0 : i64} : tensor<12xf32> -> tensor<12xf32>
// CHECK:         %[[W1:.+]]:2 = nn.all_reduce_wait %[[H1]] {bucket = 1 : i64} : tensor<200xf32> -> tensor<10x10xf32>, tensor<100xf32>
// CHECK:         return %[[W1]]#0, %[[W0]], %[[W1]]#1
func.func @buckets(%x: tensor<10x10xf32>, %y: tensor<12xf32>, %z: tensor<100xf32>) -> (tensor<10x10xf32>, tensor<12xf32>, tensor<100xf32>) {
  %b = nn.neg %y : tensor<12xf32>
  %a = nn.neg %x : tensor<10x10xf32>
  %c = nn.neg %z : tensor<100xf32>
  // The remarks stand at the average's location.
  // expected-remark@+2 {{all-reduce: bucket 0 of 2 (1 tensor(s), 48 bytes) starts after its last gradient and is waited for before the first op that reads it}}
  // expected-remark@+1 {{all-reduce: bucket 1 of 2 (2 tensor(s), 800 bytes)}}
  %r:3 = nn.all_reduce %a, %b, %c : tensor<10x10xf32>, tensor<12xf32>, tensor<100xf32>
  return %r#0, %r#1, %r#2 : tensor<10x10xf32>, tensor<12xf32>, tensor<100xf32>
}

// -----

// Arguments (apply's grad sums) are ready at entry: the start comes first.
// CHECK-LABEL: func.func @arguments
// CHECK-NEXT:    nn.all_reduce_start %arg0 {bucket = 0 : i64}
func.func @arguments(%s: tensor<4xf32>) -> tensor<4xf32> {
  // expected-remark@+1 {{all-reduce: bucket 0 of 1}}
  %r = nn.all_reduce %s : tensor<4xf32>
  return %r : tensor<4xf32>
}

// -----

// Without clipping each update waits only for its own bucket, and the
// updates run in bucket order: bucket 0's wait and the update that needs
// it alone (%b's) come first, while bucket 1 is still in flight; then
// bucket 1's wait and its updates, in their original order.
// CHECK-LABEL: func.func @updates
// CHECK:         %[[H0:.+]] = nn.all_reduce_start %{{.+}} {bucket = 0 : i64}
// CHECK:         %[[H1:.+]] = nn.all_reduce_start %{{.+}} {bucket = 1 : i64}
// CHECK-NEXT:    %[[W0:.+]] = nn.all_reduce_wait %[[H0]] {bucket = 0 : i64}
// CHECK-NEXT:    %[[UB:.+]] = nn.mul %[[W0]], %arg1
// CHECK-NEXT:    %[[W1:.+]]:2 = nn.all_reduce_wait %[[H1]] {bucket = 1 : i64}
// CHECK-NEXT:    %[[UC:.+]] = nn.mul %[[W1]]#1, %arg2
// CHECK-NEXT:    %[[UA:.+]] = nn.mul %[[W1]]#0, %arg0
func.func @updates(%x: tensor<10x10xf32>, %y: tensor<12xf32>, %z: tensor<100xf32>) -> (tensor<10x10xf32>, tensor<12xf32>, tensor<100xf32>) {
  %b = nn.neg %y : tensor<12xf32>
  %a = nn.neg %x : tensor<10x10xf32>
  %c = nn.neg %z : tensor<100xf32>
  // expected-remark@+2 {{all-reduce: bucket 0 of 2}}
  // expected-remark@+1 {{all-reduce: bucket 1 of 2}}
  %r:3 = nn.all_reduce %a, %b, %c : tensor<10x10xf32>, tensor<12xf32>, tensor<100xf32>
  %uc = nn.mul %r#2, %z : (tensor<100xf32>, tensor<100xf32>) -> tensor<100xf32>
  %ub = nn.mul %r#1, %y : (tensor<12xf32>, tensor<12xf32>) -> tensor<12xf32>
  %ua = nn.mul %r#0, %x : (tensor<10x10xf32>, tensor<10x10xf32>) -> tensor<10x10xf32>
  return %ua, %ub, %uc : tensor<10x10xf32>, tensor<12xf32>, tensor<100xf32>
}

// -----

// Work that needs no average (the step counter) keeps its place ahead of
// the waits; an update that needs two buckets (clipping's norm, here a sum
// of both) comes after both waits.
// CHECK-LABEL: func.func @mixed
// CHECK:         nn.all_reduce_start %{{.+}} {bucket = 1 : i64}
// CHECK-NEXT:    %[[STEP:.+]] = nn.add %arg3, %arg3
// CHECK-NEXT:    %[[W0:.+]] = nn.all_reduce_wait %{{.+}} {bucket = 0 : i64}
// CHECK-NEXT:    %[[W1:.+]]:2 = nn.all_reduce_wait %{{.+}} {bucket = 1 : i64}
// CHECK-NEXT:    nn.sum %[[W1]]#1
// CHECK-NEXT:    nn.add %{{.+}}, %{{.+}}
// CHECK-NEXT:    nn.mul %[[W0]], %{{.+}}
func.func @mixed(%x: tensor<10x10xf32>, %y: tensor<12xf32>, %z: tensor<100xf32>, %s: tensor<f32>) -> (tensor<12xf32>, tensor<f32>) {
  %b = nn.neg %y : tensor<12xf32>
  %a = nn.neg %x : tensor<10x10xf32>
  %c = nn.neg %z : tensor<100xf32>
  // expected-remark@+2 {{all-reduce: bucket 0 of 2}}
  // expected-remark@+1 {{all-reduce: bucket 1 of 2}}
  %r:3 = nn.all_reduce %a, %b, %c : tensor<10x10xf32>, tensor<12xf32>, tensor<100xf32>
  %n = nn.sum %r#2 : (tensor<100xf32>) -> tensor<f32>
  %m = nn.add %n, %n : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %ub = nn.mul %r#1, %m : (tensor<12xf32>, tensor<f32>) -> tensor<12xf32>
  %step = nn.add %s, %s : (tensor<f32>, tensor<f32>) -> tensor<f32>
  return %ub, %step : tensor<12xf32>, tensor<f32>
}
