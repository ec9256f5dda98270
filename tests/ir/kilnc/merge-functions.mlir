// RUN: kilnc %S/../Inputs/tiny_lstm.json --emit=llvm --mode=inference | FileCheck %s

// An LSTM unrolled over its 6 steps outlines the same parallel loops once
// per step. LLVM's MergeFunctions runs before the optimization pipeline
// (codegen/cpu/MachineCode.cpp), so every later step's task body is a tail
// call of the first one's instead of a copy optimized and compiled again.
// CHECK: define internal void @tiny_lstm__forward_tasks_[[FIRST:[0-9]+]]_thunk(
// CHECK: define internal void @tiny_lstm__forward_tasks_{{[0-9]+}}_thunk(
// CHECK-NEXT: tail call void @tiny_lstm__forward_tasks_[[FIRST]]_thunk(
// CHECK-NEXT: ret void
