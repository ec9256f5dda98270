// RUN: kiln-opt %s --kiln-cpu-approximate-math --split-input-file | FileCheck %s

// f32 exp, scalar and vector, becomes the polynomial (range reduction by
// ln 2, fma chain, exponent by bit arithmetic): no call that would keep a
// loop scalar.
// CHECK-LABEL: func.func @exp_f32
// CHECK-NOT: math.exp
// CHECK: math.floor %{{.+}} : f32
// CHECK: math.fma
// CHECK: arith.shli %{{.+}} : i32
// CHECK: arith.bitcast %{{.+}} : i32 to f32
// CHECK-NOT: math.exp
// CHECK: math.floor %{{.+}} : vector<16xf32>
// CHECK: arith.bitcast %{{.+}} : vector<16xi32> to vector<16xf32>
// CHECK-NOT: math.exp
// CHECK: return
func.func @exp_f32(%x: f32, %v: vector<16xf32>) -> (f32, vector<16xf32>) {
  %y = math.exp %x : f32
  %w = math.exp %v : vector<16xf32>
  return %y, %w : f32, vector<16xf32>
}

// -----

// f32 tanh, scalar and vector, becomes the rational approximation (clamp,
// odd numerator over even denominator, x itself where |x| < 0.0004): no
// tanhf call.
// CHECK-LABEL: func.func @tanh_f32
// CHECK-NOT: math.tanh
// CHECK: arith.constant 4.000000e-04 : f32
// CHECK: arith.divf %{{.+}} : f32
// CHECK-NOT: math.tanh
// CHECK: arith.divf %{{.+}} : vector<16xf32>
// CHECK-NOT: math.tanh
// CHECK: return
func.func @tanh_f32(%x: f32, %v: vector<16xf32>) -> (f32, vector<16xf32>) {
  %y = math.tanh %x : f32
  %w = math.tanh %v : vector<16xf32>
  return %y, %w : f32, vector<16xf32>
}

// -----

// Only f32 exp and tanh: f64 ones and the other math ops keep their
// lowering (libm or LLVM intrinsics), and so do the fma and floor the
// expansion makes.
// CHECK-LABEL: func.func @others_unchanged
// CHECK-SAME: (%[[D:.+]]: f64, %[[X:.+]]: f32)
// CHECK: math.exp %[[D]] : f64
// CHECK: math.tanh %[[D]] : f64
// CHECK: math.log %[[X]] : f32
// CHECK: math.erf %[[X]] : f32
// CHECK: math.fma %[[X]], %[[X]], %[[X]] : f32
func.func @others_unchanged(%d: f64, %x: f32) -> (f64, f64, f32, f32, f32) {
  %0 = math.exp %d : f64
  %1 = math.tanh %d : f64
  %2 = math.log %x : f32
  %3 = math.erf %x : f32
  %4 = math.fma %x, %x, %x : f32
  return %0, %1, %2, %3, %4 : f64, f64, f32, f32, f32
}
