#ifndef KILN_RUNTIME_LIB_DESCRIPTOR_H
#define KILN_RUNTIME_LIB_DESCRIPTOR_H

#include "error.h"

#include <string>
#include <vector>

namespace kiln::rt {

/* How a parameter or state tensor starts (docs/runtime-abi.md, `INIT`). The
 * compiler has already turned PyTorch's default initializers into these. */
struct Init {
  enum Kind { Zeros, Ones, Uniform, Normal } kind = Zeros;
  double a = 0; // uniform: LO, normal: MEAN
  double b = 0; // uniform: HI, normal: STD
};

struct TensorSpec {
  std::string name;
  kiln_dtype dtype = KILN_F32;
  std::vector<int64_t> shape;
  int64_t numel = 1;
  Init init;    // param and state only
  int line = 0; // where it was declared, for later messages
};

/* A parsed, validated descriptor. Vectors keep descriptor order, which is the
 * kernels' argument order. */
struct Descriptor {
  std::string name;
  bool train = false;
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;
  std::vector<TensorSpec> params;
  std::vector<TensorSpec> states;
  TensorSpec target; // train mode only
  float lr = 0;      // train mode only
  /* Scratch bytes the kernels need (`workspace N`, 0 when absent); passed to
   * every kernel as its last argument. */
  int64_t workspace_bytes = 0;
};

/* Parses the descriptor text strictly. Every error names the line
 * ("descriptor line 5: unknown record 'parm'") or, for something missing,
 * the descriptor as a whole. Tokens are separated by spaces or tabs, blank
 * lines are skipped, and a token starting with '#' starts a comment (the
 * documented example carries such annotations). */
Error parse_descriptor(const char *text, Descriptor *out);

} // namespace kiln::rt

#endif
