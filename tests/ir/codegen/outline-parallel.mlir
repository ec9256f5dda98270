// RUN: kiln-opt %s --kiln-cpu-outline-parallel --split-input-file | FileCheck %s

// A 2-D thread-tile loop becomes a private function over the linear range
// [begin, end); the parent calls it once over all 8 x 2 = 16 iterations.
// Constants are cloned into the body; other values are arguments.

// CHECK-LABEL: func.func private @scale_parallel_0
// CHECK-SAME:      (%[[BEGIN:.+]]: index, %[[END:.+]]: index, %[[A:.+]]: memref<64x32xf32>, %[[S:.+]]: f32)
// CHECK-SAME:      attributes {kiln.parallel_body, llvm.linkage = #llvm.linkage<internal>}
// CHECK-DAG:     %[[BIAS:.+]] = arith.constant 1.000000e+00 : f32
// CHECK:         scf.for %[[L:.+]] = %[[BEGIN]] to %[[END]]
// CHECK:           %[[J:.+]] = arith.remsi %[[L]], %c2
// CHECK:           %[[I:.+]] = arith.divsi %[[L]], %c2
// CHECK:           %[[JJ:.+]] = arith.muli %[[J]], %c16
// CHECK:           %[[II:.+]] = arith.muli %[[I]], %c8
// CHECK:           memref.load %[[A]][%[[II]], %[[JJ]]]
// CHECK:           arith.mulf %{{.+}}, %[[S]]
// CHECK:           arith.addf %{{.+}}, %[[BIAS]]
// CHECK-NOT:     scf.forall
// CHECK:         return

// CHECK-LABEL: func.func @scale
// CHECK-DAG:     %[[C0:.+]] = arith.constant 0 : index
// CHECK-DAG:     %[[C16:.+]] = arith.constant 16 : index
// CHECK:         call @scale_parallel_0(%[[C0]], %[[C16]], %{{.+}}, %{{.+}}) : (index, index, memref<64x32xf32>, f32) -> ()
// CHECK-NOT:     scf.forall
func.func @scale(%a: memref<64x32xf32>, %s: f32) {
  %bias = arith.constant 1.0 : f32
  scf.forall (%i, %j) = (0, 0) to (64, 32) step (8, 16) {
    %x = memref.load %a[%i, %j] : memref<64x32xf32>
    %y = arith.mulf %x, %s : f32
    %z = arith.addf %y, %bias : f32
    memref.store %z, %a[%i, %j] : memref<64x32xf32>
  }
  return
}

// -----

// A dynamic bound: the trip count is computed at run time in the parent;
// the body needs only the range (the outermost bound is not passed).

// CHECK-LABEL: func.func private @dynamic_parallel_0
// CHECK-SAME:      (%{{.+}}: index, %{{.+}}: index, %{{.+}}: memref<64xf32>)
// CHECK-SAME:      attributes
// CHECK:         scf.for %[[L:.+]] =
// CHECK:           arith.muli %[[L]], %c4
// CHECK-LABEL: func.func @dynamic
// CHECK:         %[[COUNT:.+]] = arith.ceildivsi %{{.+}}, %{{.+}}
// CHECK:         %[[TRIPS:.+]] = arith.maxsi %[[COUNT]], %{{.+}}
// CHECK:         call @dynamic_parallel_0(%{{.+}}, %[[TRIPS]], %{{.+}}) :
func.func @dynamic(%a: memref<64xf32>, %n: index) {
  %c0 = arith.constant 0.0 : f32
  scf.forall (%i) = (0) to (%n) step (4) {
    memref.store %c0, %a[%i] : memref<64xf32>
  }
  return
}

// -----

// Only the outermost loop is outlined; the inner one runs inside its task.

// CHECK-LABEL: func.func private @nested_parallel_0
// CHECK:         scf.for
// CHECK:           scf.forall
// CHECK-LABEL: func.func @nested
// CHECK-NOT:     scf.forall
// CHECK:         call @nested_parallel_0
// CHECK-NOT:     @nested_parallel_1
func.func @nested(%a: memref<8x8xf32>) {
  %c0 = arith.constant 0.0 : f32
  scf.forall (%i) in (8) {
    scf.forall (%j) in (8) {
      memref.store %c0, %a[%i, %j] : memref<8x8xf32>
    }
  }
  return
}

// -----

// A memref with a dynamic shape cannot travel as a bare pointer: the loop is
// left alone (it runs sequentially after scf-forall-to-for).

// CHECK-LABEL: func.func @not_passable
// CHECK-NOT:     call
// CHECK:         scf.forall
func.func @not_passable(%a: memref<?xf32>) {
  %c0 = arith.constant 0.0 : f32
  scf.forall (%i) in (8) {
    memref.store %c0, %a[%i] : memref<?xf32>
  }
  return
}
