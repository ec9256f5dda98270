// RUN: kiln-opt %s --split-input-file --verify-diagnostics --kiln-cuda-ctc-to-loops | FileCheck %s

// The forward: alpha is scratch [T, N (2 S + 1)] (27 columns for 3 samples
// of up to 4 labels), one parallel iteration per sample running the
// recursion over time, then over its extended labels; the call is gone.
// CHECK-LABEL: func.func @forward
// CHECK-NOT:     nn.library_call
// CHECK:         %[[ALPHA:.+]] = memref.alloc() : memref<7x27xf32>
// CHECK:         scf.parallel (%{{.+}}) = (%{{.+}}) to (%c3) step
// CHECK:           scf.for
// CHECK:           scf.for
// CHECK:             scf.for
// CHECK:               math.log
// CHECK:               memref.store %{{.+}}, %[[ALPHA]]
// zero_infinity: an infinite loss is stored as 0.
// CHECK:           math.absf
// CHECK:           arith.select
// CHECK:           memref.store %{{.+}}, %arg4
// CHECK:         memref.dealloc %[[ALPHA]]
// CHECK-NOT:     nn.library_call
func.func @forward(%lp: memref<7x3x5xf32>, %t: memref<3x4xi64>, %il: memref<3xi64>, %tl: memref<3xi64>, %l: memref<3xf32>) {
  nn.library_call "kiln_ctc_loss_forward" [7, 3, 5, 4, 0, 1, 0] ins(%lp, %t, %il, %tl : memref<7x3x5xf32>, memref<3x4xi64>, memref<3xi64>, memref<3xi64>) outs(%l : memref<3xf32>)
  return
}

// -----

// The backward with concatenated targets: alpha and beta take 2 S + N = 15
// columns; the collected products [T, N, C] are filled with -inf by one
// parallel loop over all 105 elements; each sample finds where its labels
// start by summing the earlier target lengths; the gradient is one
// parallel loop over all 105 elements.
// CHECK-LABEL: func.func @backward
// CHECK:         %[[ALPHA:.+]] = memref.alloc() : memref<7x15xf32>
// CHECK:         %[[BETA:.+]] = memref.alloc() : memref<7x15xf32>
// CHECK:         %[[LCAB:.+]] = memref.alloc() : memref<7x3x5xf32>
// CHECK:         %[[NLL:.+]] = memref.alloc() : memref<3xf32>
// CHECK:         scf.parallel (%{{.+}}) = (%{{.+}}) to (%c105) step
// CHECK:           memref.store %cst, %[[LCAB]]
// CHECK:         scf.parallel (%{{.+}}) = (%{{.+}}) to (%c3) step
// CHECK:           scf.for %{{.+}} = %{{.+}} to %{{.+}} step %{{.+}} iter_args(%{{.+}} = %{{.+}}) -> (index)
// CHECK:           memref.store %{{.+}}, %[[BETA]]
// CHECK:           memref.store %{{.+}}, %[[LCAB]]
// CHECK:           memref.store %{{.+}}, %[[NLL]]
// CHECK:         scf.parallel (%{{.+}}) = (%{{.+}}) to (%c105{{.*}}) step
// CHECK:           math.exp
// CHECK:           math.exp
// CHECK:           memref.store %{{.+}}, %arg5
// CHECK-DAG:     memref.dealloc %[[ALPHA]]
// CHECK-DAG:     memref.dealloc %[[BETA]]
// CHECK-DAG:     memref.dealloc %[[LCAB]]
// CHECK-DAG:     memref.dealloc %[[NLL]]
func.func @backward(%lp: memref<7x3x5xf32>, %t: memref<6xi64>, %il: memref<3xi64>, %tl: memref<3xi64>, %g: memref<3xf32>, %d: memref<7x3x5xf32>) {
  nn.library_call "kiln_ctc_loss_backward" [7, 3, 5, 6, 2, 0, 1] ins(%lp, %t, %il, %tl, %g : memref<7x3x5xf32>, memref<6xi64>, memref<3xi64>, memref<3xi64>, memref<3xf32>) outs(%d : memref<7x3x5xf32>)
  return
}

// -----

// Other routines are not this pass's.
// CHECK-LABEL: func.func @all_reduce
// CHECK:         nn.library_call "kiln_all_reduce_mean"
func.func @all_reduce(%x: memref<4xf32>, %y: memref<4xf32>) {
  nn.library_call "kiln_all_reduce_mean" [4] ins(%x : memref<4xf32>) outs(%y : memref<4xf32>)
  return
}

// -----

func.func @tensors(%lp: tensor<7x3x5xf32>, %t: tensor<3x4xi64>, %il: tensor<3xi64>, %tl: tensor<3xi64>, %l: tensor<3xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{kiln-cuda-ctc-to-loops: expected the call on buffers (after bufferization)}}
  %r = nn.library_call "kiln_ctc_loss_forward" [7, 3, 5, 4, 0, 1, 0] ins(%lp, %t, %il, %tl : tensor<7x3x5xf32>, tensor<3x4xi64>, tensor<3xi64>, tensor<3xi64>) outs(%l : tensor<3xf32>) -> tensor<3xf32>
  return %r : tensor<3xf32>
}
