// RUN: kiln-opt %s -split-input-file -verify-diagnostics

// expected-error @+2 {{expected ::kiln::nn::TensorRole to be one of: param, buffer, state, input, target, step, lr, rng}}
// expected-error @+1 {{failed to parse NN_TensorRoleAttr parameter 'value'}}
func.func private @bad_role(tensor<4xf32> {nn.role = #nn.role<parameter>})

// -----

// expected-error @+1 {{unknown initializer 'gauss' (zeros, ones, uniform, normal, constant, norm_of, unit_normal, empty)}}
func.func private @bad_kind(tensor<4xf32> {nn.init = #nn.init<gauss 0.0, 1.0>})

// -----

// expected-error @+1 {{uniform initializer needs lo <= hi, got 2 > 1}}
func.func private @reversed(tensor<4xf32> {nn.init = #nn.init<uniform 2.0, 1.0>})

// -----

// expected-error @+1 {{normal initializer needs std >= 0, got -1}}
func.func private @negative_std(tensor<4xf32> {nn.init = #nn.init<normal 0.0, -1.0>})

// -----

// weight_norm's g: a parameter index and a dimension (-1: all).
// expected-error @+1 {{norm_of needs a parameter index >= 0 and a dimension >= -1, got 1.5, 0}}
func.func private @norm_of_fraction(tensor<4xf32> {nn.init = #nn.init<norm_of 1.5, 0.0>})

// -----

// expected-error @+1 {{norm_of needs a parameter index >= 0 and a dimension >= -1, got 0, -2}}
func.func private @norm_of_dim(tensor<4xf32> {nn.init = #nn.init<norm_of 0.0, -2.0>})

// -----

// expected-error @+1 {{unit_normal needs eps > 0, got 0}}
func.func private @unit_normal_eps(tensor<4xf32> {nn.init = #nn.init<unit_normal 0.0>})

// -----

// expected-error @+1 {{expected ','}}
func.func private @one_bound(tensor<4xf32> {nn.init = #nn.init<uniform 1.0>})

// -----

// expected-error @+1 {{expected '>'}}
func.func private @constant_two(tensor<f32> {nn.init = #nn.init<constant 1.0, 2.0>})

// -----

// skip_init's empty takes no arguments.
// expected-error @+1 {{expected '>'}}
func.func private @empty_args(tensor<4xf32> {nn.init = #nn.init<empty 1.0>})
