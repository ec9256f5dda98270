// RUN: kiln-opt %s --kiln-cpu-plan-memory=report=true --split-input-file -verify-diagnostics -o /dev/null

// kilnc --memory-report: the kernel's totals, its peak at the op where the
// most bytes are live (here %b's alloc: %a and %b, 256 + 64 bytes), and its
// largest buffers at the ops that produced them, largest first. %a and %c
// share bytes, so the workspace (320) is less than the sum (448).

// expected-remark @+1 {{memory plan of 'kernel': workspace 320 bytes for 3 buffers (448 bytes if none shared); peak 320 bytes live at once}}
func.func @kernel(%in: memref<64xf32>, %out: memref<64xf32>) {
  // expected-remark @+1 {{buffer of 'kernel': 256 bytes ('memref<64xf32>') at workspace offset 0, live over ops 0 to 4}}
  %a = memref.alloc() {alignment = 64 : i64} : memref<64xf32>
  // expected-remark @+2 {{peak of 'kernel': 320 bytes live at this 'memref.alloc' (op 1 of 14)}}
  // expected-remark @+1 {{buffer of 'kernel': 64 bytes ('memref<16xf32>') at workspace offset 256, live over ops 1 to 7}}
  %b = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
  memref.copy %in, %a : memref<64xf32> to memref<64xf32>
  %sa = memref.subview %a[0] [16] [1] : memref<64xf32> to memref<16xf32, strided<[1]>>
  memref.copy %sa, %b : memref<16xf32, strided<[1]>> to memref<16xf32>
  // expected-remark @+1 {{buffer of 'kernel': 128 bytes ('memref<32xf32>') at workspace offset 0, live over ops 5 to 9}}
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

// A kernel without temporaries still reports its (empty) plan.
// expected-remark @+1 {{memory plan of 'empty': workspace 0 bytes for 0 buffers (0 bytes if none shared); peak 0 bytes live at once}}
func.func @empty(%out: memref<4xf32>) {
  return
}
