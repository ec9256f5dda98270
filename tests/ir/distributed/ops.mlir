// RUN: kiln-opt %s | kiln-opt | FileCheck %s

// CHECK-LABEL: func.func @bucket
// CHECK: %{{.+}}:2 = nn.all_reduce %{{.+}}, %{{.+}} : tensor<4x3xf32>, tensor<3xf32>
func.func @bucket(%a: tensor<4x3xf32>, %b: tensor<3xf32>) -> (tensor<4x3xf32>, tensor<3xf32>) {
  %r:2 = nn.all_reduce %a, %b : tensor<4x3xf32>, tensor<3xf32>
  return %r#0, %r#1 : tensor<4x3xf32>, tensor<3xf32>
}
