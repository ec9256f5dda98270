// RUN: kiln-opt %s --kiln-cuda-map-to-gpu --convert-parallel-loops-to-gpu --canonicalize --gpu-launch-sink-index-computations --gpu-kernel-outlining --kiln-cuda-launch-to-runtime | FileCheck %s

// Both loops' kernels land in one gpu.module, numbered in the module's
// kiln.cuda.kernels; each launch is a call with its grid, block and one
// i64 slot per argument (buffers by aligned pointer; constants are sunk
// into the kernels).
// CHECK:       module attributes {gpu.container_module, kiln.cuda.kernels = ["two_kernel", "two_kernel_0"]}
// CHECK-LABEL: func.func @two
// CHECK:         %[[SLOTS:.+]] = memref.alloca() : memref<2xi64>
// CHECK:         %[[X:.+]] = memref.extract_aligned_pointer_as_index %arg0
// CHECK:         %[[XI:.+]] = arith.index_cast %[[X]] : index to i64
// CHECK:         memref.store %[[XI]], %[[SLOTS]][%{{.+}}]
// CHECK:         %[[Y:.+]] = memref.extract_aligned_pointer_as_index %arg1
// CHECK:         %[[YI:.+]] = arith.index_cast %[[Y]] : index to i64
// CHECK:         memref.store %[[YI]], %[[SLOTS]][%{{.+}}]
// CHECK:         %[[ARGS:.+]] = memref.extract_aligned_pointer_as_index %[[SLOTS]]
// CHECK:         %[[ARGSI:.+]] = arith.index_cast %[[ARGS]] : index to i64
// CHECK-DAG:     %[[BLOCKS:.+]] = arith.index_cast %c2 : index to i64
// CHECK-DAG:     %[[THREADS:.+]] = arith.index_cast %c256 : index to i64
// CHECK:         call @kiln_cuda_launch(%c0_i32, %[[BLOCKS]], %[[THREADS]], %[[ARGSI]], %c2_i32) : (i32, i64, i64, i64, i32) -> ()
// CHECK:         call @kiln_cuda_launch(%c1_i32,
// CHECK-NOT:     gpu.launch_func
// CHECK:       gpu.module @kiln_kernels {
// CHECK:         gpu.func @two_kernel(
// CHECK:         gpu.func @two_kernel_0(
// CHECK-NOT:   gpu.module @two_kernel
func.func @two(%x: memref<300xf32>, %y: memref<300xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c300 = arith.constant 300 : index
  %two = arith.constant 2.0 : f32
  scf.parallel (%i) = (%c0) to (%c300) step (%c1) {
    %v = memref.load %x[%i] : memref<300xf32>
    %d = arith.mulf %v, %two : f32
    memref.store %d, %y[%i] : memref<300xf32>
  }
  scf.parallel (%i) = (%c0) to (%c300) step (%c1) {
    %v = memref.load %y[%i] : memref<300xf32>
    %d = arith.addf %v, %two : f32
    memref.store %d, %x[%i] : memref<300xf32>
  }
  return
}
