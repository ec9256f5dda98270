// RUN: kiln-opt %s -split-input-file -verify-diagnostics

// Every verifier and shape-inference error of the nn ops. The messages name
// the shapes involved because they surface to users as model-file errors.

func.func @linear_input_rank0(%x: tensor<f32>, %w: tensor<4x8xf32>) {
  // expected-error @+2 {{nn.linear: expected an input of shape [*, 8] (last dimension = in_features), got []}}
  // expected-error @+1 {{'nn.linear' op failed to infer returned types}}
  %0 = nn.linear %x, %w : (tensor<f32>, tensor<4x8xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @linear_weight_rank(%x: tensor<2x8xf32>, %w: tensor<8xf32>) {
  // expected-error @+2 {{nn.linear: weight must be [out, in], got [8]}}
  // expected-error @+1 {{'nn.linear' op failed to infer returned types}}
  %0 = nn.linear %x, %w : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @linear_feature_mismatch(%x: tensor<2x8xf32>, %w: tensor<4x16xf32>) {
  // expected-error @+2 {{nn.linear: expected an input of shape [*, 16] (last dimension = in_features), got [2, 8]}}
  // expected-error @+1 {{'nn.linear' op failed to infer returned types}}
  %0 = nn.linear %x, %w : (tensor<2x8xf32>, tensor<4x16xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @linear_bias_shape(%x: tensor<2x8xf32>, %w: tensor<4x8xf32>, %b: tensor<8xf32>) {
  // expected-error @+2 {{nn.linear: bias must be [4], got [8]}}
  // expected-error @+1 {{'nn.linear' op failed to infer returned types}}
  %0 = nn.linear %x, %w, %b : (tensor<2x8xf32>, tensor<4x8xf32>, tensor<8xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @linear_bias_rank(%x: tensor<2x8xf32>, %w: tensor<4x8xf32>, %b: tensor<1x4xf32>) {
  // expected-error @+2 {{nn.linear: bias must be [4], got [1, 4]}}
  // expected-error @+1 {{'nn.linear' op failed to infer returned types}}
  %0 = nn.linear %x, %w, %b : (tensor<2x8xf32>, tensor<4x8xf32>, tensor<1x4xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @linear_wrong_result(%x: tensor<2x8xf32>, %w: tensor<4x8xf32>) {
  // expected-error @+2 {{'nn.linear' op inferred type(s) 'tensor<2x4xf32>' are incompatible with return type(s) of operation 'tensor<2x8xf32>'}}
  // expected-error @+1 {{'nn.linear' op failed to infer returned types}}
  %0 = nn.linear %x, %w : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @linear_integer_input(%x: tensor<2x8xi64>, %w: tensor<4x8xf32>) {
  // expected-error @+1 {{'nn.linear' op operand #0 must be ranked tensor of 32-bit float values}}
  %0 = nn.linear %x, %w : (tensor<2x8xi64>, tensor<4x8xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @matmul_rank(%a: tensor<2x3x4xf32>, %b: tensor<4x5xf32>) {
  // expected-error @+2 {{nn.matmul: operands must be matrices of the same rank >= 2 (batched over equal leading dimensions), got [2, 3, 4] and [4, 5]}}
  // expected-error @+1 {{'nn.matmul' op failed to infer returned types}}
  %0 = nn.matmul %a, %b : (tensor<2x3x4xf32>, tensor<4x5xf32>) -> tensor<2x5xf32>
  return
}

// -----

func.func @matmul_vector(%a: tensor<4xf32>, %b: tensor<4xf32>) {
  // expected-error @+2 {{nn.matmul: operands must be matrices of the same rank >= 2 (batched over equal leading dimensions), got [4] and [4]}}
  // expected-error @+1 {{'nn.matmul' op failed to infer returned types}}
  %0 = nn.matmul %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<f32>
  return
}

// -----

// No broadcasting over batch dimensions: the importer broadcasts first.
func.func @matmul_batch(%a: tensor<2x3x4xf32>, %b: tensor<1x4x5xf32>) {
  // expected-error @+2 {{nn.matmul: batch dimensions differ ([2, 3, 4] and [1, 4, 5])}}
  // expected-error @+1 {{'nn.matmul' op failed to infer returned types}}
  %0 = nn.matmul %a, %b : (tensor<2x3x4xf32>, tensor<1x4x5xf32>) -> tensor<2x3x5xf32>
  return
}

// -----

func.func @matmul_batched_contraction(%a: tensor<2x3x4xf32>, %b: tensor<2x5x4xf32>) {
  // expected-error @+2 {{nn.matmul: contraction sizes differ (4 vs 5)}}
  // expected-error @+1 {{'nn.matmul' op failed to infer returned types}}
  %0 = nn.matmul %a, %b : (tensor<2x3x4xf32>, tensor<2x5x4xf32>) -> tensor<2x3x4xf32>
  return
}

// -----

func.func @matmul_contraction(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>) {
  // expected-error @+2 {{nn.matmul: contraction sizes differ (3 vs 4)}}
  // expected-error @+1 {{'nn.matmul' op failed to infer returned types}}
  %0 = nn.matmul %a, %b : (tensor<2x3xf32>, tensor<4x5xf32>) -> tensor<2x5xf32>
  return
}

// -----

// transpose_lhs contracts over the lhs rows: 2 vs 4.
func.func @matmul_contraction_transposed(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>) {
  // expected-error @+2 {{nn.matmul: contraction sizes differ (2 vs 4)}}
  // expected-error @+1 {{'nn.matmul' op failed to infer returned types}}
  %0 = nn.matmul %a, %b {transpose_lhs} : (tensor<2x3xf32>, tensor<4x5xf32>) -> tensor<3x5xf32>
  return
}

// -----

// expected-note @+1 {{prior use here}}
func.func @relu_type_mismatch(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{use of value '%x' expects different type than prior uses: 'tensor<2x4xf32>' vs 'tensor<2x3xf32>'}}
  %0 = nn.relu %x : tensor<2x4xf32>
  return
}

// -----

func.func @flatten_start_out_of_range(%x: tensor<2x3x4xf32>) {
  // expected-error @+2 {{nn.flatten: start_dim 3 is out of range for an input of shape [2, 3, 4] (rank 3)}}
  // expected-error @+1 {{'nn.flatten' op failed to infer returned types}}
  %0 = nn.flatten %x {start_dim = 3 : i64} : (tensor<2x3x4xf32>) -> tensor<2x12xf32>
  return
}

// -----

func.func @flatten_end_out_of_range(%x: tensor<2x3x4xf32>) {
  // expected-error @+2 {{nn.flatten: end_dim -4 is out of range for an input of shape [2, 3, 4] (rank 3)}}
  // expected-error @+1 {{'nn.flatten' op failed to infer returned types}}
  %0 = nn.flatten %x {start_dim = 0 : i64, end_dim = -4 : i64} : (tensor<2x3x4xf32>) -> tensor<24xf32>
  return
}

// -----

func.func @flatten_start_after_end(%x: tensor<2x3x4xf32>) {
  // expected-error @+2 {{nn.flatten: start_dim 2 comes after end_dim 1 for an input of shape [2, 3, 4]}}
  // expected-error @+1 {{'nn.flatten' op failed to infer returned types}}
  %0 = nn.flatten %x {start_dim = 2 : i64, end_dim = 1 : i64} : (tensor<2x3x4xf32>) -> tensor<2x12xf32>
  return
}

// -----

func.func @reshape_element_count(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{'nn.reshape' op cannot reshape [2, 8] (16 elements) to [3, 5] (15 elements)}}
  %0 = nn.reshape %x : (tensor<2x8xf32>) -> tensor<3x5xf32>
  return
}

// -----

func.func @add_not_broadcastable(%a: tensor<4x8xf32>, %b: tensor<4xf32>) {
  // expected-error @+2 {{nn.add: shapes [4, 8] and [4] cannot be broadcast (dimension 1 of the result: 8 vs 4)}}
  // expected-error @+1 {{'nn.add' op failed to infer returned types}}
  %0 = nn.add %a, %b : (tensor<4x8xf32>, tensor<4xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @sub_not_broadcastable(%a: tensor<2x3xf32>, %b: tensor<3x3xf32>) {
  // expected-error @+2 {{nn.sub: shapes [2, 3] and [3, 3] cannot be broadcast (dimension 0 of the result: 2 vs 3)}}
  // expected-error @+1 {{'nn.sub' op failed to infer returned types}}
  %0 = nn.sub %a, %b : (tensor<2x3xf32>, tensor<3x3xf32>) -> tensor<3x3xf32>
  return
}

// -----

func.func @mul_not_broadcastable(%a: tensor<2x3xf32>, %b: tensor<2xf32>) {
  // expected-error @+2 {{nn.mul: shapes [2, 3] and [2] cannot be broadcast (dimension 1 of the result: 3 vs 2)}}
  // expected-error @+1 {{'nn.mul' op failed to infer returned types}}
  %0 = nn.mul %a, %b : (tensor<2x3xf32>, tensor<2xf32>) -> tensor<2x3xf32>
  return
}

// -----

func.func @add_wrong_result(%a: tensor<4x1xf32>, %b: tensor<8xf32>) {
  // expected-error @+2 {{'nn.add' op inferred type(s) 'tensor<4x8xf32>' are incompatible with return type(s) of operation 'tensor<4x1xf32>'}}
  // expected-error @+1 {{'nn.add' op failed to infer returned types}}
  %0 = nn.add %a, %b : (tensor<4x1xf32>, tensor<8xf32>) -> tensor<4x1xf32>
  return
}

// -----

func.func @sum_to_size_mismatch(%g: tensor<4x8xf32>) {
  // expected-error @+1 {{'nn.sum_to_size' op result shape [4] does not broadcast to input shape [4, 8]}}
  %0 = nn.sum_to_size %g : (tensor<4x8xf32>) -> tensor<4xf32>
  return
}

// -----

// sum_to_size only reduces: the result may not be larger than the input.
func.func @sum_to_size_grows(%g: tensor<8xf32>) {
  // expected-error @+1 {{'nn.sum_to_size' op result shape [4, 8] does not broadcast to input shape [8]}}
  %0 = nn.sum_to_size %g : (tensor<8xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @broadcast_to_mismatch(%x: tensor<3xf32>) {
  // expected-error @+1 {{'nn.broadcast_to' op input shape [3] does not broadcast to [4, 8]}}
  %0 = nn.broadcast_to %x : (tensor<3xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @broadcast_to_shrinks(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'nn.broadcast_to' op input shape [4, 8] does not broadcast to [8]}}
  %0 = nn.broadcast_to %x : (tensor<4x8xf32>) -> tensor<8xf32>
  return
}

// -----

func.func @cross_entropy_input_rank(%x: tensor<2x3x4xf32>, %t: tensor<2xi64>) {
  // expected-error @+2 {{nn.cross_entropy_loss: input must be [N, C] logits, got [2, 3, 4] (spatial and unbatched inputs are not supported yet)}}
  // expected-error @+1 {{'nn.cross_entropy_loss' op failed to infer returned types}}
  %0 = nn.cross_entropy_loss %x, %t : (tensor<2x3x4xf32>, tensor<2xi64>) -> tensor<f32>
  return
}

// -----

func.func @cross_entropy_target_shape(%x: tensor<4x10xf32>, %t: tensor<5xi64>) {
  // expected-error @+2 {{nn.cross_entropy_loss: target must be [4] class indices, got [5]}}
  // expected-error @+1 {{'nn.cross_entropy_loss' op failed to infer returned types}}
  %0 = nn.cross_entropy_loss %x, %t : (tensor<4x10xf32>, tensor<5xi64>) -> tensor<f32>
  return
}

// -----

func.func @cross_entropy_target_rank(%x: tensor<4x10xf32>, %t: tensor<4x1xi64>) {
  // expected-error @+2 {{nn.cross_entropy_loss: target must be [4] class indices, got [4, 1]}}
  // expected-error @+1 {{'nn.cross_entropy_loss' op failed to infer returned types}}
  %0 = nn.cross_entropy_loss %x, %t : (tensor<4x10xf32>, tensor<4x1xi64>) -> tensor<f32>
  return
}

// -----

func.func @cross_entropy_float_target(%x: tensor<4x10xf32>, %t: tensor<4xf32>) {
  // expected-error @+1 {{'nn.cross_entropy_loss' op operand #1 must be ranked tensor of 64-bit signless integer values}}
  %0 = nn.cross_entropy_loss %x, %t : (tensor<4x10xf32>, tensor<4xf32>) -> tensor<f32>
  return
}

// -----

func.func @cross_entropy_reduction(%x: tensor<4x10xf32>, %t: tensor<4xi64>) {
  // A typed enum: anything but none, mean, sum does not even parse.
  // expected-error @+1 {{expected string or keyword containing one of the following enum values for attribute 'reduction' [none, mean, sum]}}
  %0 = nn.cross_entropy_loss %x, %t reduction avg : (tensor<4x10xf32>, tensor<4xi64>) -> tensor<f32>
  return
}

// -----

func.func @cross_entropy_label_smoothing(%x: tensor<4x10xf32>, %t: tensor<4xi64>) {
  // expected-error @+2 {{nn.cross_entropy_loss: label_smoothing must be in [0, 1], got 1.5}}
  // expected-error @+1 {{'nn.cross_entropy_loss' op failed to infer returned types}}
  %0 = nn.cross_entropy_loss %x, %t {label_smoothing = 1.5 : f64} : (tensor<4x10xf32>, tensor<4xi64>) -> tensor<f32>
  return
}

// -----

func.func @cross_entropy_negative_label_smoothing(%x: tensor<4x10xf32>, %t: tensor<4xi64>) {
  // expected-error @+2 {{nn.cross_entropy_loss: label_smoothing must be in [0, 1], got -1.000000e-01}}
  // expected-error @+1 {{'nn.cross_entropy_loss' op failed to infer returned types}}
  %0 = nn.cross_entropy_loss %x, %t {label_smoothing = -0.1 : f64} : (tensor<4x10xf32>, tensor<4xi64>) -> tensor<f32>
  return
}

// -----

// reduction = "none" returns one loss per row, not a scalar.
func.func @cross_entropy_none_result(%x: tensor<4x10xf32>, %t: tensor<4xi64>) {
  // expected-error @+2 {{'nn.cross_entropy_loss' op inferred type(s) 'tensor<4xf32>' are incompatible with return type(s) of operation 'tensor<f32>'}}
  // expected-error @+1 {{'nn.cross_entropy_loss' op failed to infer returned types}}
  %0 = nn.cross_entropy_loss %x, %t reduction none : (tensor<4x10xf32>, tensor<4xi64>) -> tensor<f32>
  return
}

// -----

// The backward op checks its operands like the forward op.
func.func @cross_entropy_backward_target(%g: tensor<f32>, %x: tensor<4x10xf32>, %t: tensor<3xi64>) {
  // expected-error @+2 {{nn.cross_entropy_loss: target must be [4] class indices, got [3]}}
  // expected-error @+1 {{'nn.cross_entropy_loss_backward' op failed to infer returned types}}
  %0 = nn.cross_entropy_loss_backward %g, %x, %t : (tensor<f32>, tensor<4x10xf32>, tensor<3xi64>) -> tensor<4x10xf32>
  return
}

// -----

func.func @cross_entropy_backward_grad(%g: tensor<4xf32>, %x: tensor<4x10xf32>, %t: tensor<4xi64>) {
  // expected-error @+1 {{'nn.cross_entropy_loss_backward' op grad must have the loss type 'tensor<f32>'}}
  %0 = nn.cross_entropy_loss_backward %g, %x, %t : (tensor<4xf32>, tensor<4x10xf32>, tensor<4xi64>) -> tensor<4x10xf32>
  return
}

// -----

func.func @cross_entropy_backward_grad_none(%g: tensor<f32>, %x: tensor<4x10xf32>, %t: tensor<4xi64>) {
  // expected-error @+1 {{'nn.cross_entropy_loss_backward' op grad must have the loss type 'tensor<4xf32>'}}
  %0 = nn.cross_entropy_loss_backward %g, %x, %t reduction none : (tensor<f32>, tensor<4x10xf32>, tensor<4xi64>) -> tensor<4x10xf32>
  return
}

// -----

func.func @mse_shape(%y: tensor<8x4xf32>, %t: tensor<8x1xf32>) {
  // expected-error @+2 {{nn.mse_loss: input [8, 4] and target [8, 1] must have the same shape}}
  // expected-error @+1 {{'nn.mse_loss' op failed to infer returned types}}
  %0 = nn.mse_loss %y, %t : (tensor<8x4xf32>, tensor<8x1xf32>) -> tensor<f32>
  return
}

// -----

func.func @mse_reduction(%y: tensor<8x4xf32>, %t: tensor<8x4xf32>) {
  // expected-error @+1 {{expected string or keyword containing one of the following enum values for attribute 'reduction' [none, mean, sum]}}
  %0 = nn.mse_loss %y, %t reduction max : (tensor<8x4xf32>, tensor<8x4xf32>) -> tensor<f32>
  return
}

// -----

func.func @mse_backward_shape(%g: tensor<f32>, %y: tensor<8x4xf32>, %t: tensor<4x8xf32>) {
  // expected-error @+2 {{nn.mse_loss: input [8, 4] and target [4, 8] must have the same shape}}
  // expected-error @+1 {{'nn.mse_loss_backward' op failed to infer returned types}}
  %0 = nn.mse_loss_backward %g, %y, %t : (tensor<f32>, tensor<8x4xf32>, tensor<4x8xf32>) -> tensor<8x4xf32>
  return
}

// -----

func.func @mse_backward_grad(%g: tensor<8x4xf32>, %y: tensor<8x4xf32>, %t: tensor<8x4xf32>) {
  // expected-error @+1 {{'nn.mse_loss_backward' op grad must have the loss type 'tensor<f32>'}}
  %0 = nn.mse_loss_backward %g, %y, %t reduction sum : (tensor<8x4xf32>, tensor<8x4xf32>, tensor<8x4xf32>) -> tensor<8x4xf32>
  return
}

// -----

func.func @sgd_grad_type(%p: tensor<16xf32>, %g: tensor<8xf32>, %lr: tensor<f32>, %step: tensor<i64>) {
  // expected-error @+1 {{'nn.sgd_update' op grad type 'tensor<8xf32>' differs from param type 'tensor<16xf32>'}}
  %0 = "nn.sgd_update"(%p, %g, %lr, %step) {operandSegmentSizes = array<i32: 1, 1, 0, 1, 1, 0>} : (tensor<16xf32>, tensor<8xf32>, tensor<f32>, tensor<i64>) -> tensor<16xf32>
  return
}

// -----

func.func @sgd_momentum_without_buffer(%p: tensor<16xf32>, %g: tensor<16xf32>, %lr: tensor<f32>, %step: tensor<i64>) {
  // expected-error @+1 {{'nn.sgd_update' op a momentum buffer is required iff momentum != 0 or the momentum is cycled (momentum = 9.000000e-01)}}
  %0 = "nn.sgd_update"(%p, %g, %lr, %step) {momentum = 0.9 : f64, operandSegmentSizes = array<i32: 1, 1, 0, 1, 1, 0>} : (tensor<16xf32>, tensor<16xf32>, tensor<f32>, tensor<i64>) -> tensor<16xf32>
  return
}

// -----

func.func @sgd_buffer_without_momentum(%p: tensor<16xf32>, %g: tensor<16xf32>, %b: tensor<16xf32>, %lr: tensor<f32>, %step: tensor<i64>) {
  // expected-error @+1 {{'nn.sgd_update' op a momentum buffer is required iff momentum != 0 or the momentum is cycled (momentum = 0.000000e+00)}}
  %0, %1 = nn.sgd_update %p, %g, momentum_buffer %b, lr %lr, step %step : (tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<f32>, tensor<i64>) -> (tensor<16xf32>, tensor<16xf32>)
  return
}

// -----

func.func @sgd_buffer_type(%p: tensor<16xf32>, %g: tensor<16xf32>, %b: tensor<8xf32>, %lr: tensor<f32>, %step: tensor<i64>) {
  // expected-error @+1 {{'nn.sgd_update' op momentum buffer type differs from param type}}
  %0, %1 = nn.sgd_update %p, %g, momentum_buffer %b, lr %lr, step %step {momentum = 0.9 : f64} : (tensor<16xf32>, tensor<16xf32>, tensor<8xf32>, tensor<f32>, tensor<i64>) -> (tensor<16xf32>, tensor<16xf32>)
  return
}

// -----

func.func @sgd_missing_new_buffer(%p: tensor<16xf32>, %g: tensor<16xf32>, %b: tensor<16xf32>, %lr: tensor<f32>, %step: tensor<i64>) {
  // expected-error @+1 {{'nn.sgd_update' op new_momentum_buffer result must match the buffer operand}}
  %0 = nn.sgd_update %p, %g, momentum_buffer %b, lr %lr, step %step {momentum = 0.9 : f64} : (tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<f32>, tensor<i64>) -> tensor<16xf32>
  return
}

// -----

func.func @sgd_result_type(%p: tensor<16xf32>, %g: tensor<16xf32>, %b: tensor<16xf32>, %lr: tensor<f32>, %step: tensor<i64>) {
  // expected-error @+1 {{'nn.sgd_update' op results must have the param type 'tensor<16xf32>'}}
  %0, %1 = nn.sgd_update %p, %g, momentum_buffer %b, lr %lr, step %step {momentum = 0.9 : f64} : (tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<f32>, tensor<i64>) -> (tensor<16xf32>, tensor<8xf32>)
  return
}

// -----

func.func @sgd_nesterov_without_momentum(%p: tensor<16xf32>, %g: tensor<16xf32>, %lr: tensor<f32>, %step: tensor<i64>) {
  // expected-error @+1 {{'nn.sgd_update' op nesterov requires momentum > 0 and zero dampening}}
  %0 = "nn.sgd_update"(%p, %g, %lr, %step) {nesterov, operandSegmentSizes = array<i32: 1, 1, 0, 1, 1, 0>} : (tensor<16xf32>, tensor<16xf32>, tensor<f32>, tensor<i64>) -> tensor<16xf32>
  return
}

// -----

func.func @sgd_nesterov_with_dampening(%p: tensor<16xf32>, %g: tensor<16xf32>, %b: tensor<16xf32>, %lr: tensor<f32>, %step: tensor<i64>) {
  // expected-error @+1 {{'nn.sgd_update' op nesterov requires momentum > 0 and zero dampening}}
  %0, %1 = nn.sgd_update %p, %g, momentum_buffer %b, lr %lr, step %step {momentum = 0.9 : f64, dampening = 0.1 : f64, nesterov} : (tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<f32>, tensor<i64>) -> (tensor<16xf32>, tensor<16xf32>)
  return
}

// -----

func.func @sgd_negative_momentum(%p: tensor<16xf32>, %g: tensor<16xf32>, %b: tensor<16xf32>, %lr: tensor<f32>, %step: tensor<i64>) {
  // expected-error @+1 {{'nn.sgd_update' op momentum and weight_decay must be >= 0}}
  %0, %1 = nn.sgd_update %p, %g, momentum_buffer %b, lr %lr, step %step {momentum = -0.5 : f64} : (tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<f32>, tensor<i64>) -> (tensor<16xf32>, tensor<16xf32>)
  return
}

// -----

func.func @sgd_negative_weight_decay(%p: tensor<16xf32>, %g: tensor<16xf32>, %lr: tensor<f32>, %step: tensor<i64>) {
  // expected-error @+1 {{'nn.sgd_update' op momentum and weight_decay must be >= 0}}
  %0 = "nn.sgd_update"(%p, %g, %lr, %step) {weight_decay = -0.01 : f64, operandSegmentSizes = array<i32: 1, 1, 0, 1, 1, 0>} : (tensor<16xf32>, tensor<16xf32>, tensor<f32>, tensor<i64>) -> tensor<16xf32>
  return
}

// -----

func.func @sgd_lr_not_scalar(%p: tensor<16xf32>, %g: tensor<16xf32>, %lr: tensor<1xf32>, %step: tensor<i64>) {
  // expected-error @+1 {{'nn.sgd_update' op operand #2 must be 0D tensor of 32-bit float values}}
  %0 = "nn.sgd_update"(%p, %g, %lr, %step) {operandSegmentSizes = array<i32: 1, 1, 0, 1, 1, 0>} : (tensor<16xf32>, tensor<16xf32>, tensor<1xf32>, tensor<i64>) -> tensor<16xf32>
  return
}
