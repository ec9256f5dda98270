// RUN: kiln-opt %s --kiln-cuda-map-to-gpu --convert-parallel-loops-to-gpu --kiln-cuda-sink-into-kernels --gpu-kernel-outlining | FileCheck %s

// A constant tensor's global (and the view of it) is computed inside the
// kernel, and outlining copies the global into the kernels' module: the
// host passes only the buffers it owns.
// CHECK:       func.func @weights
// CHECK:         gpu.launch_func @weights_kernel::@weights_kernel {{.*}} args(%{{.+}} : index, %{{.+}} : index, %arg0 : memref<2x3xf32>)
// CHECK:       gpu.module @weights_kernel
// CHECK:         gpu.func @weights_kernel(%{{.+}}: index, %{{.+}}: index, %{{.+}}: memref<2x3xf32>) kernel
// CHECK:           %[[G:.+]] = memref.get_global @table : memref<6xf32>
// CHECK:           memref.expand_shape %[[G]]
// CHECK:         memref.global "private" constant @table : memref<6xf32> = dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00, 5.000000e+00, 6.000000e+00]>
memref.global "private" constant @table : memref<6xf32> = dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]>
func.func @weights(%y: memref<2x3xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %g = memref.get_global @table : memref<6xf32>
  %t = memref.expand_shape %g [[0, 1]] output_shape [2, 3] : memref<6xf32> into memref<2x3xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%c2, %c3) step (%c1, %c1) {
    %w = memref.load %t[%i, %j] : memref<2x3xf32>
    %v = memref.load %y[%i, %j] : memref<2x3xf32>
    %p = arith.mulf %v, %w : f32
    memref.store %p, %y[%i, %j] : memref<2x3xf32>
  }
  return
}
