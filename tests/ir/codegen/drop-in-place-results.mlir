// RUN: kiln-opt %s --kiln-drop-in-place-results --split-input-file --verify-diagnostics | FileCheck %s

// After bufferization the marked result must be the argument's own buffer;
// anything else would make the kernel's signature differ from the
// metadata's, so it is an error, not a dropped result.
// expected-error @+1 {{result 0 (marked kiln.in_place = 0) is not returned as that argument's buffer after bufferization}}
func.func @copied(%w: memref<4xf32>) -> (memref<4xf32> {kiln.in_place = 0 : i64}) {
  %a = memref.alloc() : memref<4xf32>
  memref.copy %w, %a : memref<4xf32> to memref<4xf32>
  return %a : memref<4xf32>
}

// -----

// The argument itself (here through a cast) is dropped; the other result stays.
// CHECK-LABEL: func.func @dropped
// CHECK-SAME:    (%{{.+}}: memref<4xf32>, %[[X:.+]]: memref<2xf32>) -> memref<2xf32>
// CHECK:         return %[[X]] : memref<2xf32>
func.func @dropped(%w: memref<4xf32>, %x: memref<2xf32>) -> (memref<2xf32>, memref<4xf32> {kiln.in_place = 0 : i64}) {
  %c = memref.cast %w : memref<4xf32> to memref<4xf32>
  return %x, %c : memref<2xf32>, memref<4xf32>
}
