// How the shared nn -> linalg lowering expresses f32 convolutions: a
// backend's choice (Backend::convolutions), the pass option
// nn-lower-to-linalg{conv=...}.
#ifndef KILN_PASSES_CONVLOWERING_H
#define KILN_PASSES_CONVLOWERING_H

namespace kiln {

enum class ConvLowering {
  /// nn.library_call of the runtime's routines (LowerConvLibrary.cpp; the
  /// CPU runtime has them); the direct loops where they do not apply.
  Library,
  /// im2col + batched matmuls + gathers (LowerConvGemm.cpp), for a backend
  /// whose matmuls are a BLAS call; the direct loops where it does not apply.
  Gemm,
  /// One linalg.generic per op (LowerConv.cpp).
  Loops,
};

} // namespace kiln

#endif // KILN_PASSES_CONVLOWERING_H
