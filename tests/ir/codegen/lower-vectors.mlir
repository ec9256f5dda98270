// RUN: kiln-opt %s --kiln-cpu-lower-vectors | FileCheck %s

// The register-tile micro-kernel after bufferization: subviews fold into the
// transfers, the accumulator read/write leave the K loop (it is carried in
// registers as an iter_arg), and the contraction becomes 8 row FMAs.
// CHECK-LABEL: func.func @micro_kernel
// CHECK-NOT:     memref.subview
// CHECK:         %[[INIT:.+]] = vector.transfer_read %arg2[%c0, %c0]{{.+}} vector<8x32xf32>
// CHECK:         %[[ACC:.+]] = scf.for %[[K:.+]] = {{.+}} iter_args(%[[C:.+]] = %[[INIT]]) -> (vector<8x32xf32>)
// CHECK:           vector.transfer_read %arg0[%c0, %[[K]]]
// CHECK:           vector.transfer_read %arg1[%[[K]], %c0]
// CHECK-NOT:       vector.transfer_write
// CHECK-COUNT-8:   vector.fma {{.+}} : vector<32xf32>
// CHECK-NOT:       vector.contract
// CHECK:           scf.yield
// CHECK:         vector.transfer_write %[[ACC]], %arg2[%c0, %c0]
#map = affine_map<(d0, d1, d2) -> (d0, d2)>
#map1 = affine_map<(d0, d1, d2) -> (d2, d1)>
#map2 = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @micro_kernel(%a: memref<8x32xf32>, %b: memref<32x32xf32>, %c: memref<8x32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %cst = arith.constant 0.0 : f32
  scf.for %k = %c0 to %c32 step %c1 {
    %sa = memref.subview %a[0, %k] [8, 1] [1, 1] : memref<8x32xf32> to memref<8x1xf32, strided<[32, 1], offset: ?>>
    %sb = memref.subview %b[%k, 0] [1, 32] [1, 1] : memref<32x32xf32> to memref<1x32xf32, strided<[32, 1], offset: ?>>
    %va = vector.transfer_read %sa[%c0, %c0], %cst {in_bounds = [true, true]} : memref<8x1xf32, strided<[32, 1], offset: ?>>, vector<8x1xf32>
    %vb = vector.transfer_read %sb[%c0, %c0], %cst {in_bounds = [true, true]} : memref<1x32xf32, strided<[32, 1], offset: ?>>, vector<1x32xf32>
    %vc = vector.transfer_read %c[%c0, %c0], %cst {in_bounds = [true, true]} : memref<8x32xf32>, vector<8x32xf32>
    %r = vector.contract {indexing_maps = [#map, #map1, #map2], iterator_types = ["parallel", "parallel", "reduction"], kind = #vector.kind<add>} %va, %vb, %vc : vector<8x1xf32>, vector<1x32xf32> into vector<8x32xf32>
    vector.transfer_write %r, %c[%c0, %c0] {in_bounds = [true, true]} : vector<8x32xf32>, memref<8x32xf32>
  }
  return
}
