// RUN: kiln-opt %s --kiln-cuda-emulate-on-cpu --split-input-file --verify-diagnostics | FileCheck %s

// A kernel without barriers: blocks, then threads, the body once each.
// CHECK-LABEL: func.func @plain
// CHECK:         scf.for %[[B:.+]] = %{{.+}} to %{{.+}} step
// CHECK:           scf.for %[[T:.+]] = %{{.+}} to %{{.+}} step
// CHECK:             memref.store %{{.+}}, %arg0[%[[T]]]
// CHECK-NOT:     gpu.launch
func.func @plain(%y: memref<64xf32>) {
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c32 = arith.constant 32 : index
  %one = arith.constant 1.0 : f32
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c2, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    memref.store %one, %y[%tx] : memref<64xf32>
    gpu.terminator
  }
  return
}

// -----

// Two barriers: three phases, each a loop over all threads of the block
// before the next starts; the shared buffer is one host buffer before the
// blocks' loop; the id math of the first phase is recomputed in the last.
// Every access first reports itself to the race check: its address, a
// write, shared memory, the block, the thread, the phase (the block's
// count of phases so far).
// CHECK-LABEL: func.func @phases
// CHECK:         %[[SH:.+]] = memref.alloca() : memref<32xf32>
// CHECK:         call @kiln_emu_race_begin(%{{.+}}) : (i64) -> ()
// CHECK:         scf.for %[[B:.+]] = %{{.+}} to %{{.+}} step
// CHECK:           %[[P0:.+]] = memref.load %{{.+}}[] : memref<i64>
// CHECK-NEXT:      scf.for %[[T1:.+]] = %{{.+}} to %{{.+}} step
// CHECK-DAG:         %[[W:.+]] = arith.constant 1 : i32
// CHECK-DAG:         %[[S:.+]] = arith.constant 1 : i32
// CHECK-DAG:         %[[BI:.+]] = arith.index_cast %[[B]] : index to i64
// CHECK-DAG:         %[[TI:.+]] = arith.index_cast %[[T1]] : index to i64
// CHECK:             func.call @kiln_emu_race_access(%{{.+}}, %[[W]], %[[S]], %[[BI]], %[[TI]], %[[P0]])
// CHECK-NEXT:        memref.store %{{.+}}, %[[SH]][%[[T1]]] : memref<32xf32>
// CHECK:           }
// CHECK:           scf.for %[[T2:.+]] = %{{.+}} to %{{.+}} step
// CHECK:             memref.load %[[SH]]
// CHECK:             memref.store %{{.+}}, %[[SH]][%[[T2]]] : memref<32xf32>
// CHECK:           }
// CHECK:           %[[P2:.+]] = memref.load %{{.+}}[] : memref<i64>
// CHECK-NEXT:      scf.for %[[T3:.+]] = %{{.+}} to %{{.+}} step
// CHECK:             %[[I:.+]] = arith.addi %[[B]], %[[T3]] : index
// CHECK:             func.call @kiln_emu_race_access({{.+}}, %[[P2]])
// CHECK-NEXT:        memref.store %{{.+}}, %arg0[%[[I]]]
// CHECK:         call @kiln_emu_race_end() : () -> ()
// CHECK-NOT:     gpu.barrier
func.func @phases(%y: memref<64xf32>) {
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c32 = arith.constant 32 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c2, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1)
             workgroup(%sh : memref<32xf32, #gpu.address_space<workgroup>>) {
    %i = arith.addi %bx, %tx : index
    %f = arith.index_cast %i : index to i32
    %v = arith.sitofp %f : i32 to f32
    memref.store %v, %sh[%tx] : memref<32xf32, #gpu.address_space<workgroup>>
    gpu.barrier
    %c31 = arith.constant 31 : index
    %j = arith.subi %c31, %tx : index
    %w = memref.load %sh[%j] : memref<32xf32, #gpu.address_space<workgroup>>
    memref.store %w, %sh[%tx] : memref<32xf32, #gpu.address_space<workgroup>>
    gpu.barrier
    %r = memref.load %sh[%tx] : memref<32xf32, #gpu.address_space<workgroup>>
    memref.store %r, %y[%i] : memref<64xf32>
    gpu.terminator
  }
  return
}

// -----

func.func @crossing(%y: memref<64xf32>) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    // expected-error @+1 {{kiln-cuda-emulate-on-cpu: a value computed by an op with effects is used after a barrier}}
    %v = memref.load %y[%tx] : memref<64xf32>
    gpu.barrier
    memref.store %v, %y[%tx] : memref<64xf32>
    gpu.terminator
  }
  return
}

// -----

func.func @nested(%y: memref<64xf32>, %p: i1) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  // expected-error @+1 {{kiln-cuda-emulate-on-cpu: a barrier inside control flow}}
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    scf.if %p {
      gpu.barrier
    }
    gpu.terminator
  }
  return
}

// -----

// A barrier loop (a top-level scf.for with a barrier in its body, bounds
// the same for every thread): a loop of the block around its two phases,
// each a loop over the threads; the phase count goes on across iterations.
// CHECK-LABEL: func.func @time_steps
// CHECK:         scf.for %[[B:.+]] = %{{.+}} to %{{.+}} step
// CHECK:           scf.for %[[T0:.+]] = %{{.+}} to %{{.+}} step
// CHECK:             memref.store %{{.+}}, %arg0[%[[T0]]]
// CHECK:           scf.for %[[S:.+]] = %{{.+}} to %{{.+}} step
// CHECK:             memref.load %{{.+}}[] : memref<i64>
// CHECK:             scf.for %[[T1:.+]] = %{{.+}} to %{{.+}} step
// CHECK:               %[[R:.+]] = memref.load %arg0[%{{.+}}] : memref<32xf32>
// CHECK:             scf.for %[[T2:.+]] = %{{.+}} to %{{.+}} step
// CHECK:               memref.store %{{.+}}, %arg0[%[[T2]]] : memref<32xf32>
// CHECK-NOT:     gpu.barrier
func.func @time_steps(%y: memref<32xf32>, %tmp: memref<32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c32 = arith.constant 32 : index
  %one = arith.constant 1.0 : f32
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    memref.store %one, %y[%tx] : memref<32xf32>
    gpu.barrier
    scf.for %s = %c0 to %c4 step %c1 {
      %c31 = arith.constant 31 : index
      %j = arith.subi %c31, %tx : index
      %v = memref.load %y[%j] : memref<32xf32>
      memref.store %v, %tmp[%tx] : memref<32xf32>
      gpu.barrier
      %w = memref.load %tmp[%tx] : memref<32xf32>
      %x = arith.addf %w, %one : f32
      memref.store %x, %y[%tx] : memref<32xf32>
      gpu.barrier
    }
    gpu.terminator
  }
  return
}

// -----

func.func @thread_bound(%y: memref<32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  // expected-error @+1 {{kiln-cuda-emulate-on-cpu: a value as the bound of a loop with a barrier depends on the thread}}
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    scf.for %s = %c0 to %tx step %c1 {
      gpu.barrier
    }
    gpu.terminator
  }
  return
}
