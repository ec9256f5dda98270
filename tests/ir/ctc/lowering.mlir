// RUN: kiln-opt %s --nn-lower-to-linalg | FileCheck %s
// RUN: kiln-opt %s --nn-lower-to-linalg --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --kiln-cpu-library-calls-to-runtime | FileCheck %s --check-prefix=CALL

// Each op is one runtime call with T, N, C, S, blank, zero_infinity and
// concatenated (0: [N, S] padded targets).
// CHECK-LABEL: func.func @ctc
// CHECK: nn.library_call "kiln_ctc_loss_forward" [7, 3, 5, 4, 2, 1, 0] ins(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} : tensor<7x3x5xf32>, tensor<3x4xi64>, tensor<3xi64>, tensor<3xi64>) outs(%{{.+}} : tensor<3xf32>) -> tensor<3xf32>
// CHECK: nn.library_call "kiln_ctc_loss_backward" [7, 3, 5, 4, 2, 1, 0] ins(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} : tensor<7x3x5xf32>, tensor<3x4xi64>, tensor<3xi64>, tensor<3xi64>, tensor<3xf32>) outs(%{{.+}} : tensor<7x3x5xf32>) -> tensor<7x3x5xf32>
// CALL-LABEL: func.func @ctc
// CALL: call @kiln_ctc_loss_forward(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}) : (i64, i64, i64, i64, i64, i64) -> ()
// CALL: call @kiln_ctc_loss_backward(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}) : (i64, i64, i64, i64, i64, i64, i64) -> ()
func.func @ctc(%lp: tensor<7x3x5xf32>, %t: tensor<3x4xi64>, %il: tensor<3xi64>, %tl: tensor<3xi64>, %g: tensor<3xf32>) -> (tensor<3xf32>, tensor<7x3x5xf32>) {
  %l = nn.ctc_loss %lp, %t, %il, %tl {blank = 2 : i64, zero_infinity = true} : (tensor<7x3x5xf32>, tensor<3x4xi64>, tensor<3xi64>, tensor<3xi64>) -> tensor<3xf32>
  %d = nn.ctc_loss_backward %g, %lp, %t, %il, %tl {blank = 2 : i64, zero_infinity = true} : (tensor<3xf32>, tensor<7x3x5xf32>, tensor<3x4xi64>, tensor<3xi64>, tensor<3xi64>) -> tensor<7x3x5xf32>
  return %l, %d : tensor<3xf32>, tensor<7x3x5xf32>
}

// torch's concatenated targets ([S] labels of all samples, one after
// another): S is their count and the last parameter is 1.
// CHECK-LABEL: func.func @ctc_concatenated
// CHECK: nn.library_call "kiln_ctc_loss_forward" [7, 3, 5, 9, 0, 0, 1] ins(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} : tensor<7x3x5xf32>, tensor<9xi64>, tensor<3xi64>, tensor<3xi64>)
func.func @ctc_concatenated(%lp: tensor<7x3x5xf32>, %t: tensor<9xi64>, %il: tensor<3xi64>, %tl: tensor<3xi64>) -> tensor<3xf32> {
  %l = nn.ctc_loss %lp, %t, %il, %tl {blank = 0 : i64, zero_infinity = false} : (tensor<7x3x5xf32>, tensor<9xi64>, tensor<3xi64>, tensor<3xi64>) -> tensor<3xf32>
  return %l : tensor<3xf32>
}
