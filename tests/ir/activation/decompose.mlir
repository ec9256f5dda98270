// RUN: kiln-opt %s --nn-decompose --split-input-file | FileCheck %s

// GELU (none): x/2 (1 + erf(x / sqrt 2)), from primitive ops only.
// CHECK-LABEL: func.func @gelu_none
// CHECK-DAG: arith.constant dense<0.707106769> : tensor<f32>
// CHECK: nn.erf
// CHECK-NOT: nn.gelu
// CHECK-NOT: nn.tanh
func.func @gelu_none(%x: tensor<4xf32>) -> tensor<4xf32> {
  %y = nn.gelu %x approximate none : tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// GELU (tanh): x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
// CHECK-LABEL: func.func @gelu_tanh
// CHECK-DAG: arith.constant dense<4.471500e-02> : tensor<f32>
// CHECK-DAG: arith.constant dense<0.797884583> : tensor<f32>
// CHECK: nn.tanh
// CHECK-NOT: nn.gelu
// CHECK-NOT: nn.erf
func.func @gelu_tanh(%x: tensor<4xf32>) -> tensor<4xf32> {
  %y = nn.gelu %x approximate tanh : tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// SiLU: x * sigmoid(x).
// CHECK-LABEL: func.func @silu
// CHECK: %[[S:.+]] = nn.sigmoid %[[X:[a-zA-Z0-9_]+]] : tensor<4xf32>
// CHECK: nn.mul %[[X]], %[[S]] : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
// CHECK-NOT: nn.silu
func.func @silu(%x: tensor<4xf32>) -> tensor<4xf32> {
  %y = nn.silu %x : tensor<4xf32>
  return %y : tensor<4xf32>
}
