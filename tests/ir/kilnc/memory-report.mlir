// RUN: kilnc %S/../Inputs/tiny_mlp.json -o %t.o --memory-report 2> %t.err
// RUN: FileCheck %s < %t.err
// RUN: FileCheck %s --check-prefix=HEADER < %t.h

// kilnc --memory-report: each kernel's workspace plan as remarks at the
// model file's JSON paths (its peak, its largest buffers), then what one
// instance allocates by part; the total is the header's _ARENA_BYTES (the
// parity driver checks every model's against kiln_model_arena_bytes).
// Parameters, state and grad sums have one copy each: every kernel that
// writes them updates them in place (tiny_mlp has no value checks).
// CHECK: tiny_mlp.json: forward: remark: memory plan of 'tiny_mlp__forward': workspace 256 bytes for 1 buffers (256 bytes if none shared); peak 256 bytes live at once
// CHECK: tiny_mlp.json: graph[0]: remark: peak of 'tiny_mlp__forward': 256 bytes live at this 'memref.alloc'
// CHECK: tiny_mlp.json: graph[0]: remark: buffer of 'tiny_mlp__forward': 256 bytes ('memref<4x16xf32>') at workspace offset 0
// CHECK: remark: memory plan of 'tiny_mlp__train_step': workspace 1216 bytes for 12 buffers (940 bytes if none shared); peak 920 bytes live at once
// CHECK: tiny_mlp.json: training.loss: remark: peak of 'tiny_mlp__train_step'
// CHECK: memory of one 'tiny_mlp' instance (tiny_mlp_create, kiln/arena.h):
// CHECK-NEXT:   parameter               832 bytes
// CHECK-NEXT:   state                   832 bytes
// CHECK:        gradients               832 bytes
// CHECK-NEXT:   workspace              1216 bytes
// CHECK-NEXT:   total                  4736 bytes (TINY_MLP_ARENA_BYTES)

// HEADER: #define TINY_MLP_ARENA_BYTES 4736ull
