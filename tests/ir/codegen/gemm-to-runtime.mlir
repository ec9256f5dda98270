// RUN: kiln-opt %s --kiln-cpu-gemm-to-runtime | FileCheck %s

// A zero fill right before the contraction is folded in: accumulate = 0.
// Each operand passes (address = aligned pointer + 4 * offset, stride 0,
// stride 1); A and B row-major keep their strides in order.
// CHECK-LABEL: func.func @plain
// CHECK-NOT:     linalg.fill
// CHECK:         %{{.+}}, %[[AOFF:.+]], %{{.+}}:2, %[[AS:.+]]:2 = memref.extract_strided_metadata %arg0
// CHECK:         %[[APTR:.+]] = memref.extract_aligned_pointer_as_index %arg0
// CHECK:         %[[ABYTES:.+]] = arith.muli %[[AOFF]], %c4
// CHECK:         %[[AADDR:.+]] = arith.addi %[[APTR]], %[[ABYTES]]
// CHECK:         %[[A:.+]] = arith.index_cast %[[AADDR]] : index to i64
// CHECK:         %[[AS0:.+]] = arith.index_cast %[[AS]]#0 : index to i64
// CHECK:         %[[AS1:.+]] = arith.index_cast %[[AS]]#1 : index to i64
// CHECK-DAG:     %[[M:.+]] = arith.constant 128 : i64
// CHECK-DAG:     %[[N:.+]] = arith.constant 64 : i64
// CHECK-DAG:     %[[K:.+]] = arith.constant 32 : i64
// CHECK-DAG:     %[[ZERO:.+]] = arith.constant 0 : i32
// CHECK:         call @kiln_sgemm(%[[M]], %[[N]], %[[K]], %[[A]], %[[AS0]], %[[AS1]], %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %[[ZERO]])
// CHECK-NOT:     linalg.matmul
func.func @plain(%a: memref<128x32xf32>, %b: memref<32x64xf32>, %c: memref<128x64xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<128x64xf32>)
  linalg.matmul ins(%a, %b : memref<128x32xf32>, memref<32x64xf32>) outs(%c : memref<128x64xf32>)
  return
}

// No fill: the call accumulates into C (here: C holds the bias). B = W^T of
// matmul_transpose_b is read through W's strides swapped.
// CHECK-LABEL: func.func @transpose_b
// CHECK:         memref.extract_strided_metadata %arg1 {{.+}}
// CHECK:         %[[BS0:.+]] = arith.index_cast %{{.+}}#0 : index to i64
// CHECK:         %[[BS1:.+]] = arith.index_cast %{{.+}}#1 : index to i64
// CHECK:         %[[ONE:.+]] = arith.constant 1 : i32
// CHECK:         call @kiln_sgemm(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %[[BS1]], %[[BS0]], %{{.+}}, %{{.+}}, %[[ONE]])
func.func @transpose_b(%a: memref<16x32xf32>, %w: memref<10x32xf32>, %c: memref<16x10xf32>) {
  linalg.matmul_transpose_b ins(%a, %w : memref<16x32xf32>, memref<10x32xf32>) outs(%c : memref<16x10xf32>)
  return
}

// A fill of another value stays, and the call accumulates.
// CHECK-LABEL: func.func @nonzero_fill
// CHECK:         linalg.fill
// CHECK:         %[[ONE:.+]] = arith.constant 1 : i32
// CHECK:         call @kiln_sgemm({{.+}}, %[[ONE]])
func.func @nonzero_fill(%a: memref<8x4xf32>, %b: memref<4x8xf32>, %c: memref<8x8xf32>) {
  %one = arith.constant 1.0 : f32
  linalg.fill ins(%one : f32) outs(%c : memref<8x8xf32>)
  linalg.matmul ins(%a, %b : memref<8x4xf32>, memref<4x8xf32>) outs(%c : memref<8x8xf32>)
  return
}

// Temporaries placed in the workspace (memref.view with a byte shift) and
// subviews of them: the address is the workspace's aligned pointer plus the
// view's byte shift plus 4 x the subview's offset. K of matmul_transpose_a
// is A's first dimension (6), and A's strides are passed swapped.
// CHECK-LABEL: func.func @transpose_a_in_workspace
// CHECK:         %{{.+}}, %[[OFF:.+]], %{{.+}}:2, %[[S:.+]]:2 = memref.extract_strided_metadata %[[SUB:.+]] :
// CHECK:         %[[WS:.+]] = memref.extract_aligned_pointer_as_index %arg0
// CHECK:         %[[SHIFTED:.+]] = arith.addi %[[WS]], %c256
// CHECK:         %[[BYTES:.+]] = arith.muli %[[OFF]], %c4
// CHECK:         arith.addi %[[SHIFTED]], %[[BYTES]]
// CHECK:         %[[S0:.+]] = arith.index_cast %[[S]]#0 : index to i64
// CHECK:         %[[S1:.+]] = arith.index_cast %[[S]]#1 : index to i64
// CHECK:         %[[K:.+]] = arith.constant 6 : i64
// CHECK:         call @kiln_sgemm(%{{.+}}, %{{.+}}, %[[K]], %{{.+}}, %[[S1]], %[[S0]],
func.func @transpose_a_in_workspace(%ws: memref<4096xi8>, %b: memref<6x8xf32>, %c: memref<16x8xf32>) {
  %c256 = arith.constant 256 : index
  %v = memref.view %ws[%c256][] : memref<4096xi8> to memref<6x20xf32>
  %sub = memref.subview %v[0, 4] [6, 16] [1, 1] : memref<6x20xf32> to memref<6x16xf32, strided<[20, 1], offset: 4>>
  linalg.matmul_transpose_a ins(%sub, %b : memref<6x16xf32, strided<[20, 1], offset: 4>>, memref<6x8xf32>) outs(%c : memref<16x8xf32>)
  return
}

// Batched contractions: one kiln_sgemm_batched call each, with the batch
// stride of every operand before its two strides (swapped for a transposed
// operand, as for kiln_sgemm); a zero fill before folds in.
// CHECK-LABEL: func.func @batched
// CHECK-NOT:     linalg.fill
// CHECK:         %{{.+}}, %{{.+}}, %{{.+}}:3, %[[AS:.+]]:3 = memref.extract_strided_metadata %arg0
// CHECK:         %[[AB:.+]] = arith.index_cast %[[AS]]#0 : index to i64
// CHECK:         %[[AR:.+]] = arith.index_cast %[[AS]]#1 : index to i64
// CHECK:         %[[AC:.+]] = arith.index_cast %[[AS]]#2 : index to i64
// CHECK:         %{{.+}}, %{{.+}}, %{{.+}}:3, %[[BS:.+]]:3 = memref.extract_strided_metadata %arg1
// CHECK:         %[[BB:.+]] = arith.index_cast %[[BS]]#0 : index to i64
// CHECK:         %[[BR:.+]] = arith.index_cast %[[BS]]#1 : index to i64
// CHECK:         %[[BC:.+]] = arith.index_cast %[[BS]]#2 : index to i64
// CHECK-DAG:     %[[ITEMS:.+]] = arith.constant 32 : i64
// CHECK-DAG:     %[[M:.+]] = arith.constant 128 : i64
// CHECK-DAG:     %[[N:.+]] = arith.constant 96 : i64
// CHECK-DAG:     %[[K:.+]] = arith.constant 64 : i64
// CHECK-DAG:     %[[ZERO:.+]] = arith.constant 0 : i32
// CHECK:         call @kiln_sgemm_batched(%[[ITEMS]], %[[M]], %[[N]], %[[K]], %{{.+}}, %[[AB]], %[[AR]], %[[AC]], %{{.+}}, %[[BB]], %[[BC]], %[[BR]], %{{.+}}, %{{.+}}, %{{.+}}, %[[ZERO]])
// CHECK:         %[[ONE:.+]] = arith.constant 1 : i32
// CHECK:         call @kiln_sgemm_batched({{.+}}, %[[ONE]])
// CHECK-NOT:     linalg.batch_matmul
func.func @batched(%q: memref<32x128x64xf32>, %k: memref<32x96x64xf32>, %s: memref<32x128x96xf32>, %at: memref<32x64x128xf32>, %v: memref<32x64x96xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%s : memref<32x128x96xf32>)
  linalg.batch_matmul_transpose_b ins(%q, %k : memref<32x128x64xf32>, memref<32x96x64xf32>) outs(%s : memref<32x128x96xf32>)
  linalg.batch_matmul_transpose_a ins(%at, %v : memref<32x64x128xf32>, memref<32x64x96xf32>) outs(%s : memref<32x128x96xf32>)
  return
}

// Tensors (before bufferization), integer contractions and a batched one
// whose output is an input stay.
// CHECK-LABEL: func.func @left_alone
// CHECK:         linalg.batch_matmul
// CHECK:         linalg.matmul ins({{.+}} : memref<4x4xi32>
// CHECK:         linalg.matmul {{.+}} tensor
// CHECK-NOT:     kiln_sgemm
func.func @left_alone(%a: memref<2x4x4xf32>, %c: memref<2x4x4xf32>, %i: memref<4x4xi32>, %t: tensor<4x4xf32>) -> tensor<4x4xf32> {
  linalg.batch_matmul ins(%a, %c : memref<2x4x4xf32>, memref<2x4x4xf32>) outs(%c : memref<2x4x4xf32>)
  linalg.matmul ins(%i, %i : memref<4x4xi32>, memref<4x4xi32>) outs(%i : memref<4x4xi32>)
  %r = linalg.matmul ins(%t, %t : tensor<4x4xf32>, tensor<4x4xf32>) outs(%t : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %r : tensor<4x4xf32>
}


// An output that may overlap an input (the same buffer, or views of one)
// keeps the loop lowering: kiln_sgemm writes C while it reads A and B.
// CHECK-LABEL: func.func @aliasing
// CHECK-NOT:     call @kiln_sgemm
// CHECK:         linalg.matmul
// CHECK:         linalg.matmul
func.func @aliasing(%a: memref<8x8xf32>, %big: memref<16x8xf32>) {
  linalg.matmul ins(%a, %a : memref<8x8xf32>, memref<8x8xf32>) outs(%a : memref<8x8xf32>)
  %top = memref.subview %big[0, 0] [8, 8] [1, 1] : memref<16x8xf32> to memref<8x8xf32, strided<[8, 1]>>
  %bottom = memref.subview %big[8, 0] [8, 8] [1, 1] : memref<16x8xf32> to memref<8x8xf32, strided<[8, 1], offset: 64>>
  linalg.matmul ins(%top, %a : memref<8x8xf32, strided<[8, 1]>>, memref<8x8xf32>) outs(%bottom : memref<8x8xf32, strided<[8, 1], offset: 64>>)
  return
}

// CHECK: func.func private @kiln_sgemm(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i32)
