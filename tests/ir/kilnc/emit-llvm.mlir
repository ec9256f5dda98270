// RUN: kilnc %S/../Inputs/tiny_mlp.json --emit=llvm | FileCheck %s
// RUN: kilnc %S/../Inputs/tiny_mlp.json --emit=llvm --mode=inference | FileCheck %s --check-prefix=INFER

// --emit=llvm: the exported kiln_model_metadata constant (version 14, 160
// bytes, CPU, 18 tensors, 5 kernels, lr 0.1 as a double, no flags) and the packed
// entry points it points to. The per-model C API is in the header only.
// CHECK-DAG: @tiny_mlp__metadata = local_unnamed_addr constant { i32, i32, ptr, i32, i32, ptr, i32, ptr, double, i64, i32, [6 x double], ptr, i64, i32, ptr, i32 } { i32 15, i32 160, ptr @{{[^,]+}}, i32 0, i32 18, ptr @tiny_mlp__metadata.tensors, i32 5, ptr @tiny_mlp__metadata.kernels, double 1.000000e-01, i64 {{[0-9]+}}, i32 0, [6 x double] zeroinitializer, ptr null, i64 0, i32 0, ptr null, i32 0 }
// CHECK-DAG: @tiny_mlp__metadata.kernels = private unnamed_addr constant [5 x { i32, i32, ptr, i32, ptr, i64 }] [{ i32, i32, ptr, i32, ptr, i64 } { i32 0, i32 0, ptr @tiny_mlp__forward_packed, i32 7, ptr @{{[^ ]+}}, i64 0 }, { i32, i32, ptr, i32, ptr, i64 } { i32 1, i32 0, ptr @tiny_mlp__gradients_packed, i32 12, ptr @{{[^ ]+}}, i64 0 }, { i32, i32, ptr, i32, ptr, i64 } { i32 2, i32 0, ptr @tiny_mlp__train_step_packed, i32 18,
// train_step updates the 4 parameters, their 4 momentum buffers and the
// step in place (kind 5, KILN_ARG_TENSOR_UPDATE: 18 arguments with the 4
// gradients it writes, not 27):
// CHECK-DAG: [18 x { i32, i32 }] [{ i32, i32 } { i32 5, i32 0 }, { i32, i32 } { i32 5, i32 1 }, { i32, i32 } { i32 5, i32 2 }, { i32, i32 } { i32 5, i32 3 }, { i32, i32 } { i32 5, i32 6 },
// CHECK-DAG: c"0.weight.momentum_buffer\00"
// The target's class-index range (kiln_index_range: checked, has_ignore,
// [0, 3), ignore -100); every other tensor's is zero.
// CHECK-DAG: i32 1, i32 4, i32 1, ptr @{{[^,]+}}, { i32, [2 x double] } zeroinitializer, { i32, i32, i64, i64, i64 } { i32 1, i32 1, i64 0, i64 3, i64 -100 } }
// CHECK-DAG: define internal void @tiny_mlp__forward_packed(ptr
// CHECK-DAG: define internal void @tiny_mlp__gradients_packed(ptr
// CHECK-DAG: define internal void @tiny_mlp__train_step_packed(ptr
// CHECK-DAG: define internal void @tiny_mlp__accumulate_packed(ptr
// CHECK-DAG: define internal void @tiny_mlp__apply_packed(ptr
// CHECK-NOT: define {{.*}} @tiny_mlp_create

// INFER: @tiny_mlp__metadata = local_unnamed_addr constant {{.+}} { i32 15, i32 160, ptr @{{[^,]+}}, i32 0, i32 6, ptr @tiny_mlp__metadata.tensors, i32 1, ptr @tiny_mlp__metadata.kernels, double 0.000000e+00, i64 {{[0-9]+}}, i32 0, [6 x double] zeroinitializer, ptr null, i64 0, i32 0, ptr null, i32 0 }
// INFER-NOT: momentum_buffer
// INFER: define internal void @tiny_mlp__forward_packed(ptr
