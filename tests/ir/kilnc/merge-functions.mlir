// RUN: kilnc %S/../Inputs/tiny_lstm.json --emit=llvm --mode=inference | FileCheck %s

// An LSTM unrolled over its 6 steps outlines the same parallel loops once
// per step. LLVM's MergeFunctions runs before the optimization pipeline
// (codegen/cpu/MachineCode.cpp), and the task thunks are unnamed_addr
// (LaunchParallel.cpp), so one thunk is left, defined once, and every step
// launches it instead of a copy optimized and compiled again.
// CHECK: define internal void @tiny_lstm__forward_tasks_[[T:[0-9]+]]_thunk({{.+}}) unnamed_addr
// CHECK-NOT: define internal void @tiny_lstm__forward_tasks_
// CHECK: call void @kiln_parallel_for(i64 {{[0-9]+}}, ptr nonnull @tiny_lstm__forward_tasks_[[T]]_thunk,
// CHECK: call void @kiln_parallel_for(i64 {{[0-9]+}}, ptr nonnull @tiny_lstm__forward_tasks_[[T]]_thunk,
// CHECK: call void @kiln_parallel_for(i64 {{[0-9]+}}, ptr nonnull @tiny_lstm__forward_tasks_[[T]]_thunk,
