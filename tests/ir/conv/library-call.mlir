// RUN: kiln-opt %s --split-input-file | kiln-opt --split-input-file | FileCheck %s
// RUN: kiln-opt %s --split-input-file --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" | FileCheck %s --check-prefix=BUF

// Round trip on tensors and on buffers.
// CHECK-LABEL: func.func @forward
// CHECK: %[[Y:.+]] = nn.library_call "kiln_sconv_forward" [1, 3, 8, 1, 1, 8, 1, 1, 6, 1, 1, 3, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1] ins(%{{.+}}, %{{.+}} : tensor<1x3x8xf32>, tensor<8x3x3xf32>) outs(%{{.+}} : tensor<1x8x6xf32>) -> tensor<1x8x6xf32>
// Bufferized: the output's buffer is a fresh allocation, the call has no
// results, and the function returns that buffer.
// BUF-LABEL: func.func @forward
// BUF-SAME: (%[[X:.+]]: memref<1x3x8xf32>, %[[W:.+]]: memref<8x3x3xf32>) -> memref<1x8x6xf32>
// BUF: %[[A:.+]] = memref.alloc() {{.*}}: memref<1x8x6xf32>
// BUF: nn.library_call "kiln_sconv_forward" [{{.+}}] ins(%[[X]], %[[W]] : memref<1x3x8xf32>, memref<8x3x3xf32>) outs(%[[A]] : memref<1x8x6xf32>)
// BUF-NOT: ->
// BUF: return %[[A]]
func.func @forward(%x: tensor<1x3x8xf32>, %w: tensor<8x3x3xf32>) -> tensor<1x8x6xf32> {
  %init = tensor.empty() : tensor<1x8x6xf32>
  %y = nn.library_call "kiln_sconv_forward" [1, 3, 8, 1, 1, 8, 1, 1, 6, 1, 1, 3, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1] ins(%x, %w : tensor<1x3x8xf32>, tensor<8x3x3xf32>) outs(%init : tensor<1x8x6xf32>) -> tensor<1x8x6xf32>
  return %y : tensor<1x8x6xf32>
}

// -----

// CHECK-LABEL: func.func @on_buffers
// CHECK: nn.library_call "kiln_sconv_backward_weight" [1, 3, 8, 1, 1, 8, 1, 1, 6, 1, 1, 3, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1] ins(%{{.+}}, %{{.+}} : memref<1x3x8xf32>, memref<1x8x6xf32>) outs(%{{.+}} : memref<8x3x3xf32>){{$}}
func.func @on_buffers(%x: memref<1x3x8xf32>, %dy: memref<1x8x6xf32>, %dw: memref<8x3x3xf32>) {
  nn.library_call "kiln_sconv_backward_weight" [1, 3, 8, 1, 1, 8, 1, 1, 6, 1, 1, 3, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1] ins(%x, %dy : memref<1x3x8xf32>, memref<1x8x6xf32>) outs(%dw : memref<8x3x3xf32>)
  return
}

// -----

// A strided input (a slice of the argument) is copied into a dense buffer
// before the call: the runtime reads dense tensors.
// BUF-LABEL: func.func @strided_input
// BUF: %[[S:.+]] = memref.subview
// BUF: %[[D:.+]] = memref.alloc() {{.*}}: memref<1x3x8xf32>
// BUF: memref.copy %[[S]], %[[D]]
// BUF: nn.library_call "kiln_sconv_forward" [{{.+}}] ins(%[[D]], %{{.+}} : memref<1x3x8xf32>, memref<8x3x3xf32>)
func.func @strided_input(%big: tensor<1x3x10xf32>, %w: tensor<8x3x3xf32>) -> tensor<1x8x6xf32> {
  %x = tensor.extract_slice %big[0, 0, 1] [1, 3, 8] [1, 1, 1] : tensor<1x3x10xf32> to tensor<1x3x8xf32>
  %init = tensor.empty() : tensor<1x8x6xf32>
  %y = nn.library_call "kiln_sconv_forward" [1, 3, 8, 1, 1, 8, 1, 1, 6, 1, 1, 3, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1] ins(%x, %w : tensor<1x3x8xf32>, tensor<8x3x3xf32>) outs(%init : tensor<1x8x6xf32>) -> tensor<1x8x6xf32>
  return %y : tensor<1x8x6xf32>
}
