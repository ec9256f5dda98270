// RUN: kiln-opt %s --kiln-cpu-merge-parallel-loops --split-input-file | FileCheck %s
// RUN: kiln-opt %s --kiln-cpu-merge-parallel-loops=remarks --split-input-file -o /dev/null 2>&1 | FileCheck %s --check-prefix=REMARK

// Two independent parallel loops over a kernel's arguments and a small op
// beside them (an optimizer update of three parameters) become one launch
// over their iterations laid end to end: 4 tasks of 2 x 8 = 16, 2 tasks of
// 4 x 4 = 16 from 64, then the whole 4-wide op from 96, 100 in all. A range [begin, end)
// runs the tasks that start in it.

// CHECK-LABEL: func.func private @update_tasks_0
// CHECK-SAME:      (%[[BEGIN:.+]]: index, %[[END:.+]]: index, %[[W:.+]]: memref<8x8xf32>, %[[G:.+]]: memref<8x8xf32>, %[[V:.+]]: memref<8x4xf32>, %[[GV:.+]]: memref<8x4xf32>, %[[GB:.+]]: memref<4xf32>, %[[B:.+]]: memref<4xf32>)
// CHECK-SAME:      attributes {kiln.parallel_body, llvm.linkage = #llvm.linkage<internal>}
// CHECK:         %[[C16:.+]] = arith.constant 16 : index
// CHECK:         %[[C0:.+]] = arith.constant 0 : index
// CHECK:         %[[C4:.+]] = arith.constant 4 : index
// CHECK:         %[[D0:.+]] = arith.subi %[[BEGIN]], %[[C0]]
// CHECK:         %[[K0:.+]] = arith.ceildivsi %[[D0]], %[[C16]]
// CHECK:         %[[LO0:.+]] = arith.maxsi %[[K0]], %{{.+}}
// CHECK:         arith.minsi %[[LO0]], %[[C4]]
// CHECK:         scf.for %[[T0:.+]] = %{{.+}} to %{{.+}} step
// CHECK:           %[[ROW:.+]] = arith.muli %[[T0]], %c2
// CHECK:           memref.subview %[[W]][%[[ROW]], 0] [2, 8]
// CHECK:           linalg.generic
// CHECK:         arith.constant 64 : index
// CHECK:         scf.for
// CHECK:           memref.subview %[[V]]
// CHECK:           linalg.generic
// CHECK:         arith.constant 96 : index
// CHECK:         scf.for
// CHECK:           linalg.generic {{.+}} ins(%[[GB]] : memref<4xf32>) outs(%[[B]] : memref<4xf32>)
// CHECK:         return

// CHECK-LABEL: func.func @update
// CHECK-NOT:     scf.forall
// CHECK:         call @update_tasks_0(%{{.+}}, %{{.+}}, %arg0, %arg1, %arg2, %arg3, %arg5, %arg4)
// CHECK-NOT:     scf.forall
// CHECK:         return

// REMARK: remark: threads: 2 parallel loops and 1 single-task op merged into one launch of 100 iterations (update_tasks_0)
#id = affine_map<(d0, d1) -> (d0, d1)>
#id1 = affine_map<(d0) -> (d0)>
func.func @update(%w: memref<8x8xf32>, %g: memref<8x8xf32>,
                  %v: memref<8x4xf32>, %gv: memref<8x4xf32>,
                  %b: memref<4xf32>, %gb: memref<4xf32>) {
  scf.forall (%i) = (0) to (8) step (2) {
    %ws = memref.subview %w[%i, 0] [2, 8] [1, 1] : memref<8x8xf32> to memref<2x8xf32, strided<[8, 1], offset: ?>>
    %gs = memref.subview %g[%i, 0] [2, 8] [1, 1] : memref<8x8xf32> to memref<2x8xf32, strided<[8, 1], offset: ?>>
    linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
        ins(%gs : memref<2x8xf32, strided<[8, 1], offset: ?>>) outs(%ws : memref<2x8xf32, strided<[8, 1], offset: ?>>) {
    ^bb0(%x: f32, %y: f32):
      %z = arith.subf %y, %x : f32
      linalg.yield %z : f32
    }
  }
  scf.forall (%i) = (0) to (8) step (4) {
    %vs = memref.subview %v[%i, 0] [4, 4] [1, 1] : memref<8x4xf32> to memref<4x4xf32, strided<[4, 1], offset: ?>>
    %gs = memref.subview %gv[%i, 0] [4, 4] [1, 1] : memref<8x4xf32> to memref<4x4xf32, strided<[4, 1], offset: ?>>
    linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
        ins(%gs : memref<4x4xf32, strided<[4, 1], offset: ?>>) outs(%vs : memref<4x4xf32, strided<[4, 1], offset: ?>>) {
    ^bb0(%x: f32, %y: f32):
      %z = arith.subf %y, %x : f32
      linalg.yield %z : f32
    }
  }
  linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]}
      ins(%gb : memref<4xf32>) outs(%b : memref<4xf32>) {
  ^bb0(%x: f32, %y: f32):
    %z = arith.subf %y, %x : f32
    linalg.yield %z : f32
  }
  return
}

// -----

// A dependence splits a run into launches by level: the small op reads what
// the first loop writes, so it runs after the launch of both loops (which
// are independent of each other), in its original form.

// CHECK-LABEL: func.func @levels
// CHECK:         call @levels_tasks_0(%{{.+}}, %{{.+}}, %arg0, %arg1, %arg3)
// CHECK-NEXT:    linalg.generic {{.+}} ins(%arg0 : memref<64xf32>) outs(%arg2 : memref<64xf32>)
// CHECK:         linalg.yield
// CHECK-NEXT:    }
// CHECK-NEXT:    return
// REMARK: remark: threads: 2 parallel loops and 0 single-task ops merged into one launch of 128 iterations (levels_tasks_0)
#id1 = affine_map<(d0) -> (d0)>
func.func @levels(%a: memref<64xf32>, %b: memref<64xf32>, %c: memref<64xf32>, %d: memref<64xf32>) {
  %one = arith.constant 1.0 : f32
  scf.forall (%i) = (0) to (64) step (16) {
    %s = memref.subview %a[%i] [16] [1] : memref<64xf32> to memref<16xf32, strided<[1], offset: ?>>
    linalg.fill ins(%one : f32) outs(%s : memref<16xf32, strided<[1], offset: ?>>)
  }
  linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]}
      ins(%a : memref<64xf32>) outs(%c : memref<64xf32>) {
  ^bb0(%x: f32, %y: f32):
    linalg.yield %x : f32
  }
  scf.forall (%i) = (0) to (64) step (16) {
    %s = memref.subview %b[%i] [16] [1] : memref<64xf32> to memref<16xf32, strided<[1], offset: ?>>
    %t = memref.subview %d[%i] [16] [1] : memref<64xf32> to memref<16xf32, strided<[1], offset: ?>>
    linalg.copy ins(%s : memref<16xf32, strided<[1], offset: ?>>) outs(%t : memref<16xf32, strided<[1], offset: ?>>)
  }
  return
}

// -----

// Views of the workspace: disjoint byte ranges are independent ([0, 256)
// and [256, 512)); overlapping ones ([128, 384) written, [0, 256) read)
// are not, so the third loop waits for the first.

// CHECK-LABEL: func.func @workspace
// CHECK:         call @workspace_tasks_0(
// CHECK-NEXT:    scf.forall
// CHECK:         return
// REMARK: remark: threads: this parallel loop runs in launch 2 of its run
// REMARK: remark: threads: 2 parallel loops and 0 single-task ops merged into one launch of 128 iterations (workspace_tasks_0)
func.func @workspace(%ws: memref<512xi8>, %out: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  %c128 = arith.constant 128 : index
  %c256 = arith.constant 256 : index
  %one = arith.constant 1.0 : f32
  %x = memref.view %ws[%c0][] : memref<512xi8> to memref<64xf32>
  %y = memref.view %ws[%c256][] : memref<512xi8> to memref<64xf32>
  %z = memref.view %ws[%c128][] : memref<512xi8> to memref<64xf32>
  scf.forall (%i) = (0) to (64) step (16) {
    %s = memref.subview %x[%i] [16] [1] : memref<64xf32> to memref<16xf32, strided<[1], offset: ?>>
    %t = memref.subview %out[%i] [16] [1] : memref<64xf32> to memref<16xf32, strided<[1], offset: ?>>
    linalg.copy ins(%s : memref<16xf32, strided<[1], offset: ?>>) outs(%t : memref<16xf32, strided<[1], offset: ?>>)
  }
  scf.forall (%i) = (0) to (64) step (16) {
    %s = memref.subview %y[%i] [16] [1] : memref<64xf32> to memref<16xf32, strided<[1], offset: ?>>
    linalg.fill ins(%one : f32) outs(%s : memref<16xf32, strided<[1], offset: ?>>)
  }
  scf.forall (%i) = (0) to (64) step (16) {
    %s = memref.subview %z[%i] [16] [1] : memref<64xf32> to memref<16xf32, strided<[1], offset: ?>>
    linalg.fill ins(%one : f32) outs(%s : memref<16xf32, strided<[1], offset: ?>>)
  }
  return
}

// -----

// Not kernels: a function that is called may get aliasing arguments, so a
// loop writing one and a loop reading another stay apart. An op with
// unknown effects (a call) ends a run.

// CHECK-LABEL: func.func private @helper
// CHECK:         scf.forall
// CHECK:         scf.forall
// CHECK-NOT:     call @helper_tasks
// CHECK-LABEL: func.func @calls
// CHECK:         scf.forall
// CHECK:         call @helper
// CHECK:         scf.forall
// CHECK-NOT:     call @calls_tasks
func.func private @helper(%a: memref<64xf32>, %b: memref<64xf32>) {
  %one = arith.constant 1.0 : f32
  scf.forall (%i) = (0) to (64) step (16) {
    %s = memref.subview %a[%i] [16] [1] : memref<64xf32> to memref<16xf32, strided<[1], offset: ?>>
    linalg.fill ins(%one : f32) outs(%s : memref<16xf32, strided<[1], offset: ?>>)
  }
  scf.forall (%i) = (0) to (64) step (16) {
    %s = memref.subview %b[%i] [16] [1] : memref<64xf32> to memref<16xf32, strided<[1], offset: ?>>
    %t = memref.subview %b[%i] [16] [1] : memref<64xf32> to memref<16xf32, strided<[1], offset: ?>>
    linalg.copy ins(%s : memref<16xf32, strided<[1], offset: ?>>) outs(%t : memref<16xf32, strided<[1], offset: ?>>)
  }
  return
}
func.func @calls(%a: memref<64xf32>, %b: memref<64xf32>) {
  %one = arith.constant 1.0 : f32
  scf.forall (%i) = (0) to (64) step (16) {
    %s = memref.subview %a[%i] [16] [1] : memref<64xf32> to memref<16xf32, strided<[1], offset: ?>>
    linalg.fill ins(%one : f32) outs(%s : memref<16xf32, strided<[1], offset: ?>>)
  }
  call @helper(%a, %b) : (memref<64xf32>, memref<64xf32>) -> ()
  scf.forall (%i) = (0) to (64) step (16) {
    %s = memref.subview %b[%i] [16] [1] : memref<64xf32> to memref<16xf32, strided<[1], offset: ?>>
    linalg.fill ins(%one : f32) outs(%s : memref<16xf32, strided<[1], offset: ?>>)
  }
  return
}

// -----

// A loop with a dynamic bound, or whose body holds work the weights do not
// see (an scf.for), is no member; small ops alone are not merged (they
// would pay a launch they do not pay now).

// CHECK-LABEL: func.func @not_members
// CHECK-NOT:     call @not_members_tasks
// CHECK:         scf.forall
// CHECK:         scf.forall
// CHECK:         linalg.fill
// CHECK:         linalg.fill
// CHECK-NOT:     call @not_members_tasks
func.func @not_members(%a: memref<64xf32>, %b: memref<64xf32>, %c: memref<4xf32>, %d: memref<4xf32>, %n: index) {
  %one = arith.constant 1.0 : f32
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  scf.forall (%i) = (0) to (%n) step (16) {
    %s = memref.subview %a[%i] [16] [1] : memref<64xf32> to memref<16xf32, strided<[1], offset: ?>>
    linalg.fill ins(%one : f32) outs(%s : memref<16xf32, strided<[1], offset: ?>>)
  }
  scf.forall (%i) = (0) to (64) step (16) {
    scf.for %j = %c0 to %c16 step %c1 {
      %k = arith.addi %i, %j : index
      memref.store %one, %b[%k] : memref<64xf32>
    }
  }
  linalg.fill ins(%one : f32) outs(%c : memref<4xf32>)
  linalg.fill ins(%one : f32) outs(%d : memref<4xf32>)
  return
}

// -----

// A load in a generic's body is an access too (linalg reports only its
// operands): the gather reads %a, which the first loop writes, so it runs
// after the launch of both loops.

// CHECK-LABEL: func.func @body_loads
// CHECK:         call @body_loads_tasks_0(
// CHECK-NEXT:    linalg.generic
// CHECK:           memref.load %arg0
// REMARK: remark: threads: 2 parallel loops and 0 single-task ops merged into one launch of 128 iterations (body_loads_tasks_0)
#id1 = affine_map<(d0) -> (d0)>
func.func @body_loads(%a: memref<64xf32>, %b: memref<64xf32>, %idx: memref<4xindex>, %out: memref<4xf32>) {
  %one = arith.constant 1.0 : f32
  scf.forall (%i) = (0) to (64) step (16) {
    %s = memref.subview %a[%i] [16] [1] : memref<64xf32> to memref<16xf32, strided<[1], offset: ?>>
    linalg.fill ins(%one : f32) outs(%s : memref<16xf32, strided<[1], offset: ?>>)
  }
  linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]}
      ins(%idx : memref<4xindex>) outs(%out : memref<4xf32>) {
  ^bb0(%j: index, %o: f32):
    %v = memref.load %a[%j] : memref<64xf32>
    linalg.yield %v : f32
  }
  scf.forall (%i) = (0) to (64) step (16) {
    %s = memref.subview %b[%i] [16] [1] : memref<64xf32> to memref<16xf32, strided<[1], offset: ?>>
    linalg.fill ins(%one : f32) outs(%s : memref<16xf32, strided<[1], offset: ?>>)
  }
  return
}
