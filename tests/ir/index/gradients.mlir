// RUN: kiln-opt %s --nn-autodiff=wrt-inputs=true --split-input-file | FileCheck %s

// gather: dx adds dy into zeros at the same indices (gather_backward with
// the forward's dim); the index gets no adjoint.
// CHECK-LABEL: func.func @gather_grad
// CHECK-SAME: (%[[X:[a-zA-Z0-9_]+]]: tensor<4x10xf32>{{.*}}, %[[I:[a-zA-Z0-9_]+]]: tensor<4x3xi64>
// CHECK: nn.gather %[[X]], %[[I]] {dim = 1 : i64}
// CHECK: %[[DX:.+]] = nn.gather_backward %{{.+}}, %[[I]] {dim = 1 : i64} : (tensor<4x3xf32>, tensor<4x3xi64>) -> tensor<4x10xf32>
// CHECK: return %{{.+}}, %[[DX]]
func.func @gather(%x: tensor<4x10xf32> {nn.name = "x", nn.role = #nn.role<input>},
                  %i: tensor<4x3xi64> {nn.name = "i", nn.role = #nn.role<input>}) -> tensor<f32> attributes {nn.differentiate} {
  %y = nn.gather %x, %i {dim = 1 : i64} : (tensor<4x10xf32>, tensor<4x3xi64>) -> tensor<4x3xf32>
  %l = nn.sum %y : (tensor<4x3xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
