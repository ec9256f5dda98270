// RUN: kiln-opt %s --split-input-file --kiln-produce-into-slices | FileCheck %s
// RUN: kiln-opt %s --split-input-file --kiln-produce-into-slices --one-shot-bufferize="bufferize-function-boundaries" --canonicalize --cse --canonicalize | FileCheck %s --check-prefix=BUF

// A bucket of two gradients (a weight's, flattened, and a bias's), chained
// after both producers: each producer now writes its slice of the bucket,
// in producer order, its insert right after it; the call reads the new
// chain and writes an empty of its own.
// CHECK-LABEL: func.func @bucket
// CHECK:         %[[B:.+]] = tensor.empty() : tensor<5130xf32>
// CHECK:         %[[S0:.+]] = tensor.extract_slice %[[B]][0] [5120] [1]
// CHECK:         %[[E0:.+]] = tensor.expand_shape %[[S0]] {{\[\[}}0, 1]] output_shape [10, 512]
// CHECK:         %[[F0:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%[[E0]] : tensor<10x512xf32>)
// CHECK:         %[[W:.+]] = linalg.matmul_transpose_a ins({{.+}}) outs(%[[F0]] : tensor<10x512xf32>)
// CHECK:         %[[C:.+]] = tensor.collapse_shape %[[W]]
// CHECK:         %[[I0:.+]] = tensor.insert_slice %[[C]] into %[[B]][0] [5120] [1]
// CHECK:         %[[S1:.+]] = tensor.extract_slice %[[I0]][5120] [10] [1]
// CHECK:         %[[F1:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%[[S1]] : tensor<10xf32>)
// CHECK:         %[[G:.+]] = linalg.generic {{.+}} outs(%[[F1]] : tensor<10xf32>)
// CHECK:         %[[I1:.+]] = tensor.insert_slice %[[G]] into %[[I0]][5120] [10] [1]
// CHECK:         %[[OUT:.+]] = tensor.empty() : tensor<5130xf32>
// CHECK:         nn.library_call "kiln_all_reduce_start" [5130, 0] ins(%[[I1]] : tensor<5130xf32>) outs(%[[OUT]] : tensor<5130xf32>)
// Bufferized: the bucket is one buffer, both producers write into it, and
// nothing is copied.
// BUF-LABEL: func.func @bucket
// BUF-NOT:     memref.copy
// BUF:         %[[A:.+]] = memref.alloc() {{.+}} : memref<5130xf32>
// BUF-NOT:     memref.copy
// BUF:         linalg.matmul_transpose_a {{.+}} outs(%{{.+}} : memref<10x512xf32>)
// BUF-NOT:     memref.copy
// BUF:         linalg.generic {{.+}} outs(%{{.+}} : memref<10xf32, strided<[1], offset: 5120>>)
// BUF-NOT:     memref.copy
// BUF:         nn.library_call "kiln_all_reduce_start" [5130, 0] ins(%[[A]] : memref<5130xf32>)
func.func @bucket(%a: tensor<64x10xf32>, %x: tensor<64x512xf32>) -> tensor<5130xf32> {
  %cst = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<10x512xf32>
  %f0 = linalg.fill ins(%cst : f32) outs(%e0 : tensor<10x512xf32>) -> tensor<10x512xf32>
  %w = linalg.matmul_transpose_a ins(%a, %x : tensor<64x10xf32>, tensor<64x512xf32>) outs(%f0 : tensor<10x512xf32>) -> tensor<10x512xf32>
  %e1 = tensor.empty() : tensor<10xf32>
  %f1 = linalg.fill ins(%cst : f32) outs(%e1 : tensor<10xf32>) -> tensor<10xf32>
  %g = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>], iterator_types = ["reduction", "parallel"]} ins(%a : tensor<64x10xf32>) outs(%f1 : tensor<10xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %in, %out : f32
    linalg.yield %s : f32
  } -> tensor<10xf32>
  %b = tensor.empty() : tensor<5130xf32>
  %c = tensor.collapse_shape %w [[0, 1]] : tensor<10x512xf32> into tensor<5120xf32>
  %i0 = tensor.insert_slice %c into %b[0] [5120] [1] : tensor<5120xf32> into tensor<5130xf32>
  %i1 = tensor.insert_slice %g into %i0[5120] [10] [1] : tensor<10xf32> into tensor<5130xf32>
  %r = nn.library_call "kiln_all_reduce_start" [5130, 0] ins(%i1 : tensor<5130xf32>) outs(%b : tensor<5130xf32>) -> tensor<5130xf32>
  return %r : tensor<5130xf32>
}

// -----

// The chain's order is not the producers': the piece produced last was
// inserted first. A function argument cannot be computed in place: it is
// inserted after the others, where the chain ended.
// CHECK-LABEL: func.func @order_and_argument
// CHECK:         %[[B:.+]] = tensor.empty() : tensor<12xf32>
// CHECK:         %[[P:.+]] = linalg.generic {{.+}} outs(%{{.+}} : tensor<4xf32>)
// CHECK:         %[[I0:.+]] = tensor.insert_slice %[[P]] into %[[B]][4] [4] [1]
// CHECK:         %[[Q:.+]] = linalg.generic {{.+}} outs(%{{.+}} : tensor<4xf32>)
// CHECK:         %[[I1:.+]] = tensor.insert_slice %[[Q]] into %[[I0]][0] [4] [1]
// CHECK:         %[[I2:.+]] = tensor.insert_slice %arg1 into %[[I1]][8] [4] [1]
// CHECK:         return %[[I2]]
func.func @order_and_argument(%x: tensor<4xf32>, %arg: tensor<4xf32>) -> tensor<12xf32> {
  %e0 = tensor.empty() : tensor<4xf32>
  %p = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%x : tensor<4xf32>) outs(%e0 : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %in, %in : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  %e1 = tensor.empty() : tensor<4xf32>
  %q = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%x : tensor<4xf32>) outs(%e1 : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.mulf %in, %in : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  %b = tensor.empty() : tensor<12xf32>
  %i0 = tensor.insert_slice %q into %b[0] [4] [1] : tensor<4xf32> into tensor<12xf32>
  %i1 = tensor.insert_slice %arg into %i0[8] [4] [1] : tensor<4xf32> into tensor<12xf32>
  %i2 = tensor.insert_slice %p into %i1[4] [4] [1] : tensor<4xf32> into tensor<12xf32>
  return %i2 : tensor<12xf32>
}

// -----

// Left alone: %p is also read elsewhere (computing it in the slice would be
// fine, but the slice is then written by nothing else: keep it simple and
// safe), and overlapping slices (the order of the inserts matters).
// CHECK-LABEL: func.func @left_alone
// CHECK:         %[[E:.+]] = tensor.empty() : tensor<4xf32>
// CHECK:         %[[P:.+]] = linalg.generic {{.+}} outs(%[[E]] : tensor<4xf32>)
// CHECK-NOT:     tensor.extract_slice
// CHECK:         tensor.insert_slice %[[P]] into
// CHECK-LABEL: func.func @overlapping
// CHECK-NOT:     tensor.extract_slice
func.func @left_alone(%x: tensor<4xf32>) -> (tensor<8xf32>, tensor<4xf32>) {
  %e0 = tensor.empty() : tensor<4xf32>
  %p = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%x : tensor<4xf32>) outs(%e0 : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %in, %in : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  %b = tensor.empty() : tensor<8xf32>
  %i0 = tensor.insert_slice %p into %b[0] [4] [1] : tensor<4xf32> into tensor<8xf32>
  return %i0, %p : tensor<8xf32>, tensor<4xf32>
}
func.func @overlapping(%x: tensor<4xf32>) -> tensor<6xf32> {
  %e0 = tensor.empty() : tensor<4xf32>
  %p = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%x : tensor<4xf32>) outs(%e0 : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %in, %in : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  %b = tensor.empty() : tensor<6xf32>
  %i0 = tensor.insert_slice %x into %b[0] [4] [1] : tensor<4xf32> into tensor<6xf32>
  %i1 = tensor.insert_slice %p into %i0[2] [4] [1] : tensor<4xf32> into tensor<6xf32>
  return %i1 : tensor<6xf32>
}
