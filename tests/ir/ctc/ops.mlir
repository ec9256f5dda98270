// RUN: kiln-opt %s | kiln-opt | FileCheck %s

// CHECK-LABEL: func.func @ctc
// CHECK: nn.ctc_loss %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} {blank = 2 : i64, zero_infinity = true} : (tensor<7x3x5xf32>, tensor<3x4xi64>, tensor<3xi64>, tensor<3xi64>) -> tensor<3xf32>
// CHECK: nn.ctc_loss_backward %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} {blank = 2 : i64, zero_infinity = true} : (tensor<3xf32>, tensor<7x3x5xf32>, tensor<3x4xi64>, tensor<3xi64>, tensor<3xi64>) -> tensor<7x3x5xf32>
func.func @ctc(%lp: tensor<7x3x5xf32>, %t: tensor<3x4xi64>, %il: tensor<3xi64>, %tl: tensor<3xi64>, %g: tensor<3xf32>) -> (tensor<3xf32>, tensor<7x3x5xf32>) {
  %l = nn.ctc_loss %lp, %t, %il, %tl {blank = 2 : i64, zero_infinity = true} : (tensor<7x3x5xf32>, tensor<3x4xi64>, tensor<3xi64>, tensor<3xi64>) -> tensor<3xf32>
  %d = nn.ctc_loss_backward %g, %lp, %t, %il, %tl {blank = 2 : i64, zero_infinity = true} : (tensor<3xf32>, tensor<7x3x5xf32>, tensor<3x4xi64>, tensor<3xi64>, tensor<3xi64>) -> tensor<7x3x5xf32>
  return %l, %d : tensor<3xf32>, tensor<7x3x5xf32>
}

// Defaults: blank 0, zero_infinity false (printed as the defaults).
// CHECK-LABEL: func.func @defaults
// CHECK: nn.ctc_loss %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} : (tensor<2x1x3xf32>, tensor<1x1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<1xf32>
func.func @defaults(%lp: tensor<2x1x3xf32>, %t: tensor<1x1xi64>, %il: tensor<1xi64>, %tl: tensor<1xi64>) -> tensor<1xf32> {
  %l = nn.ctc_loss %lp, %t, %il, %tl : (tensor<2x1x3xf32>, tensor<1x1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<1xf32>
  return %l : tensor<1xf32>
}
