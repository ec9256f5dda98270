#pragma once

#include "kiln/error.h"
#include "kiln/tensor.h"

namespace kiln {
namespace nn::functional {

/// Graph function "relu": elementwise max(x, 0) on float32.
Tensor relu(const Tensor& input, SourceLoc loc = SourceLoc::current());
/// Graph function "flatten" with torch.flatten's defaults (start_dim=0,
/// end_dim=-1; nn.Flatten's start_dim is 1).
Tensor flatten(const Tensor& input, int64_t start_dim = 0, int64_t end_dim = -1,
               SourceLoc loc = SourceLoc::current());
/// Graph functions "add" / "mul": elementwise with torch broadcasting (shapes
/// aligned at the end; each pair of sizes equal or one of them 1). Both
/// operands must have the same dtype (no type promotion).
Tensor add(const Tensor& a, const Tensor& b, SourceLoc loc = SourceLoc::current());
Tensor mul(const Tensor& a, const Tensor& b, SourceLoc loc = SourceLoc::current());
/// Graph functions "sub", "div", "maximum", "minimum": float32, broadcasting.
Tensor sub(const Tensor& a, const Tensor& b, SourceLoc loc = SourceLoc::current());
Tensor div(const Tensor& a, const Tensor& b, SourceLoc loc = SourceLoc::current());
Tensor maximum(const Tensor& a, const Tensor& b, SourceLoc loc = SourceLoc::current());
Tensor minimum(const Tensor& a, const Tensor& b, SourceLoc loc = SourceLoc::current());

/// torch.pow(a, b): a ** b elementwise with broadcasting (float32; NaN for
/// a negative base and a non-integer exponent, as torch).
Tensor pow(const Tensor& a, const Tensor& b, SourceLoc loc = SourceLoc::current());

/// Elementwise graph functions of the same name as torch's (float32).
Tensor neg(const Tensor& input, SourceLoc loc = SourceLoc::current());
Tensor abs(const Tensor& input, SourceLoc loc = SourceLoc::current());
Tensor sign(const Tensor& input, SourceLoc loc = SourceLoc::current());
Tensor exp(const Tensor& input, SourceLoc loc = SourceLoc::current());
Tensor log(const Tensor& input, SourceLoc loc = SourceLoc::current());
Tensor log1p(const Tensor& input, SourceLoc loc = SourceLoc::current());
Tensor sqrt(const Tensor& input, SourceLoc loc = SourceLoc::current());
Tensor rsqrt(const Tensor& input, SourceLoc loc = SourceLoc::current());
Tensor tanh(const Tensor& input, SourceLoc loc = SourceLoc::current());
Tensor sigmoid(const Tensor& input, SourceLoc loc = SourceLoc::current());
Tensor erf(const Tensor& input, SourceLoc loc = SourceLoc::current());

/// torch.sum / torch.mean over `dim` (empty: every dimension; negative
/// values count from the end), keeping the reduced dims as 1 with keepdim.
Tensor sum(const Tensor& input, std::vector<int64_t> dim = {}, bool keepdim = false,
           SourceLoc loc = SourceLoc::current());
Tensor mean(const Tensor& input, std::vector<int64_t> dim = {}, bool keepdim = false,
            SourceLoc loc = SourceLoc::current());
/// torch.permute: result dim i is input dim dims[i].
Tensor permute(const Tensor& input, std::vector<int64_t> dims, SourceLoc loc = SourceLoc::current());
/// torch.narrow: elements [start, start + length) of dimension `dim`
/// (negative dim and start count from the end).
Tensor narrow(const Tensor& input, int64_t dim, int64_t start, int64_t length,
              SourceLoc loc = SourceLoc::current());
/// torch.cat: tensors of one rank, equal except in `dim`, joined along it.
/// Recorded as a chain of two-tensor "cat" nodes (the compiler merges it
/// back into one op); one tensor is returned as it is.
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim = 0, SourceLoc loc = SourceLoc::current());

}  // namespace nn::functional

namespace detail {
/// The right operand of a tensor operator. Operators cannot take default
/// arguments, but the implicit conversion to this type can: it captures the
/// line of the user's `a + b`.
struct LocatedTensor {
  LocatedTensor(const Tensor& t, SourceLoc l = SourceLoc::current()) : tensor(t), loc(l) {}
  const Tensor& tensor;
  SourceLoc loc;
};
}  // namespace detail

/// a + b and a * b: the graph functions "add" and "mul".
Tensor operator+(const Tensor& a, const detail::LocatedTensor& b);
Tensor operator*(const Tensor& a, const detail::LocatedTensor& b);

}  // namespace kiln
