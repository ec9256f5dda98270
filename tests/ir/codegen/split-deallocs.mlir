// RUN: kiln-opt %s --kiln-cpu-split-deallocs | FileCheck %s
// RUN: kiln-opt %s --kiln-cpu-split-deallocs --bufferization-lower-deallocations | FileCheck %s --check-prefix=LOWER

// Two memrefs that may be one buffer (an scf.if yields a fresh buffer or
// the existing one): each gets its own dealloc, the second only if the
// first was not freed with the same pointer. Lowered, that is plain
// conditional memref.dealloc, with no helper function (whose dynamically
// shaped arguments the kernels' bare-pointer calls cannot take).
// CHECK-LABEL: func.func @maybe_alias
// CHECK-SAME:    (%[[A:.+]]: memref<4xf32>, %[[B:.+]]: memref<4xf32>, %[[CA:.+]]: i1, %[[CB:.+]]: i1)
// CHECK:         %[[PA:.+]] = memref.extract_aligned_pointer_as_index %[[A]]
// CHECK:         bufferization.dealloc (%[[A]] : memref<4xf32>) if (%[[CA]])
// CHECK:         %[[PB:.+]] = memref.extract_aligned_pointer_as_index %[[B]]
// CHECK:         %[[SAME:.+]] = arith.cmpi eq, %[[PB]], %[[PA]]
// CHECK:         %[[DONE:.+]] = arith.andi %[[SAME]], %[[CA]]
// CHECK:         %[[NOT:.+]] = arith.xori %[[DONE]], %{{.+}}
// CHECK:         %[[FREE:.+]] = arith.andi %[[CB]], %[[NOT]]
// CHECK:         bufferization.dealloc (%[[B]] : memref<4xf32>) if (%[[FREE]])
// CHECK-NOT:     bufferization.dealloc

// LOWER-LABEL: func.func @maybe_alias
// LOWER-NOT:   dealloc_helper
// LOWER-COUNT-2: memref.dealloc
// LOWER-NOT:   dealloc_helper
// LOWER:       return
func.func @maybe_alias(%a: memref<4xf32>, %b: memref<4xf32>, %ca: i1, %cb: i1) {
  bufferization.dealloc (%a, %b : memref<4xf32>, memref<4xf32>) if (%ca, %cb)
  return
}

// A dealloc that retains values keeps upstream's lowering (a helper
// function; no kernel has needed one so far).
// CHECK-LABEL: func.func @retains
// CHECK:         bufferization.dealloc (%{{.+}}, %{{.+}} : memref<4xf32>, memref<4xf32>) if (%{{.+}}, %{{.+}}) retain (%{{.+}} : memref<4xf32>)
func.func @retains(%a: memref<4xf32>, %b: memref<4xf32>, %r: memref<4xf32>, %ca: i1, %cb: i1) -> i1 {
  %k = bufferization.dealloc (%a, %b : memref<4xf32>, memref<4xf32>) if (%ca, %cb) retain (%r : memref<4xf32>)
  return %k : i1
}
