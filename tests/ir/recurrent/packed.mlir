// RUN: kilnc %S/Inputs/packed.json --emit=nn | FileCheck %s

// torch.nn.utils.rnn's packed sequence (frontend/import/PackedSequence.cpp)
// through an RNN (Recurrent.cpp). The int64 lengths reach f32 through a
// gather from the constant 0..T (so the runtime refuses a length outside
// [0, T]); pack_padded_sequence checks each is at least 1 (an nn.check
// result) and zeroes the data past each length. Each RNN step keeps the
// state where the step is past a sequence's end (t < length false) and
// outputs zero there. pad_packed_sequence writes padding_value past each
// length and grows T = 3 to total_length = 4 with it.
// CHECK-LABEL: func.func @forward(
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<3x2x2xf32> {nn.name = "x", nn.role = #nn.role<input>}
// CHECK-SAME: %[[N:[a-z0-9]+]]: tensor<2xi64> {nn.name = "lengths", nn.role = #nn.role<input>}
// CHECK-SAME: -> (tensor<4x2x2xf32>, tensor<1x2x2xf32>, tensor<2xf32> {nn.check = "pack_padded_sequence.lengths"})
// CHECK: %[[TABLE:.+]] = arith.constant dense<[0.000000e+00, 1.000000e+00, 2.000000e+00, 3.000000e+00]> : tensor<4xf32>
// CHECK: nn.gather %[[TABLE]], %[[N]] {dim = 0 : i64} : (tensor<4xf32>, tensor<2xi64>) -> tensor<2xf32>
// CHECK: %[[VALID:.+]] = nn.compare gt, %{{.+}}, %{{.+}} : (tensor<1x2x1xf32>, tensor<3x1x1xf32>) -> tensor<3x2x1xi1>
// CHECK: %[[DATA:.+]] = nn.where %[[VALID]], %[[X]], %{{.+}} : (tensor<3x2x1xi1>, tensor<3x2x2xf32>, tensor<f32>)
// CHECK: nn.linear %[[DATA]]
// Step 0: valid where length > 0; the state is kept elsewhere, the output zero.
// CHECK: %[[H1:.+]] = nn.tanh
// CHECK: %[[V0:.+]] = nn.compare gt, %[[COL:[a-z0-9_]+]], %{{.+}} : (tensor<2x1xf32>, tensor<f32>) -> tensor<2x1xi1>
// CHECK: %[[S1:.+]] = nn.where %[[V0]], %[[H1]], %[[H0:[a-z0-9_]+]] : (tensor<2x1xi1>, tensor<2x2xf32>, tensor<2x2xf32>)
// CHECK: nn.where %[[V0]], %[[S1]], %{{.+}} : (tensor<2x1xi1>, tensor<2x2xf32>, tensor<f32>)
// CHECK: %[[H2:.+]] = nn.tanh
// CHECK: %[[V1:.+]] = nn.compare gt, %[[COL]], %{{.+}} : (tensor<2x1xf32>, tensor<f32>)
// CHECK: nn.where %[[V1]], %[[H2]], %[[S1]]
// pad_packed_sequence: padding_value -1 past each length, then one more
// step of it (total_length 4).
// CHECK: %[[PAD:.+]] = nn.where %{{.+}}, %{{.+}}, %[[MINUS:[a-z0-9_]+]] : (tensor<3x2x1xi1>, tensor<3x2x2xf32>, tensor<f32>) -> tensor<3x2x2xf32>
// CHECK: %[[MORE:.+]] = nn.broadcast_to %{{.+}} : (tensor<f32>) -> tensor<1x2x2xf32>
// CHECK: nn.concat %[[PAD]], %[[MORE]] {dim = 0 : i64} : (tensor<3x2x2xf32>, tensor<1x2x2xf32>) -> tensor<4x2x2xf32>
