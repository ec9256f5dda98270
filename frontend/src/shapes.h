#pragma once

// Shape rules shared by layers and functions (library-internal).

#include <string>

#include "kiln/error.h"
#include "kiln/module.h"
#include "kiln/tensor.h"
#include "kiln/trace.h"

namespace kiln::detail {

/// "Linear 'fc1'", or "Linear (the root module)".
inline std::string describe(const nn::Module& m, const std::string& path) {
  return m.type_name() + (path.empty() ? std::string(" (the root module)") : " '" + path + "'");
}

inline void require_float32(const Tensor& t, const std::string& what, SourceLoc loc) {
  if (t.dtype() != Dtype::Float32) {
    fail(loc, what + " expects a float32 input, got " + dtype_name(t.dtype()) + " tensor '" + t.name() + "'");
  }
}

/// torch.flatten's result shape; a rank-0 input flattens to [1].
Shape flatten_shape(const Shape& in, int64_t start_dim, int64_t end_dim, const std::string& what,
                    SourceLoc loc);
/// torch's broadcast of two shapes.
Shape broadcast_shape(const Shape& a, const Shape& b, const std::string& what, SourceLoc loc);

/// Records a call of the leaf module `m` on `inputs` in the active trace.
Tensor record_module(Trace& trace, const std::string& path, const std::vector<Tensor>& inputs, Shape shape,
                     Dtype dtype, SourceLoc loc);
/// Records a call of the leaf module `m` giving several values (MaxPool with
/// indices), one per (shape, dtype).
std::vector<Tensor> record_module(Trace& trace, const std::string& path, const std::vector<Tensor>& inputs,
                                  const std::vector<std::pair<Shape, Dtype>>& outputs, SourceLoc loc);
/// The same with forward arguments that are not tensors, written as the
/// node's options (MultiheadAttention's need_weights).
std::vector<Tensor> record_module(Trace& trace, const std::string& path, const std::vector<Tensor>& inputs,
                                  OptionList call_options,
                                  const std::vector<std::pair<Shape, Dtype>>& outputs, SourceLoc loc);
/// Records a call of method `method` (not forward) of the leaf module at `path`.
Tensor record_method(Trace& trace, const std::string& path, const std::string& method,
                     const std::vector<Tensor>& inputs, Shape shape, SourceLoc loc,
                     Dtype dtype = Dtype::Float32);
/// Records a call of the graph function `function` giving several values,
/// one per (shape, dtype).
std::vector<Tensor> record_function(Trace& trace, const std::string& function, OptionList options,
                                    const std::vector<Tensor>& inputs,
                                    const std::vector<std::pair<Shape, Dtype>>& outputs, SourceLoc loc);
/// Records a call of the graph function `function`.
Tensor record_function(Trace& trace, const std::string& function, OptionList options,
                       const std::vector<Tensor>& inputs, Shape shape, Dtype dtype, SourceLoc loc);

/// The options of a binary function (add, sub, rsub, mul, div, maximum,
/// minimum, pow), all of them, as the model format requires: the number
/// operand (`exponent` for pow, `other` elsewhere; null when the second
/// operand is a tensor) and, for add, sub and rsub, `alpha` = 1.
inline OptionList binary_options(const std::string& function, OptionValue other) {
  OptionList options = {{function == "pow" ? "exponent" : "other", std::move(other)}};
  if (function == "add" || function == "sub" || function == "rsub") options.push_back({"alpha", 1.0});
  return options;
}

/// Records a call of `m`, a module that is one shape-preserving float32
/// function of its input (activations, dropout).
inline Tensor elementwise_module(const nn::Module& m, const Tensor& input, SourceLoc loc) {
  auto& trace = Trace::active(m.type_name(), loc);
  const std::string& path = trace.path_of(m, loc);
  std::string what = describe(m, path);
  trace.check_value(input, what, loc);
  require_float32(input, what, loc);
  return record_module(trace, path, {input}, input.sizes(), input.dtype(), loc);
}

}  // namespace kiln::detail
