// RUN: kiln-opt %s --nn-lower-to-linalg | FileCheck %s

// (y - 1) max(log(1 - x), -100) - y max(log x, -100): one elementwise
// generic, the logs clamped as aten's kernel clamps them.
// CHECK-LABEL: func.func @bce
// CHECK: linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "parallel"]
// CHECK: ^bb0(%[[X:[a-z0-9_]+]]: f32, %[[Y:[a-z0-9_]+]]: f32, %{{.+}}: f32):
// CHECK-DAG: %[[FLOOR:.+]] = arith.constant -1.000000e+02 : f32
// CHECK-DAG: %[[ONE:.+]] = arith.constant 1.000000e+00 : f32
// CHECK: %[[LX:.+]] = math.log %[[X]]
// CHECK: %[[CX:.+]] = arith.maximumf %[[LX]], %[[FLOOR]]
// CHECK: %[[OMX:.+]] = arith.subf %[[ONE]], %[[X]]
// CHECK: %[[L1X:.+]] = math.log %[[OMX]]
// CHECK: %[[C1X:.+]] = arith.maximumf %[[L1X]], %[[FLOOR]]
// CHECK: %[[YM1:.+]] = arith.subf %[[Y]], %[[ONE]]
// CHECK: %[[POS:.+]] = arith.mulf %[[YM1]], %[[C1X]]
// CHECK: %[[NEG:.+]] = arith.mulf %[[Y]], %[[CX]]
// CHECK: %[[R:.+]] = arith.subf %[[POS]], %[[NEG]]
// CHECK: linalg.yield %[[R]]
func.func @bce(%p: tensor<8x4xf32>, %t: tensor<8x4xf32>) -> tensor<8x4xf32> {
  %l = nn.binary_cross_entropy %p, %t : tensor<8x4xf32>
  return %l : tensor<8x4xf32>
}

// nll_loss (mean): per target element -w[t] x[n, t, d] and the weight w[t]
// (both 0 where ignored), then sum(loss) / sum(weight).
// CHECK-LABEL: func.func @nll
// CHECK: %[[PER:.+]]:2 = linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "parallel"]
// CHECK-SAME: ins(%{{.+}} : tensor<2x3xi64>)
// CHECK: tensor.extract %{{.+}}[%{{.+}}] : tensor<5xf32>
// CHECK: tensor.extract %{{.+}}[%{{.+}}, %{{.+}}, %{{.+}}] : tensor<2x5x3xf32>
// CHECK: arith.cmpi ne
// CHECK: linalg.generic {{.+}} iterator_types = ["reduction", "reduction"]
// CHECK: linalg.generic {{.+}} iterator_types = ["reduction", "reduction"]
// CHECK: arith.divf
func.func @nll(%x: tensor<2x5x3xf32>, %t: tensor<2x3xi64>, %w: tensor<5xf32>) -> tensor<f32> {
  %l = nn.nll_loss %x, %t weight %w {ignore_index = 1 : i64} : (tensor<2x5x3xf32>, tensor<2x3xi64>, tensor<5xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// nll_loss_backward (none): one generic over the input; the class index
// is the generic's dimension 1, compared with the target of (n, d).
// CHECK-LABEL: func.func @nll_backward
// CHECK: linalg.generic
// CHECK-SAME: outs(%{{.+}} : tensor<2x5x3xf32>)
// CHECK-DAG: linalg.index 0
// CHECK-DAG: linalg.index 2
// CHECK: tensor.extract %{{.+}}[%{{.+}}, %{{.+}}] : tensor<2x3xi64>
// CHECK: tensor.extract %{{.+}}[%{{.+}}, %{{.+}}] : tensor<2x3xf32>
// CHECK: linalg.index 1
// CHECK: arith.cmpi eq
func.func @nll_backward(%g: tensor<2x3xf32>, %x: tensor<2x5x3xf32>, %t: tensor<2x3xi64>) -> tensor<2x5x3xf32> {
  %d = nn.nll_loss_backward %g, %x, %t reduction none : (tensor<2x3xf32>, tensor<2x5x3xf32>, tensor<2x3xi64>) -> tensor<2x5x3xf32>
  return %d : tensor<2x5x3xf32>
}
