// RUN: kiln-opt %s --kiln-cpu-plan-memory --split-input-file | FileCheck %s

// %a dies at its last use (through a view) before %c is allocated, so they
// share offset 0; %b lives across both and sits above the larger of them.
// Sizes: a 64 x 4 = 256 B, b 16 x 4 = 64 B, c 32 x 4 = 128 B.

// CHECK-LABEL: func.func @kernel
// CHECK-SAME:      (%[[IN:.+]]: memref<64xf32>, %[[OUT:.+]]: memref<64xf32>, %[[WS:.+]]: memref<320xi8>)
// CHECK-SAME:      attributes {kiln.workspace_bytes = 320 : i64}
// CHECK:         %[[A:.+]] = memref.view %[[WS]][%c0{{.*}}][] : memref<320xi8> to memref<64xf32>
// CHECK:         %[[B:.+]] = memref.view %[[WS]][%c256{{.*}}][] : memref<320xi8> to memref<16xf32>
// CHECK:         memref.copy %[[IN]], %[[A]]
// CHECK:         memref.subview %[[A]]
// CHECK:         %[[C:.+]] = memref.view %[[WS]][%c0{{.*}}][] : memref<320xi8> to memref<32xf32>
// CHECK-NOT:     memref.alloc
// CHECK-NOT:     memref.dealloc
// CHECK:         return
func.func @kernel(%in: memref<64xf32>, %out: memref<64xf32>) {
  %a = memref.alloc() {alignment = 64 : i64} : memref<64xf32>
  %b = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
  memref.copy %in, %a : memref<64xf32> to memref<64xf32>
  %sa = memref.subview %a[0] [16] [1] : memref<64xf32> to memref<16xf32, strided<[1]>>
  memref.copy %sa, %b : memref<16xf32, strided<[1]>> to memref<16xf32>
  %c = memref.alloc() {alignment = 64 : i64} : memref<32xf32>
  %sc = memref.subview %c[0] [16] [1] : memref<32xf32> to memref<16xf32, strided<[1]>>
  memref.copy %b, %sc : memref<16xf32> to memref<16xf32, strided<[1]>>
  %so = memref.subview %out[0] [32] [1] : memref<64xf32> to memref<32xf32, strided<[1]>>
  memref.copy %c, %so : memref<32xf32> to memref<32xf32, strided<[1]>>
  memref.dealloc %a : memref<64xf32>
  memref.dealloc %b : memref<16xf32>
  memref.dealloc %c : memref<32xf32>
  return
}

// -----

// A use inside a loop keeps the buffer alive for the whole loop: %t is used
// in every iteration, so %u (allocated before the loop ends) cannot share.

// CHECK-LABEL: func.func @loop
// CHECK-SAME:      %{{.+}}: memref<128xi8>
// CHECK:         memref.view %{{.+}}[%c0{{.*}}][] : memref<128xi8> to memref<16xf32>
// CHECK:         memref.view %{{.+}}[%c64{{.*}}][] : memref<128xi8> to memref<16xf32>
func.func @loop(%out: memref<16xf32>) {
  %c0 = arith.constant 0 : index
  %c4 = arith.constant 4 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %t = memref.alloc() : memref<16xf32>
  %u = memref.alloc() : memref<16xf32>
  scf.for %i = %c0 to %c4 step %c1 {
    memref.store %zero, %u[%i] : memref<16xf32>
    memref.store %zero, %t[%i] : memref<16xf32>
  }
  memref.copy %u, %out : memref<16xf32> to memref<16xf32>
  memref.dealloc %t : memref<16xf32>
  memref.dealloc %u : memref<16xf32>
  return
}

// -----

// Left on the heap: a returned buffer (it escapes), an allocation inside a
// loop (one per iteration), a dynamic shape; and a function that is called
// inside the module (adding an argument would break the call).

// CHECK-LABEL: func.func @escapes
// CHECK-SAME:      (%{{[^,]+}}: index, %{{.+}}: memref<0xi8>) -> memref<8xf32>
// CHECK:         memref.alloc() : memref<8xf32>
// CHECK:         scf.for
// CHECK:           memref.alloc() : memref<4xf32>
// CHECK:         memref.alloc(%{{.+}}) : memref<?xf32>
func.func @escapes(%n: index) -> memref<8xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %r = memref.alloc() : memref<8xf32>
  scf.for %i = %c0 to %n step %c1 {
    %tmp = memref.alloc() : memref<4xf32>
    memref.dealloc %tmp : memref<4xf32>
  }
  %d = memref.alloc(%n) : memref<?xf32>
  memref.dealloc %d : memref<?xf32>
  return %r : memref<8xf32>
}

// CHECK-LABEL: func.func @callee()
// CHECK:         memref.alloc() : memref<8xf32>
func.func @callee() {
  %t = memref.alloc() : memref<8xf32>
  memref.dealloc %t : memref<8xf32>
  return
}
func.func @caller() {
  call @callee() : () -> ()
  return
}

// -----

// A kernel without temporaries still takes the workspace argument the model
// interface lists, with 0 bytes (a ReLU-only model's forward).
// CHECK-LABEL: func.func @no_temporaries
// CHECK-SAME: (%{{.+}}: memref<4xf32>, %{{.+}}: memref<4xf32>, %{{.+}}: memref<0xi8>)
// CHECK-SAME: kiln.workspace_bytes = 0 : i64
func.func @no_temporaries(%x: memref<4xf32>, %y: memref<4xf32>) {
  memref.copy %x, %y : memref<4xf32> to memref<4xf32>
  return
}

// -----

// A scalar loaded at the top level keeps its buffer until the value's last
// use (through the pure division): the CUDA target loads it there, inside
// that use's kernel. So %count, written between the load and the
// division, gets bytes of its own (a cross entropy's mean: the loss sum,
// then the count of counted targets, then the quotient).

// CHECK-LABEL: func.func @scalar_read_late
// CHECK-SAME:      %{{.+}}: memref<128xi8>
// CHECK:         memref.view %{{.+}}[%c0{{.*}}][] : memref<128xi8> to memref<f32>
// CHECK:         memref.view %{{.+}}[%c64{{.*}}][] : memref<128xi8> to memref<f32>
func.func @scalar_read_late(%x: memref<4xf32>, %out: memref<f32>) {
  %c0 = arith.constant 0 : index
  %one = arith.constant 1.0 : f32
  %sum = memref.alloc() : memref<f32>
  %e = memref.load %x[%c0] : memref<4xf32>
  memref.store %e, %sum[] : memref<f32>
  %s = memref.load %sum[] : memref<f32>
  %count = memref.alloc() : memref<f32>
  memref.store %one, %count[] : memref<f32>
  %n = memref.load %count[] : memref<f32>
  %mean = arith.divf %s, %n : f32
  memref.store %mean, %out[] : memref<f32>
  memref.dealloc %sum : memref<f32>
  memref.dealloc %count : memref<f32>
  return
}
