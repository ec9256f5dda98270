// RUN: kiln-opt %s --nn-autodiff=wrt-inputs=true | FileCheck %s

// The gradient of log_probs is nn.ctc_loss_backward with the same blank and
// zero_infinity, fed the per-sample loss's gradient; targets and lengths get
// none.
// CHECK-LABEL: func.func @ctc_grad
// CHECK-SAME: (%[[LP:[a-zA-Z0-9_]+]]: tensor<6x2x4xf32> {{.*}}, %[[T:[a-zA-Z0-9_]+]]: tensor<2x3xi64> {{.*}}, %[[IL:[a-zA-Z0-9_]+]]: tensor<2xi64> {{.*}}, %[[TL:[a-zA-Z0-9_]+]]: tensor<2xi64>
// CHECK: nn.ctc_loss_backward %{{.+}}, %[[LP]], %[[T]], %[[IL]], %[[TL]] {blank = 1 : i64, zero_infinity = true}
func.func @ctc_grad(%lp: tensor<6x2x4xf32> {nn.name = "lp", nn.role = #nn.role<input>}, %t: tensor<2x3xi64> {nn.name = "t", nn.role = #nn.role<target>}, %il: tensor<2xi64> {nn.name = "il", nn.role = #nn.role<input>}, %tl: tensor<2xi64> {nn.name = "tl", nn.role = #nn.role<input>}) -> tensor<f32> attributes {nn.differentiate} {
  %l = nn.ctc_loss %lp, %t, %il, %tl {blank = 1 : i64, zero_infinity = true} : (tensor<6x2x4xf32>, tensor<2x3xi64>, tensor<2xi64>, tensor<2xi64>) -> tensor<2xf32>
  %s = nn.sum %l : (tensor<2xf32>) -> tensor<f32>
  return %s : tensor<f32>
}
