// RUN: kilnc %S/Inputs/buffers.json --emit=nn | FileCheck %s

// A user module's buffers (register_buffer: the node's `buffers`) are
// function arguments of role buffer, after the parameters, each starting as
// its `init` says. A `parameter` node reads a buffer too (torch.fx's
// get_attr), at its value where the graph reads it: bn.running_mean after
// the train-mode batch norm is the updated one (the function's next value).
// CHECK-LABEL: func.func @forward_train(
// CHECK-SAME: %[[SCALE:[a-z0-9]+]]: tensor<6xf32> {nn.init = #nn.init<uniform 0.5, 1.5>, nn.name = "scale", nn.role = #nn.role<buffer>}
// CHECK-SAME: %[[PE:[a-z0-9]+]]: tensor<4x6xf32> {nn.init = #nn.init<normal 0.0, 0.1>, nn.name = "enc.pe", nn.role = #nn.role<buffer>}
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<4x6xf32> {nn.name = "x", nn.role = #nn.role<input>}
// CHECK: %[[H:.+]] = nn.add %[[X]], %[[PE]]
// CHECK: nn.mul %[[H]], %[[SCALE]]
// CHECK: %[[NEXT:[0-9]+]] = nn.add %{{.+}}, %{{.+}} : (tensor<6xf32>, tensor<6xf32>) -> tensor<6xf32>
// CHECK: nn.sub %{{.+}}, %[[NEXT]] : (tensor<4x6xf32>, tensor<6xf32>)
// CHECK: return %{{[0-9]+}}, %[[NEXT]],
