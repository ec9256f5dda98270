// RUN: kiln-opt %s -split-input-file -verify-diagnostics

// expected-error @+2 {{expected ::kiln::nn::TensorRole to be one of: param, buffer, state, input, target, step, lr, rng}}
// expected-error @+1 {{failed to parse NN_TensorRoleAttr parameter 'value'}}
func.func private @bad_role(tensor<4xf32> {nn.role = #nn.role<parameter>})

// -----

// expected-error @+1 {{unknown initializer 'gauss' (zeros, ones, uniform, normal, constant)}}
func.func private @bad_kind(tensor<4xf32> {nn.init = #nn.init<gauss 0.0, 1.0>})

// -----

// expected-error @+1 {{uniform initializer needs lo <= hi, got 2 > 1}}
func.func private @reversed(tensor<4xf32> {nn.init = #nn.init<uniform 2.0, 1.0>})

// -----

// expected-error @+1 {{normal initializer needs std >= 0, got -1}}
func.func private @negative_std(tensor<4xf32> {nn.init = #nn.init<normal 0.0, -1.0>})

// -----

// expected-error @+1 {{expected ','}}
func.func private @one_bound(tensor<4xf32> {nn.init = #nn.init<uniform 1.0>})

// -----

// expected-error @+1 {{expected '>'}}
func.func private @constant_two(tensor<f32> {nn.init = #nn.init<constant 1.0, 2.0>})
