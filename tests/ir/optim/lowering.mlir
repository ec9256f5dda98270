// RUN: kiln-opt %s --nn-lower-to-linalg --split-input-file -verify-diagnostics | FileCheck %s

// Adam: the bias corrections 1 - beta^t (t = step + 1) are computed once,
// in f64, outside the loop, and rounded to f32 where torch hands a Python
// float to a float32 kernel; one elementwise generic updates the parameter
// and both moments: m = m * 0.9 + 0.1 * g, v = v * 0.999 + (0.001 * g) * g,
// p = p + (-step_size * m) / (sqrt(v) / sqrt(bc2) + eps).
// CHECK-LABEL: func.func @adam
// CHECK: %[[STEP:.+]] = arith.sitofp %{{.+}} : i64 to f64
// CHECK: math.powf %{{.+}}, %{{.+}} : f64
// CHECK: %[[NEGSTEP:.+]] = arith.truncf %{{.+}} : f64 to f32
// CHECK: math.sqrt %{{.+}} : f64
// CHECK: %[[BC2:.+]] = arith.truncf %{{.+}} : f64 to f32
// CHECK: linalg.generic {{.+}} ins(%arg0, %arg1, %arg2, %arg3 : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) outs(%{{.+}}, %{{.+}}, %{{.+}} : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
// CHECK: ^bb0(%[[P:[a-z0-9_]+]]: f32, %[[G:[a-z0-9_]+]]: f32, %[[M:[a-z0-9_]+]]: f32, %[[V:[a-z0-9_]+]]: f32,
// CHECK: %[[M1:.+]] = arith.mulf %[[M]], %{{.+}} : f32
// CHECK: %[[M2:.+]] = arith.mulf %{{.+}}, %[[G]] : f32
// CHECK: %[[NM:.+]] = arith.addf %[[M1]], %[[M2]] : f32
// CHECK: %[[SQ:.+]] = math.sqrt %{{.+}} : f32
// CHECK: %[[D:.+]] = arith.divf %[[SQ]], %[[BC2]] : f32
// CHECK: %[[DEN:.+]] = arith.addf %[[D]], %{{.+}} : f32
// CHECK: %[[NUM:.+]] = arith.mulf %[[NEGSTEP]], %[[NM]] : f32
// CHECK: %[[UP:.+]] = arith.divf %[[NUM]], %[[DEN]] : f32
// CHECK: %[[NP:.+]] = arith.addf %[[P]], %[[UP]] : f32
// CHECK: linalg.yield %[[NP]], %[[NM]], %{{.+}} : f32, f32, f32
func.func @adam(%p: tensor<4xf32>, %g: tensor<4xf32>, %m: tensor<4xf32>, %v: tensor<4xf32>, %lr: tensor<f32>, %step: tensor<i64>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %0:3 = nn.optimizer_update %p, %g, states(%m, %v), lr %lr, step %step {optimizer = "Adam", hyper = {amsgrad = false, betas = [0.9, 0.999], eps = 1.0e-8 : f64, weight_decay = 0.0 : f64, maximize = false}} : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<f32>, tensor<i64>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
  return %0#0, %0#1, %0#2 : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}

// -----

// Adagrad's first step reads initial_accumulator_value instead of the
// (zero) state: a select on step == 0 inside the loop.
// CHECK-LABEL: func.func @adagrad
// CHECK: %[[FIRST:.+]] = arith.cmpi eq, %{{.+}}, %{{.+}} : i64
// CHECK: linalg.generic
// CHECK: arith.select %[[FIRST]], %{{.+}}, %{{.+}} : f32
func.func @adagrad(%p: tensor<4xf32>, %g: tensor<4xf32>, %s: tensor<4xf32>, %lr: tensor<f32>, %step: tensor<i64>) -> (tensor<4xf32>, tensor<4xf32>) {
  %0:2 = nn.optimizer_update %p, %g, states(%s), lr %lr, step %step {optimizer = "Adagrad", hyper = {initial_accumulator_value = 0.5 : f64}} : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<f32>, tensor<i64>) -> (tensor<4xf32>, tensor<4xf32>)
  return %0#0, %0#1 : tensor<4xf32>, tensor<4xf32>
}

// -----

// NAdam: mu_product (a float32 scalar state, after the tensor states) is
// read before the loop, multiplied by this step's mu rounded to f32 and
// returned as a 0-d tensor; the loop body makes two addcdiv_ updates with
// the same denominator.
// CHECK-LABEL: func.func @nadam
// CHECK: %[[OLD:.+]] = tensor.extract %arg4[] : tensor<f32>
// CHECK: math.powf %{{.+}}, %{{.+}} : f64
// CHECK: %[[PROD:.+]] = arith.mulf %[[OLD]], %{{.+}} : f32
// CHECK: linalg.generic
// CHECK: %[[SQ:.+]] = math.sqrt %{{.+}} : f32
// CHECK: %[[DEN:.+]] = arith.addf %[[SQ]], %{{.+}} : f32
// CHECK: arith.divf %{{.+}}, %[[DEN]] : f32
// CHECK: arith.divf %{{.+}}, %[[DEN]] : f32
// CHECK: linalg.yield
// CHECK: %[[NEW:.+]] = tensor.from_elements %[[PROD]] : tensor<f32>
// CHECK: return %{{.+}}, %{{.+}}, %{{.+}}, %[[NEW]]
func.func @nadam(%p: tensor<4xf32>, %g: tensor<4xf32>, %m: tensor<4xf32>, %v: tensor<4xf32>, %mu: tensor<f32>, %lr: tensor<f32>, %step: tensor<i64>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<f32>) {
  %0:4 = nn.optimizer_update %p, %g, states(%m, %v, %mu), lr %lr, step %step {optimizer = "NAdam", hyper = {betas = [0.9, 0.999], eps = 1.0e-8 : f64, weight_decay = 0.0 : f64, momentum_decay = 4.0e-3 : f64}} : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<f32>, tensor<f32>, tensor<i64>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<f32>)
  return %0#0, %0#1, %0#2, %0#3 : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<f32>
}

// -----

func.func @nadam_missing_scalar_state(%p: tensor<4xf32>, %g: tensor<4xf32>, %m: tensor<4xf32>, %v: tensor<4xf32>, %lr: tensor<f32>, %step: tensor<i64>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  // expected-error @+2 {{'nn.optimizer_update' op NAdam keeps 3 state tensors per parameter, got 2}}
  // expected-error @+1 {{failed to legalize operation 'nn.optimizer_update'}}
  %0:3 = nn.optimizer_update %p, %g, states(%m, %v), lr %lr, step %step {optimizer = "NAdam", hyper = {}} : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<f32>, tensor<i64>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
  return %0#0, %0#1, %0#2 : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}

// -----

func.func @nadam_scalar_state_shape(%p: tensor<4xf32>, %g: tensor<4xf32>, %m: tensor<4xf32>, %v: tensor<4xf32>, %lr: tensor<f32>, %step: tensor<i64>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  // expected-error @+2 {{'nn.optimizer_update' op NAdam state #2 must be a 0-d tensor}}
  // expected-error @+1 {{failed to legalize operation 'nn.optimizer_update'}}
  %0:4 = nn.optimizer_update %p, %g, states(%m, %v, %v), lr %lr, step %step {optimizer = "NAdam", hyper = {}} : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<f32>, tensor<i64>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
  return %0#0, %0#1, %0#2, %0#3 : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}

// -----

func.func @unknown(%p: tensor<4xf32>, %g: tensor<4xf32>, %lr: tensor<f32>, %step: tensor<i64>) -> tensor<4xf32> {
  // expected-error @+2 {{'nn.optimizer_update' op unknown optimizer 'Nope'}}
  // expected-error @+1 {{failed to legalize operation 'nn.optimizer_update'}}
  %0 = nn.optimizer_update %p, %g, states(), lr %lr, step %step {optimizer = "Nope", hyper = {}} : (tensor<4xf32>, tensor<4xf32>, tensor<f32>, tensor<i64>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @wrong_state_count(%p: tensor<4xf32>, %g: tensor<4xf32>, %m: tensor<4xf32>, %lr: tensor<f32>, %step: tensor<i64>) -> (tensor<4xf32>, tensor<4xf32>) {
  // expected-error @+2 {{'nn.optimizer_update' op Adam keeps 2 state tensors per parameter, got 1}}
  // expected-error @+1 {{failed to legalize operation 'nn.optimizer_update'}}
  %0:2 = nn.optimizer_update %p, %g, states(%m), lr %lr, step %step {optimizer = "Adam", hyper = {}} : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<f32>, tensor<i64>) -> (tensor<4xf32>, tensor<4xf32>)
  return %0#0, %0#1 : tensor<4xf32>, tensor<4xf32>
}

// -----

func.func @bad_hyper(%p: tensor<4xf32>, %g: tensor<4xf32>, %m: tensor<4xf32>, %v: tensor<4xf32>, %lr: tensor<f32>, %step: tensor<i64>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  // expected-error @+2 {{'nn.optimizer_update' op Adam: Invalid beta parameter at index 1: 1}}
  // expected-error @+1 {{failed to legalize operation 'nn.optimizer_update'}}
  %0:3 = nn.optimizer_update %p, %g, states(%m, %v), lr %lr, step %step {optimizer = "Adam", hyper = {betas = [0.9, 1.0]}} : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<f32>, tensor<i64>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
  return %0#0, %0#1, %0#2 : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}

// -----

// SparseAdam: one generic over the parameter with `rows` broadcast along
// each row (affine map (d0, d1) -> (d0, 0)); torch's sparse_adam order
// (dm = (g - m) * (1 - beta1), m + dm, ...), and where rows is not > 0 the
// parameter and both moments keep their values.
// CHECK-LABEL: func.func @sparse_adam
// CHECK: linalg.generic {indexing_maps = [#{{.+}}, #{{.+}}, #{{.+}}, #{{.+}}, #[[ROWS:.+]], #{{.+}}, #{{.+}}, #{{.+}}]
// CHECK: ^bb0(%[[P:[^:]+]]: f32, %[[G:[^:]+]]: f32, %[[M:[^:]+]]: f32, %[[V:[^:]+]]: f32, %[[R:[^:]+]]: f32,
// CHECK: %[[D:.+]] = arith.subf %[[G]], %[[M]] : f32
// CHECK: %[[DM:.+]] = arith.mulf %[[D]], %{{.+}} : f32
// CHECK: %[[M2:.+]] = arith.addf %[[M]], %[[DM]] : f32
// CHECK: %[[T:.+]] = arith.cmpf ogt, %[[R]], %{{.+}} : f32
// CHECK: %[[NP:.+]] = arith.select %[[T]], %{{.+}}, %[[P]] : f32
// CHECK: %[[NM:.+]] = arith.select %[[T]], %[[M2]], %[[M]] : f32
// CHECK: %[[NV:.+]] = arith.select %[[T]], %{{.+}}, %[[V]] : f32
// CHECK: linalg.yield %[[NP]], %[[NM]], %[[NV]]
func.func @sparse_adam(%p: tensor<6x3xf32>, %g: tensor<6x3xf32>, %m: tensor<6x3xf32>, %v: tensor<6x3xf32>, %lr: tensor<f32>, %step: tensor<i64>, %rows: tensor<6x1xf32>) -> (tensor<6x3xf32>, tensor<6x3xf32>, tensor<6x3xf32>) {
  %0:3 = nn.optimizer_update %p, %g, states(%m, %v), lr %lr, step %step rows %rows {optimizer = "SparseAdam", hyper = {betas = [0.9, 0.999], eps = 1.0e-8 : f64, maximize = false}} : (tensor<6x3xf32>, tensor<6x3xf32>, tensor<6x3xf32>, tensor<6x3xf32>, tensor<f32>, tensor<i64>, tensor<6x1xf32>) -> (tensor<6x3xf32>, tensor<6x3xf32>, tensor<6x3xf32>)
  return %0#0, %0#1, %0#2 : tensor<6x3xf32>, tensor<6x3xf32>, tensor<6x3xf32>
}

// -----

func.func @sparse_adam_without_rows(%p: tensor<4xf32>, %g: tensor<4xf32>, %m: tensor<4xf32>, %v: tensor<4xf32>, %lr: tensor<f32>, %step: tensor<i64>) -> tensor<4xf32> {
  // expected-error @+2 {{'nn.optimizer_update' op SparseAdam updates the rows of a sparse gradient: it needs `rows`}}
  // expected-error @+1 {{failed to legalize operation 'nn.optimizer_update'}}
  %0:3 = nn.optimizer_update %p, %g, states(%m, %v), lr %lr, step %step {optimizer = "SparseAdam", hyper = {}} : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<f32>, tensor<i64>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
  return %0#0 : tensor<4xf32>
}

// -----

func.func @adam_with_rows(%p: tensor<4xf32>, %g: tensor<4xf32>, %m: tensor<4xf32>, %v: tensor<4xf32>, %lr: tensor<f32>, %step: tensor<i64>, %rows: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+2 {{'nn.optimizer_update' op Adam takes no `rows` (it updates every element)}}
  // expected-error @+1 {{failed to legalize operation 'nn.optimizer_update'}}
  %0:3 = nn.optimizer_update %p, %g, states(%m, %v), lr %lr, step %step rows %rows {optimizer = "Adam", hyper = {}} : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<f32>, tensor<i64>, tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
  return %0#0 : tensor<4xf32>
}
