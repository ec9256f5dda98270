// RUN: kilnc %S/../Inputs/tiny_mlp.json --emit=llvm | FileCheck %s
// RUN: kilnc %S/../Inputs/tiny_mlp.json --emit=llvm --mode=inference | FileCheck %s --check-prefix=INFER

// --emit=llvm: the C API wrappers around the packed entry points, and the
// model descriptor the runtime parses.
// CHECK: @tiny_mlp__descriptor = private constant [{{[0-9]+}} x i8] c"kiln-descriptor 1\0Aname tiny_mlp\0Amode train\0Ainput x f32 2 4 8\0Atarget target i64 1 4\0Aoutput output0 f32 2 4 3\0Aparam 0.weight f32 2 16 8 uniform {{.+}}\0Astate 0.weight.momentum_buffer f32 2 16 8 zeros\0A{{.*}}lr 0.10\0Aworkspace {{[0-9]+}}\0A\00"
// CHECK-DAG: define i32 @tiny_mlp_create(ptr
// CHECK-DAG: define void @tiny_mlp_destroy(ptr
// CHECK-DAG: define ptr @tiny_mlp_last_error(ptr
// CHECK-DAG: define i32 @tiny_mlp_forward(ptr
// CHECK-DAG: define i32 @tiny_mlp_gradients(ptr
// CHECK-DAG: define i32 @tiny_mlp_train_step(ptr
// CHECK-DAG: define i32 @tiny_mlp_set_lr(ptr %{{.+}}, float
// CHECK-DAG: call i32 @kiln_model_create(ptr nonnull @tiny_mlp__descriptor, ptr nonnull @tiny_mlp__forward_packed, ptr nonnull @tiny_mlp__gradients_packed, ptr nonnull @tiny_mlp__train_step_packed

// INFER: c"kiln-descriptor 1\0Aname tiny_mlp\0Amode inference\0A
// INFER-NOT: state 0.weight.momentum_buffer
// INFER: define i32 @tiny_mlp_create(ptr
// INFER: define i32 @tiny_mlp_forward(ptr
