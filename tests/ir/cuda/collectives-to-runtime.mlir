// RUN: kiln-opt %s --kiln-cpu-library-calls-to-runtime="collectives-only prefix=kiln_cuda_" | FileCheck %s

// The CUDA pipeline's use of kiln-cpu-library-calls-to-runtime: the
// data-parallel collectives become calls of the runtime's CUDA versions
// (device pointers, host parameters); any other routine is left for
// kiln-cuda-map-to-gpu to refuse by name.
// CHECK-LABEL: func.func @collectives
// CHECK: call @kiln_cuda_all_reduce_start(%{{.+}}, %{{.+}}, %{{.+}}) : (i64, i64, i64) -> ()
// CHECK: call @kiln_cuda_all_reduce_wait(%{{.+}}, %{{.+}}) : (i64, i64) -> ()
// CHECK: call @kiln_cuda_world_size(%{{.+}}, %{{.+}}) : (i64, i64) -> ()
// CHECK: nn.library_call "kiln_sconv_forward"
// CHECK-NOT: call @kiln_all_reduce
// CHECK: func.func private @kiln_cuda_all_reduce_start(i64, i64, i64)
func.func @collectives(%g: memref<16xf32>, %n: memref<1xf32>, %x: memref<1x3x8xf32>, %w: memref<8x3x3xf32>, %y: memref<1x8x6xf32>) {
  nn.library_call "kiln_all_reduce_start" [16, 0] ins(%g : memref<16xf32>) outs(%g : memref<16xf32>)
  nn.library_call "kiln_all_reduce_wait" [16, 0] outs(%g : memref<16xf32>)
  nn.library_call "kiln_world_size" [1] outs(%n : memref<1xf32>)
  nn.library_call "kiln_sconv_forward" [1, 3, 8, 1, 1, 8, 1, 1, 6, 1, 1, 3, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1] ins(%x, %w : memref<1x3x8xf32>, memref<8x3x3xf32>) outs(%y : memref<1x8x6xf32>)
  return
}
