#pragma once

#include <optional>

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

/// torch.argmax: the first index of the maximum along `dim` (int64), or in
/// the flattened input without one; keepdim keeps the reduced dimension(s)
/// as 1. Not differentiable.
Tensor argmax(const Tensor& input, std::optional<int64_t> dim = std::nullopt, bool keepdim = false,
              SourceLoc loc = SourceLoc::current());
/// torch.amax / torch.amin over `dim` (empty: every dimension).
Tensor amax(const Tensor& input, std::vector<int64_t> dim = {}, bool keepdim = false,
            SourceLoc loc = SourceLoc::current());
Tensor amin(const Tensor& input, std::vector<int64_t> dim = {}, bool keepdim = false,
            SourceLoc loc = SourceLoc::current());

/// Number operands (torch.add(x, 0.5), torch.pow(x, 3)): recorded as the
/// function with the number as its option (`other`, `exponent`).
Tensor add(const Tensor& a, double other, SourceLoc loc = SourceLoc::current());
Tensor sub(const Tensor& a, double other, SourceLoc loc = SourceLoc::current());
Tensor mul(const Tensor& a, double other, SourceLoc loc = SourceLoc::current());
Tensor div(const Tensor& a, double other, SourceLoc loc = SourceLoc::current());
Tensor pow(const Tensor& a, double exponent, SourceLoc loc = SourceLoc::current());
/// torch.rsub(x, other) = other - x.
Tensor rsub(const Tensor& a, double other, SourceLoc loc = SourceLoc::current());
/// torch.reciprocal: 1 / x.
Tensor reciprocal(const Tensor& input, SourceLoc loc = SourceLoc::current());

/// torch.gt, lt, ge, le, eq, ne: a bool mask (Dtype::Bool) with torch
/// broadcasting. A mask feeds where() and masked_fill(); it is never a
/// model output and takes part in no arithmetic.
Tensor gt(const Tensor& a, const Tensor& b, SourceLoc loc = SourceLoc::current());
Tensor lt(const Tensor& a, const Tensor& b, SourceLoc loc = SourceLoc::current());
Tensor ge(const Tensor& a, const Tensor& b, SourceLoc loc = SourceLoc::current());
Tensor le(const Tensor& a, const Tensor& b, SourceLoc loc = SourceLoc::current());
Tensor eq(const Tensor& a, const Tensor& b, SourceLoc loc = SourceLoc::current());
Tensor ne(const Tensor& a, const Tensor& b, SourceLoc loc = SourceLoc::current());
Tensor gt(const Tensor& a, double other, SourceLoc loc = SourceLoc::current());
Tensor lt(const Tensor& a, double other, SourceLoc loc = SourceLoc::current());
Tensor ge(const Tensor& a, double other, SourceLoc loc = SourceLoc::current());
Tensor le(const Tensor& a, double other, SourceLoc loc = SourceLoc::current());
Tensor eq(const Tensor& a, double other, SourceLoc loc = SourceLoc::current());
Tensor ne(const Tensor& a, double other, SourceLoc loc = SourceLoc::current());
/// torch.where(condition, input, other): condition a bool mask; the three
/// broadcast together.
Tensor where(const Tensor& condition, const Tensor& input, const Tensor& other,
             SourceLoc loc = SourceLoc::current());
/// torch.masked_fill: `value` where the mask (broadcast to the input's
/// shape) is true.
Tensor masked_fill(const Tensor& input, const Tensor& mask, double value,
                   SourceLoc loc = SourceLoc::current());
/// torch.clamp(input, min, max): at least one bound; min > max gives max
/// everywhere, as torch.
Tensor clamp(const Tensor& input, std::optional<double> min, std::optional<double> max = std::nullopt,
             SourceLoc loc = SourceLoc::current());

/// torch.detach: the same value, through which no gradient flows.
Tensor detach(const Tensor& input, SourceLoc loc = SourceLoc::current());

/// torch.matmul: 1-D operands are a row (first) or a column (second),
/// dimensions before the last two broadcast.
Tensor matmul(const Tensor& a, const Tensor& b, SourceLoc loc = SourceLoc::current());
/// torch.transpose: swaps dim0 and dim1 (negative count from the end).
Tensor transpose(const Tensor& input, int64_t dim0, int64_t dim1, SourceLoc loc = SourceLoc::current());
/// torch.t: transpose of a tensor with at most 2 dimensions.
Tensor t(const Tensor& input, SourceLoc loc = SourceLoc::current());
/// torch.reshape: one size may be -1 (inferred).
Tensor reshape(const Tensor& input, std::vector<int64_t> shape, SourceLoc loc = SourceLoc::current());
/// torch.squeeze: every size-1 dimension removed, or only `dim` (when its
/// size is 1).
Tensor squeeze(const Tensor& input, SourceLoc loc = SourceLoc::current());
Tensor squeeze(const Tensor& input, int64_t dim, SourceLoc loc = SourceLoc::current());
/// torch.unsqueeze: a size-1 dimension at `dim` of the result.
Tensor unsqueeze(const Tensor& input, int64_t dim, SourceLoc loc = SourceLoc::current());
/// libtorch's Tensor::slice, Python's x[..., start:end:step] on `dim`:
/// missing bounds are the ends, negative ones count from the end, bounds
/// past the ends are clamped; step >= 1.
Tensor slice(const Tensor& input, int64_t dim = 0, std::optional<int64_t> start = std::nullopt,
             std::optional<int64_t> end = std::nullopt, int64_t step = 1, SourceLoc loc = SourceLoc::current());
/// torch.index_select with a constant index (each in [0, size of dim)).
Tensor index_select(const Tensor& input, int64_t dim, std::vector<int64_t> index,
                    SourceLoc loc = SourceLoc::current());
/// torch.index_select with an int64 index tensor of shape [n] or [] (a
/// model input: the runtime checks each value is in [0, size of dim)).
Tensor index_select(const Tensor& input, int64_t dim, const Tensor& index,
                    SourceLoc loc = SourceLoc::current());
/// torch.gather: input[.., index[p], ..] along `dim` for an int64 index of
/// the input's rank (at most its size in the other dimensions); the result
/// has the index's shape.
Tensor gather(const Tensor& input, int64_t dim, const Tensor& index, bool sparse_grad = false,
              SourceLoc loc = SourceLoc::current());
/// torch.split: pieces of `split_size` along `dim` (the last one smaller),
/// or of the given sizes (which must add up to the dimension's size).
std::vector<Tensor> split(const Tensor& input, int64_t split_size, int64_t dim = 0,
                          SourceLoc loc = SourceLoc::current());
std::vector<Tensor> split(const Tensor& input, std::vector<int64_t> split_sizes, int64_t dim = 0,
                          SourceLoc loc = SourceLoc::current());
/// torch.chunk: ceil(size / chunks) elements per piece (so possibly fewer
/// pieces than `chunks`).
std::vector<Tensor> chunk(const Tensor& input, int64_t chunks, int64_t dim = 0,
                          SourceLoc loc = SourceLoc::current());
/// torch.stack: tensors of one shape joined along a new dimension `dim`.
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim = 0, SourceLoc loc = SourceLoc::current());

}  // namespace nn::functional

// libtorch spells the tensor functions torch::matmul, torch::clamp, ...:
// here they are kiln::matmul, kiln::clamp, ... as well.
using nn::functional::cat;
using nn::functional::chunk;
using nn::functional::clamp;
using nn::functional::gather;
using nn::functional::index_select;
using nn::functional::masked_fill;
using nn::functional::matmul;
using nn::functional::reshape;
using nn::functional::split;
using nn::functional::squeeze;
using nn::functional::stack;
using nn::functional::transpose;
using nn::functional::unsqueeze;
using nn::functional::where;

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
/// a - b, a / b ("sub", "div") and -a ("neg").
Tensor operator-(const Tensor& a, const detail::LocatedTensor& b);
Tensor operator/(const Tensor& a, const detail::LocatedTensor& b);
Tensor operator-(const detail::LocatedTensor& a);

namespace detail {
/// A number operand of a tensor operator, capturing the user's line.
struct LocatedScalar {
  LocatedScalar(double v, SourceLoc l = SourceLoc::current()) : value(v), loc(l) {}
  double value;
  SourceLoc loc;
};
}  // namespace detail

/// Number operands: x + 1, 2 * x, x / 4, 1 - x ("rsub"), 2 / x
/// ("reciprocal" then "mul").
Tensor operator+(const Tensor& a, detail::LocatedScalar b);
Tensor operator+(detail::LocatedScalar a, const Tensor& b);
Tensor operator-(const Tensor& a, detail::LocatedScalar b);
Tensor operator-(detail::LocatedScalar a, const Tensor& b);
Tensor operator*(const Tensor& a, detail::LocatedScalar b);
Tensor operator*(detail::LocatedScalar a, const Tensor& b);
Tensor operator/(const Tensor& a, detail::LocatedScalar b);
Tensor operator/(detail::LocatedScalar a, const Tensor& b);

/// Comparisons give bool masks (torch.gt, ...).
Tensor operator>(const Tensor& a, const detail::LocatedTensor& b);
Tensor operator<(const Tensor& a, const detail::LocatedTensor& b);
Tensor operator>=(const Tensor& a, const detail::LocatedTensor& b);
Tensor operator<=(const Tensor& a, const detail::LocatedTensor& b);
Tensor operator>(const Tensor& a, detail::LocatedScalar b);
Tensor operator<(const Tensor& a, detail::LocatedScalar b);
Tensor operator>=(const Tensor& a, detail::LocatedScalar b);
Tensor operator<=(const Tensor& a, detail::LocatedScalar b);

}  // namespace kiln
