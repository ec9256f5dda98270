// RUN: kiln-opt %s | kiln-opt | FileCheck %s
// XFAIL: *

// Known bug (ir/NNOptimizerOps.td, SgdUpdateOp assemblyFormat): the custom
// form of a buffer-free nn.sgd_update does not parse back, because the
// optional group `(`,` $momentum_buffer^)?` comes before `,` $lr and greedily
// takes %lr as the buffer ("error: expected ','"). Every train_step built
// with momentum = 0 prints IR that kiln-opt cannot read. Remove the XFAIL
// when the format is fixed.

// CHECK-LABEL: func.func @sgd_no_buffer
// CHECK: nn.sgd_update %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} : (tensor<16xf32>, tensor<16xf32>, tensor<f32>, tensor<i64>) -> tensor<16xf32>
func.func @sgd_no_buffer(%p: tensor<16xf32>, %g: tensor<16xf32>, %lr: tensor<f32>, %step: tensor<i64>) -> tensor<16xf32> {
  %0 = "nn.sgd_update"(%p, %g, %lr, %step) : (tensor<16xf32>, tensor<16xf32>, tensor<f32>, tensor<i64>) -> tensor<16xf32>
  return %0 : tensor<16xf32>
}
