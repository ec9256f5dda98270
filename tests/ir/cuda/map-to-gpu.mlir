// RUN: kiln-opt %s --kiln-cuda-map-to-gpu=remarks --split-input-file --verify-diagnostics | FileCheck %s

// A 2-D loop: collapsed to 800 iterations, tiles of 256 threads on blocks,
// a guard past the end.
// CHECK-LABEL: func.func @elementwise
// CHECK:         scf.parallel (%[[B:.+]]) = (%{{.+}}) to (%{{.+}}) step (%{{.+}}) {
// CHECK:           scf.parallel (%[[T:.+]]) = (%{{.+}}) to (%{{.+}}) step (%{{.+}}) {
// CHECK:             scf.if
// CHECK:               memref.store
// CHECK:           } {mapping = [#gpu.loop_dim_map<processor = thread_x, map = (d0) -> (d0), bound = (d0) -> (d0)>]}
// CHECK:         } {mapping = [#gpu.loop_dim_map<processor = block_x, map = (d0) -> (d0), bound = (d0) -> (d0)>]}
func.func @elementwise(%x: memref<8x100xf32>, %y: memref<8x100xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c100 = arith.constant 100 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c8, %c100) step (%c1, %c1) {
    %v = memref.load %x[%i, %j] : memref<8x100xf32>
    %e = math.exp %v : f32
    memref.store %e, %y[%i, %j] : memref<8x100xf32>
  }
  return
}

// -----

// A small loop takes one warp-multiple block that just covers it (32).
// CHECK-LABEL: func.func @small
// CHECK:         %[[C32:.+]] = arith.constant 32 : index
// CHECK:         %[[STEP:.+]] = arith.muli %{{.+}}, %[[C32]]
// CHECK:         scf.parallel (%{{.+}}) = (%{{.+}}) to (%{{.+}}) step (%[[STEP]])
func.func @small(%x: memref<10xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c10 = arith.constant 10 : index
  %z = arith.constant 0.0 : f32
  scf.parallel (%i) = (%c0) to (%c10) step (%c1) {
    memref.store %z, %x[%i] : memref<10xf32>
  }
  return
}

// -----

// A sum of all elements and the 0-d op after it run on one thread of one
// block, together: the host reads no device memory.
// CHECK-LABEL: func.func @total
// CHECK:         scf.parallel (%{{.+}}) = (%[[Z:.+]]) to (%[[O:.+]]) step (%[[O]]) {
// CHECK:           memref.store
// CHECK:           scf.for
// CHECK:           memref.load
// CHECK:           arith.divf
// CHECK:           memref.store
// CHECK:         } {mapping = [#gpu.loop_dim_map<processor = block_x
// CHECK-NEXT:    return
func.func @total(%x: memref<64xf32>, %sum: memref<f32>, %mean: memref<f32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 64.0 : f32
  // expected-remark @+1 {{runs on one GPU thread: no parallel loop around it (a reduction of all elements, or a 0-d op)}}
  memref.store %zero, %sum[] : memref<f32>
  scf.for %i = %c0 to %c64 step %c1 {
    %v = memref.load %x[%i] : memref<64xf32>
    %s = memref.load %sum[] : memref<f32>
    %t = arith.addf %s, %v : f32
    memref.store %t, %sum[] : memref<f32>
  }
  %s = memref.load %sum[] : memref<f32>
  %m = arith.divf %s, %n : f32
  memref.store %m, %mean[] : memref<f32>
  return
}

// -----

// The learning rate the host would load for an update is loaded, and
// negated, by every thread instead.
// CHECK-LABEL: func.func @update
// CHECK-NOT:     memref.load %arg2
// CHECK:         scf.parallel
// CHECK:           scf.parallel
// CHECK:             %[[LR:.+]] = memref.load %arg2[] : memref<f32>
// CHECK:             %[[NEG:.+]] = arith.negf %[[LR]] : f32
// CHECK:             arith.mulf %[[NEG]]
func.func @update(%w: memref<100xf32>, %g: memref<100xf32>, %lr: memref<f32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c100 = arith.constant 100 : index
  %l = memref.load %lr[] : memref<f32>
  %neg = arith.negf %l : f32
  scf.parallel (%i) = (%c0) to (%c100) step (%c1) {
    %a = memref.load %w[%i] : memref<100xf32>
    %b = memref.load %g[%i] : memref<100xf32>
    %d = arith.mulf %neg, %b : f32
    %n = arith.addf %a, %d : f32
    memref.store %n, %w[%i] : memref<100xf32>
  }
  return
}

// -----

// Data parallel: the gradient's all-reduce (a runtime call) stands between
// the load of the learning rate and the update. The call writes only its
// output's allocation (%g), so the load still moves into the update's
// threads instead of running on one thread whose result the host would
// need.
// CHECK-LABEL: func.func @update_after_all_reduce
// CHECK-NOT:     memref.load %arg2
// CHECK:         call @kiln_cuda_all_reduce_mean
// CHECK:         scf.parallel
// CHECK:           scf.parallel
// CHECK:             %[[LR:.+]] = memref.load %arg2[] : memref<f32>
// CHECK:             %[[NEG:.+]] = arith.negf %[[LR]] : f32
// CHECK:             arith.mulf %[[NEG]]
func.func private @kiln_cuda_all_reduce_mean(i64, i64, i64)
func.func @update_after_all_reduce(%w: memref<100xf32>, %g: memref<100xf32>, %lr: memref<f32>, %params: i64) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c100 = arith.constant 100 : index
  %l = memref.load %lr[] : memref<f32>
  %neg = arith.negf %l : f32
  %p = memref.extract_aligned_pointer_as_index %g : memref<100xf32> -> index
  %pi = arith.index_cast %p : index to i64
  call @kiln_cuda_all_reduce_mean(%params, %pi, %pi) : (i64, i64, i64) -> ()
  scf.parallel (%i) = (%c0) to (%c100) step (%c1) {
    %a = memref.load %w[%i] : memref<100xf32>
    %b = memref.load %g[%i] : memref<100xf32>
    %d = arith.mulf %neg, %b : f32
    %n = arith.addf %a, %d : f32
    memref.store %n, %w[%i] : memref<100xf32>
  }
  return
}

// -----

// A kernel with a barrier (a block reduction: a layer norm's statistics)
// stands between the load of the random stream's counter and the dropout
// that uses it. The barrier writes nothing, so the load still moves into
// the dropout's threads (it was "a value computed on the GPU on the host"
// in 7 of 200 random networks: a dropout after a layer norm or softmax).
// CHECK-LABEL: func.func @counter_after_barrier
// CHECK-NOT:     memref.load %arg2
// CHECK:         gpu.launch
// CHECK:           gpu.barrier
// CHECK:         scf.parallel
// CHECK:           scf.parallel
// CHECK:             %[[C:.+]] = memref.load %arg2[%{{.+}}] : memref<2xi64>
// CHECK:             arith.addi %[[C]]
func.func @counter_after_barrier(%x: memref<64xf32>, %y: memref<64xi64>, %rng: memref<2xi64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %c64 = arith.constant 64 : index
  %counter = memref.load %rng[%c1] : memref<2xi64>
  %offset = arith.constant 256 : i64
  %base = arith.addi %counter, %offset : i64
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    %v = memref.load %x[%tx] : memref<64xf32>
    gpu.barrier
    memref.store %v, %x[%tx] : memref<64xf32>
    gpu.terminator
  }
  scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
    %ii = arith.index_cast %i : index to i64
    %n = arith.addi %base, %ii : i64
    memref.store %n, %y[%i] : memref<64xi64>
  }
  return
}

// -----

// A runtime routine only the CPU has is an error naming it.
func.func @conv(%x: memref<1x3x8xf32>, %w: memref<8x3x3xf32>, %y: memref<1x8x6xf32>) {
  // expected-error @+1 {{--target=cuda: no GPU kernel for the runtime routine 'kiln_sconv_forward' (a convolution); only --target=cpu compiles it so far}}
  nn.library_call "kiln_sconv_forward" [1, 3, 8, 1, 1, 8, 1, 1, 6, 1, 1, 3, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1] ins(%x, %w : memref<1x3x8xf32>, memref<8x3x3xf32>) outs(%y : memref<1x8x6xf32>)
  return
}

// -----

// A temporary outside the planned workspace would be host memory.
func.func @heap(%y: memref<4xf32>) {
  // expected-error @+1 {{--target=cuda: a temporary stayed outside the planned workspace}}
  %t = memref.alloc() : memref<4xf32>
  memref.copy %t, %y : memref<4xf32> to memref<4xf32>
  return
}

// -----

// Two temporaries the planner placed on the same workspace bytes (their
// lifetimes did not overlap): the first sum's load may not move past the
// second sum's writes, so it stays where it is, in the one-thread kernel
// with the first reduction; the division reads it there.
// CHECK-LABEL: func.func @reused_bytes
// CHECK:         scf.parallel
// CHECK:           memref.store %{{.+}}, %[[A:.+]][] : memref<f32>
// CHECK:           scf.for
// CHECK:           }
// CHECK-NEXT:      %[[FIRST:.+]] = memref.load %[[A]][] : memref<f32>
// CHECK-NEXT:      memref.store %{{.+}}, %[[B:.+]][] : memref<f32>
// CHECK:           scf.for
// CHECK:           }
// CHECK-NEXT:      %[[SECOND:.+]] = memref.load %[[B]][] : memref<f32>
// CHECK:           arith.divf %[[FIRST]], %[[SECOND]]
func.func @reused_bytes(%x: memref<8xf32>, %ws: memref<64xi8>, %out: memref<f32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %zero = arith.constant 0.0 : f32
  %a = memref.view %ws[%c0][] : memref<64xi8> to memref<f32>
  %b = memref.view %ws[%c0][] : memref<64xi8> to memref<f32>
  // expected-remark @+1 {{runs on one GPU thread}}
  memref.store %zero, %a[] : memref<f32>
  scf.for %i = %c0 to %c8 step %c1 {
    %v = memref.load %x[%i] : memref<8xf32>
    %s = memref.load %a[] : memref<f32>
    %t = arith.addf %s, %v : f32
    memref.store %t, %a[] : memref<f32>
  }
  %first = memref.load %a[] : memref<f32>
  memref.store %zero, %b[] : memref<f32>
  scf.for %i = %c0 to %c8 step %c1 {
    %v = memref.load %x[%i] : memref<8xf32>
    %w = arith.mulf %v, %v : f32
    %s = memref.load %b[] : memref<f32>
    %t = arith.addf %s, %w : f32
    memref.store %t, %b[] : memref<f32>
  }
  %second = memref.load %b[] : memref<f32>
  %ratio = arith.divf %first, %second : f32
  memref.store %ratio, %out[] : memref<f32>
  return
}
