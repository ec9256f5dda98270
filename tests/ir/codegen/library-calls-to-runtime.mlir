// RUN: kiln-opt %s --split-input-file --kiln-cpu-library-calls-to-runtime --verify-diagnostics | FileCheck %s

// The geometry becomes one private constant global per distinct array; every
// buffer passes the address of its first element (aligned pointer + 4 *
// offset) as i64; the forward without a bias passes 0 in the bias slot.
// CHECK: memref.global "private" constant @__kiln_params_0 : memref<22xi64> = dense<[1, 3, 8, 1, 1, 8, 1, 1, 6, 1, 1, 3, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1]> {alignment = 8 : i64}
// CHECK-NOT: memref.global
// CHECK-LABEL: func.func @calls
// CHECK-SAME: (%[[X:.+]]: memref<1x3x8xf32>, %[[W:.+]]: memref<8x3x3xf32>, %[[Y:.+]]: memref<1x8x6xf32>, %[[DW:.+]]: memref<8x3x3xf32>)
// CHECK: %[[G:.+]] = memref.get_global @__kiln_params_0 : memref<22xi64>
// CHECK: %{{.+}}, %[[GOFF:.+]], %{{.+}}, %{{.+}} = memref.extract_strided_metadata %[[G]]
// CHECK: %[[GPTR:.+]] = memref.extract_aligned_pointer_as_index %[[G]]
// CHECK: %[[GBYTES:.+]] = arith.muli %[[GOFF]], %c8
// CHECK: %[[GADDR:.+]] = arith.addi %[[GPTR]], %[[GBYTES]]
// CHECK: %[[GI:.+]] = arith.index_cast %[[GADDR]] : index to i64
// CHECK: memref.extract_aligned_pointer_as_index %[[X]]
// CHECK: %[[XI:.+]] = arith.index_cast %{{.+}} : index to i64
// CHECK: memref.extract_aligned_pointer_as_index %[[W]]
// CHECK: %[[WI:.+]] = arith.index_cast %{{.+}} : index to i64
// CHECK: %[[NULL:.+]] = arith.constant 0 : i64
// CHECK: memref.extract_aligned_pointer_as_index %[[Y]]
// CHECK: %[[YI:.+]] = arith.index_cast %{{.+}} : index to i64
// CHECK: call @kiln_sconv_forward(%[[GI]], %[[XI]], %[[WI]], %[[NULL]], %[[YI]]) : (i64, i64, i64, i64, i64) -> ()
// CHECK: memref.get_global @__kiln_params_0
// CHECK: call @kiln_sconv_backward_weight(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}) : (i64, i64, i64, i64) -> ()
// CHECK-NOT: nn.library_call
// CHECK: func.func private @kiln_sconv_forward(i64, i64, i64, i64, i64)
// CHECK: func.func private @kiln_sconv_backward_weight(i64, i64, i64, i64)
func.func @calls(%x: memref<1x3x8xf32>, %w: memref<8x3x3xf32>, %y: memref<1x8x6xf32>, %dw: memref<8x3x3xf32>) {
  nn.library_call "kiln_sconv_forward" [1, 3, 8, 1, 1, 8, 1, 1, 6, 1, 1, 3, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1] ins(%x, %w : memref<1x3x8xf32>, memref<8x3x3xf32>) outs(%y : memref<1x8x6xf32>)
  nn.library_call "kiln_sconv_backward_weight" [1, 3, 8, 1, 1, 8, 1, 1, 6, 1, 1, 3, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1] ins(%x, %y : memref<1x3x8xf32>, memref<1x8x6xf32>) outs(%dw : memref<8x3x3xf32>)
  return
}

// -----

// A workspace temporary (a memref.view of the workspace, as
// kiln-cpu-plan-memory makes them) passes the workspace's pointer plus the
// view's byte shift.
// CHECK-LABEL: func.func @workspace
// CHECK: %[[WS:.+]] = memref.extract_aligned_pointer_as_index %arg2
// CHECK: %[[SHIFTED:.+]] = arith.addi %[[WS]], %c256
// CHECK: arith.addi %[[SHIFTED]], %{{.+}}
// CHECK: call @kiln_sconv_forward
func.func @workspace(%x: memref<1x3x8xf32>, %w: memref<8x3x3xf32>, %ws: memref<1024xi8>) {
  %c256 = arith.constant 256 : index
  %y = memref.view %ws[%c256][] : memref<1024xi8> to memref<1x8x6xf32>
  nn.library_call "kiln_sconv_forward" [1, 3, 8, 1, 1, 8, 1, 1, 6, 1, 1, 3, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1] ins(%x, %w : memref<1x3x8xf32>, memref<8x3x3xf32>) outs(%y : memref<1x8x6xf32>)
  return
}

// -----

func.func @strided(%big: memref<1x3x10xf32>, %w: memref<8x3x3xf32>, %y: memref<1x8x6xf32>) {
  %x = memref.subview %big[0, 0, 1] [1, 3, 8] [1, 1, 1] : memref<1x3x10xf32> to memref<1x3x8xf32, strided<[30, 10, 1], offset: 1>>
  // expected-error @+1 {{'nn.library_call' op operand of type 'memref<1x3x8xf32, strided<[30, 10, 1], offset: 1>>' is not a contiguous buffer}}
  nn.library_call "kiln_sconv_forward" [1, 3, 8, 1, 1, 8, 1, 1, 6, 1, 1, 3, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1] ins(%x, %w : memref<1x3x8xf32, strided<[30, 10, 1], offset: 1>>, memref<8x3x3xf32>) outs(%y : memref<1x8x6xf32>)
  return
}

// -----

func.func @tensors(%x: tensor<1x3x8xf32>, %w: tensor<8x3x3xf32>, %y: tensor<1x8x6xf32>) -> tensor<1x8x6xf32> {
  // expected-error @+1 {{'nn.library_call' op is still on tensors: kiln-cpu-library-calls-to-runtime runs after bufferization}}
  %r = nn.library_call "kiln_sconv_forward" [1, 3, 8, 1, 1, 8, 1, 1, 6, 1, 1, 3, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1] ins(%x, %w : tensor<1x3x8xf32>, tensor<8x3x3xf32>) outs(%y : tensor<1x8x6xf32>) -> tensor<1x8x6xf32>
  return %r : tensor<1x8x6xf32>
}
