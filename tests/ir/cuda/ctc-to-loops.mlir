// RUN: kiln-opt %s --split-input-file --verify-diagnostics --kiln-cuda-ctc-to-loops | FileCheck %s

// The forward: alpha is scratch [T, N (2 S + 1)] (27 columns for 3 samples
// of up to 4 labels); one GPU block per sample, 32 threads over its 9
// extended labels: the first time step, a barrier, then a loop over the
// remaining 6 time steps (bounds the same for every thread) with a step of
// each thread's labels and a barrier each; thread 0 writes the loss. The
// call is gone.
// CHECK-LABEL: func.func @forward
// CHECK-NOT:     nn.library_call
// CHECK:         %[[ALPHA:.+]] = memref.alloc() : memref<7x27xf32>
// CHECK:         gpu.launch blocks(%[[I:.+]], %{{.+}}, %{{.+}}) in (%{{.+}} = %c3{{.*}}, %{{.+}} = %{{.+}}, %{{.+}} = %{{.+}}) threads(%[[T:.+]], %{{.+}}, %{{.+}}) in (%{{.+}} = %c32{{.*}},
// CHECK:           scf.for %{{.+}} = %[[T]] to %{{.+}} step %c32
// CHECK:             memref.store %{{.+}}, %[[ALPHA]]
// CHECK:           gpu.barrier
// CHECK:           scf.for %{{.+}} = %c1{{.*}} to %c7{{.*}} step %c1
// CHECK:             scf.for %{{.+}} = %[[T]] to %{{.+}} step %c32
// CHECK:               math.log
// CHECK:               memref.store %{{.+}}, %[[ALPHA]]
// CHECK:             gpu.barrier
// CHECK-NEXT:      }
// zero_infinity: an infinite loss is stored as 0.
// CHECK:           arith.cmpi eq, %[[T]], %c0
// CHECK:           math.absf
// CHECK:           arith.select
// CHECK:           memref.store %{{.+}}, %arg4
// CHECK:           gpu.terminator
// CHECK:         memref.dealloc %[[ALPHA]]
// CHECK-NOT:     nn.library_call
func.func @forward(%lp: memref<7x3x5xf32>, %t: memref<3x4xi64>, %il: memref<3xi64>, %tl: memref<3xi64>, %l: memref<3xf32>) {
  nn.library_call "kiln_ctc_loss_forward" [7, 3, 5, 4, 0, 1, 0] ins(%lp, %t, %il, %tl : memref<7x3x5xf32>, memref<3x4xi64>, memref<3xi64>, memref<3xi64>) outs(%l : memref<3xf32>)
  return
}

// -----

// The backward with concatenated targets: alpha and beta take 2 S + N = 15
// columns; the collected products [T, N, C] are filled with -inf by one
// parallel loop over all 105 elements; then a block per sample: alpha as
// in the forward (each phase finds where the sample's labels start by
// summing the earlier target lengths), thread 0 its nll, beta from the
// last time step down with a barrier per step, then one thread per time
// step collecting alpha beta per label; the gradient is one parallel loop
// over all 105 elements.
// CHECK-LABEL: func.func @backward
// CHECK:         %[[ALPHA:.+]] = memref.alloc() : memref<7x15xf32>
// CHECK:         %[[BETA:.+]] = memref.alloc() : memref<7x15xf32>
// CHECK:         %[[LCAB:.+]] = memref.alloc() : memref<7x3x5xf32>
// CHECK:         %[[NLL:.+]] = memref.alloc() : memref<3xf32>
// CHECK:         scf.parallel (%{{.+}}) = (%{{.+}}) to (%c105) step
// CHECK:           memref.store %cst, %[[LCAB]]
// CHECK:         gpu.launch
// CHECK:           scf.for %{{.+}} = %{{.+}} to %{{.+}} step %{{.+}} iter_args(%{{.+}} = %{{.+}}) -> (index)
// CHECK:           memref.store %{{.+}}, %[[ALPHA]]
// CHECK:           gpu.barrier
// CHECK:           memref.store %{{.+}}, %[[NLL]]
// CHECK:           gpu.barrier
// CHECK:           memref.store %{{.+}}, %[[BETA]]
// CHECK:           gpu.barrier
// CHECK:           scf.for %{{.+}} = %c0{{.*}} to %c6{{.*}} step %c1
// CHECK:             memref.store %{{.+}}, %[[BETA]]
// CHECK:             gpu.barrier
// CHECK-NEXT:      }
// CHECK:           memref.store %{{.+}}, %[[LCAB]]
// CHECK:           gpu.terminator
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
