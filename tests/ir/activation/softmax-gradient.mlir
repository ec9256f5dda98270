// RUN: kiln-opt %s --nn-autodiff=wrt-inputs=true | FileCheck %s

// log_softmax as the importer decomposes it (frontend/import/Softmax.cpp):
// the row max is detached, so the backward is torch's dy - softmax(x)
// sum(dy) -- the exp already computed, one row sum, one division -- and
// nothing flows through nn.amax: no comparison with the max, no count of
// ties, no second row sum.
// CHECK-LABEL: func.func @log_softmax_grad
// CHECK:     %[[E:.+]] = nn.exp
// CHECK:     %[[TOTAL:.+]] = nn.sum %[[E]]
// CHECK-NOT: nn.compare
// CHECK:     nn.sum_to_size
// CHECK:     nn.div %{{.+}}, %[[TOTAL]]
// CHECK:     nn.mul %{{.+}}, %[[E]]
// CHECK-NOT: nn.compare
// CHECK-NOT: nn.amax
// CHECK:     return
func.func @log_softmax(%x: tensor<4x8xf32> {nn.name = "x", nn.role = #nn.role<input>}, %w: tensor<4x8xf32> {nn.name = "w", nn.role = #nn.role<input>}) -> tensor<f32> attributes {nn.differentiate} {
  %m = nn.amax %x {dims = array<i64: 1>, keepdim} : (tensor<4x8xf32>) -> tensor<4x1xf32>
  %stop = nn.detach %m : tensor<4x1xf32>
  %shifted = nn.sub %x, %stop : (tensor<4x8xf32>, tensor<4x1xf32>) -> tensor<4x8xf32>
  %e = nn.exp %shifted : tensor<4x8xf32>
  %total = nn.sum %e {dims = array<i64: 1>, keepdim} : (tensor<4x8xf32>) -> tensor<4x1xf32>
  %lse = nn.log %total : tensor<4x1xf32>
  %y = nn.sub %shifted, %lse : (tensor<4x8xf32>, tensor<4x1xf32>) -> tensor<4x8xf32>
  %p = nn.mul %y, %w : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %l = nn.sum %p : (tensor<4x8xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
