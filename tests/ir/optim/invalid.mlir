// RUN: kiln-opt %s -split-input-file -verify-diagnostics

// Every verifier message of nn.optimizer_update.

func.func @no_name(%p: tensor<5xf32>, %g: tensor<5xf32>, %lr: tensor<f32>, %step: tensor<i64>) {
  // expected-error @+1 {{'nn.optimizer_update' op needs the optimizer's name}}
  %0 = nn.optimizer_update %p, %g, states(), lr %lr, step %step {optimizer = "", hyper = {}} : (tensor<5xf32>, tensor<5xf32>, tensor<f32>, tensor<i64>) -> tensor<5xf32>
  return
}

// -----

func.func @grad_type(%p: tensor<5xf32>, %g: tensor<4xf32>, %lr: tensor<f32>, %step: tensor<i64>) {
  // expected-error @+1 {{'nn.optimizer_update' op grad type 'tensor<4xf32>' differs from param type 'tensor<5xf32>'}}
  %0 = nn.optimizer_update %p, %g, states(), lr %lr, step %step {optimizer = "Adam", hyper = {}} : (tensor<5xf32>, tensor<4xf32>, tensor<f32>, tensor<i64>) -> tensor<5xf32>
  return
}

// -----

func.func @state_type(%p: tensor<5xf32>, %g: tensor<5xf32>, %m: tensor<5x1xf32>, %lr: tensor<f32>, %step: tensor<i64>) {
  // expected-error @+1 {{'nn.optimizer_update' op state #0 has type 'tensor<5x1xf32>', neither the param type 'tensor<5xf32>' nor 'tensor<f32>'}}
  %0:2 = nn.optimizer_update %p, %g, states(%m), lr %lr, step %step {optimizer = "Adagrad", hyper = {}} : (tensor<5xf32>, tensor<5xf32>, tensor<5x1xf32>, tensor<f32>, tensor<i64>) -> (tensor<5xf32>, tensor<5xf32>)
  return
}

// -----

func.func @state_count(%p: tensor<5xf32>, %g: tensor<5xf32>, %m: tensor<5xf32>, %lr: tensor<f32>, %step: tensor<i64>) {
  // expected-error @+1 {{'nn.optimizer_update' op expected one new state per state (1), got 0}}
  %0 = nn.optimizer_update %p, %g, states(%m), lr %lr, step %step {optimizer = "Adagrad", hyper = {}} : (tensor<5xf32>, tensor<5xf32>, tensor<5xf32>, tensor<f32>, tensor<i64>) -> tensor<5xf32>
  return
}

// -----

func.func @result_type(%p: tensor<5xf32>, %g: tensor<5xf32>, %m: tensor<5xf32>, %lr: tensor<f32>, %step: tensor<i64>) {
  // expected-error @+1 {{'nn.optimizer_update' op new state #0 must have its state's type 'tensor<5xf32>'}}
  %0:2 = nn.optimizer_update %p, %g, states(%m), lr %lr, step %step {optimizer = "Adagrad", hyper = {}} : (tensor<5xf32>, tensor<5xf32>, tensor<5xf32>, tensor<f32>, tensor<i64>) -> (tensor<5xf32>, tensor<6xf32>)
  return
}

// -----

func.func @new_param_type(%p: tensor<5xf32>, %g: tensor<5xf32>, %lr: tensor<f32>, %step: tensor<i64>) {
  // expected-error @+1 {{'nn.optimizer_update' op new param must have the param type 'tensor<5xf32>'}}
  %0 = nn.optimizer_update %p, %g, states(), lr %lr, step %step {optimizer = "SGD", hyper = {}} : (tensor<5xf32>, tensor<5xf32>, tensor<f32>, tensor<i64>) -> tensor<6xf32>
  return
}

// -----

func.func @scalar_state_result(%p: tensor<5xf32>, %g: tensor<5xf32>, %m: tensor<5xf32>, %v: tensor<5xf32>, %mu: tensor<f32>, %lr: tensor<f32>, %step: tensor<i64>) {
  // expected-error @+1 {{'nn.optimizer_update' op new state #2 must have its state's type 'tensor<f32>'}}
  %0:4 = nn.optimizer_update %p, %g, states(%m, %v, %mu), lr %lr, step %step {optimizer = "NAdam", hyper = {}} : (tensor<5xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5xf32>, tensor<f32>, tensor<f32>, tensor<i64>) -> (tensor<5xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5xf32>)
  return
}

// -----

func.func @rows_shape(%p: tensor<6x3xf32>, %g: tensor<6x3xf32>, %m: tensor<6x3xf32>, %v: tensor<6x3xf32>, %lr: tensor<f32>, %step: tensor<i64>, %rows: tensor<5x1xf32>) {
  // expected-error @+1 {{'nn.optimizer_update' op rows type 'tensor<5x1xf32>' does not broadcast to the param type 'tensor<6x3xf32>'}}
  %0:3 = nn.optimizer_update %p, %g, states(%m, %v), lr %lr, step %step rows %rows {optimizer = "SparseAdam", hyper = {}} : (tensor<6x3xf32>, tensor<6x3xf32>, tensor<6x3xf32>, tensor<6x3xf32>, tensor<f32>, tensor<i64>, tensor<5x1xf32>) -> (tensor<6x3xf32>, tensor<6x3xf32>, tensor<6x3xf32>)
  return
}
