// RUN: kiln-opt %s --kiln-in-place-results --split-input-file | FileCheck %s
// RUN: kiln-opt %s --kiln-in-place-results --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --kiln-drop-in-place-results --cse --canonicalize --split-input-file | FileCheck %s --check-prefix=BUF

// An SGD step with momentum: both next values (parameter, buffer) are
// marked kiln.in_place. The tensor.empty they are computed into becomes the
// argument, the returned value is materialized into it, and after
// bufferization the update reads and writes the argument buffers and the
// two results are gone from the signature; the loss stays a result.

#map = affine_map<(d0) -> (d0)>
// CHECK-LABEL: func.func @sgd
// CHECK-SAME:    (%[[W:.+]]: tensor<64xf32>, %[[G:.+]]: tensor<64xf32>, %[[M:.+]]: tensor<64xf32>)
// CHECK:         %[[U:.+]]:2 = linalg.generic {{.+}} ins(%[[W]], %[[G]], %[[M]] : {{.+}}) outs(%[[W]], %[[M]] : {{.+}})
// CHECK:         %[[RW:.+]] = bufferization.materialize_in_destination %[[U]]#0 in %[[W]]
// CHECK:         %[[RM:.+]] = bufferization.materialize_in_destination %[[U]]#1 in %[[M]]
// CHECK:         return %{{.+}}, %[[RW]], %[[RM]]

// BUF-LABEL: func.func @sgd
// BUF-SAME:    (%[[W:.+]]: memref<64xf32>, %[[G:.+]]: memref<64xf32>, %[[M:.+]]: memref<64xf32>) -> memref<f32>
// BUF:         linalg.generic {{.+}} ins(%[[W]], %[[G]], %[[M]] : {{.+}}) outs(%[[W]], %[[M]] : {{.+}})
// BUF-NOT:     memref.copy
// BUF-NOT:     linalg.copy
// BUF:         return %{{.+}} : memref<f32>
func.func @sgd(%w: tensor<64xf32>, %g: tensor<64xf32>, %m: tensor<64xf32>)
    -> (tensor<f32>, tensor<64xf32> {kiln.in_place = 0 : i64}, tensor<64xf32> {kiln.in_place = 2 : i64}) {
  %cst = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<f32>
  %loss = linalg.fill ins(%cst : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %e1 = tensor.empty() : tensor<64xf32>
  %e2 = tensor.empty() : tensor<64xf32>
  %u:2 = linalg.generic {indexing_maps = [#map, #map, #map, #map, #map], iterator_types = ["parallel"]}
      ins(%w, %g, %m : tensor<64xf32>, tensor<64xf32>, tensor<64xf32>) outs(%e1, %e2 : tensor<64xf32>, tensor<64xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32, %o1: f32, %o2: f32):
    %mom = arith.addf %c, %b : f32
    %nw = arith.subf %a, %mom : f32
    linalg.yield %nw, %mom : f32, f32
  } -> (tensor<64xf32>, tensor<64xf32>)
  return %loss, %u#0, %u#1 : tensor<f32>, tensor<64xf32>, tensor<64xf32>
}

// -----

// A thread-tiled update: the loop's shared output starts as the argument
// and the tile of the old value is read through it (one slice, read and
// written by the elementwise op), so the loop updates the buffer in place.

#map = affine_map<(d0) -> (d0)>
// CHECK-LABEL: func.func @tiled
// CHECK-SAME:    (%[[W:.+]]: tensor<64xf32>, %[[G:.+]]: tensor<64xf32>)
// CHECK:         scf.forall (%[[I:.+]]) = (0) to (64) step (16) shared_outs(%[[S:.+]] = %[[W]])
// CHECK:           %[[T:.+]] = tensor.extract_slice %[[S]][%[[I]]] [16] [1]
// CHECK-NOT:       tensor.extract_slice %[[S]]
// CHECK:           linalg.generic {{.+}} ins(%[[T]], %{{.+}} : {{.+}}) outs(%[[T]] : {{.+}})

// BUF-LABEL: func.func @tiled
// BUF-SAME:    (%[[W:.+]]: memref<64xf32>, %[[G:.+]]: memref<64xf32>) {
// BUF-NOT:     memref.alloc
// BUF-NOT:     copy
// BUF:         scf.forall
// BUF:           %[[T:.+]] = memref.subview %[[W]]
// BUF:           linalg.generic {{.+}} ins(%[[T]], %{{.+}} : {{.+}}) outs(%[[T]] : {{.+}})
// BUF:         return
func.func @tiled(%w: tensor<64xf32>, %g: tensor<64xf32>) -> (tensor<64xf32> {kiln.in_place = 0 : i64}) {
  %e = tensor.empty() : tensor<64xf32>
  %r = scf.forall (%i) = (0) to (64) step (16) shared_outs(%o = %e) -> (tensor<64xf32>) {
    %ws = tensor.extract_slice %w[%i] [16] [1] : tensor<64xf32> to tensor<16xf32>
    %gs = tensor.extract_slice %g[%i] [16] [1] : tensor<64xf32> to tensor<16xf32>
    %os = tensor.extract_slice %o[%i] [16] [1] : tensor<64xf32> to tensor<16xf32>
    %u = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel"]}
        ins(%ws, %gs : tensor<16xf32>, tensor<16xf32>) outs(%os : tensor<16xf32>) {
    ^bb0(%a: f32, %b: f32, %c: f32):
      %n = arith.subf %a, %b : f32
      linalg.yield %n : f32
    } -> tensor<16xf32>
    scf.forall.in_parallel {
      tensor.parallel_insert_slice %u into %o[%i] [16] [1] : tensor<16xf32> into tensor<64xf32>
    }
  }
  return %r : tensor<64xf32>
}

// -----

// The old value is read after the update (a later op needs it): the update
// cannot write the argument first, so bufferization computes it into a
// temporary and copies it in at the end. Still correct, and still no
// result.

#map = affine_map<(d0) -> (d0)>
// BUF-LABEL: func.func @read_after
// BUF-SAME:    (%[[W:.+]]: memref<64xf32>, %[[G:.+]]: memref<64xf32>) -> memref<64xf32>
// BUF:         %[[T:.+]] = memref.alloc
// BUF:         linalg.generic {{.+}} ins(%[[W]], %[[G]] : {{.+}}) outs(%[[T]] : {{.+}})
// BUF:         linalg.generic {{.+}} ins(%[[W]] : {{.+}}) outs(%[[Y:.+]] : {{.+}})
// BUF:         memref.copy %[[T]], %[[W]]
// BUF:         return %[[Y]] : memref<64xf32>
func.func @read_after(%w: tensor<64xf32>, %g: tensor<64xf32>) -> (tensor<64xf32> {kiln.in_place = 0 : i64}, tensor<64xf32>) {
  %e = tensor.empty() : tensor<64xf32>
  %u = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel"]}
      ins(%w, %g : tensor<64xf32>, tensor<64xf32>) outs(%e : tensor<64xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %n = arith.subf %a, %b : f32
    linalg.yield %n : f32
  } -> tensor<64xf32>
  %e2 = tensor.empty() : tensor<64xf32>
  %y = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel"]}
      ins(%w : tensor<64xf32>) outs(%e2 : tensor<64xf32>) {
  ^bb0(%a: f32, %c: f32):
    %n = arith.addf %a, %a : f32
    linalg.yield %n : f32
  } -> tensor<64xf32>
  return %u, %y : tensor<64xf32>, tensor<64xf32>
}
