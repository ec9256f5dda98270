// The tensor functions a forward calls between layers (torch.matmul,
// clamp, transpose, reshape, split, where, ...), the Tensor methods and
// operators that spell them like libtorch. Each records one graph function
// of the importer's registry (frontend/import/Elementwise.cpp,
// TensorOps.cpp) after checking shapes with the rules the compiler uses
// (ir/TensorShapeRules.h).
#include <optional>

#include "ir/TensorShapeRules.h"
#include "kiln/nn/functional.h"
#include "shapes.h"

namespace kiln {
namespace nn::functional {
namespace {

/// The active trace, with `inputs` checked: values of this trace, float32.
detail::Trace& begin(const std::string& what, std::initializer_list<const Tensor*> inputs, SourceLoc loc) {
  auto& trace = detail::Trace::active(what, loc);
  for (const Tensor* t : inputs) {
    trace.check_value(*t, what, loc);
    detail::require_float32(*t, what, loc);
  }
  return trace;
}

/// The shape a rule gives, or the user's error.
Shape ok(const shape_rules::Inferred& r, const std::string& what, SourceLoc loc) {
  if (!r.ok()) detail::fail(loc, what + ": " + r.error);
  return r.shape;
}

/// A function of one float32 input with options and a computed shape.
Tensor one(const char* function, const Tensor& x, OptionList options, const shape_rules::Inferred& shape,
           SourceLoc loc, Dtype dtype = Dtype::Float32) {
  std::string what = std::string(function) + "()";
  auto& trace = begin(what, {&x}, loc);
  Shape s = ok(shape, what, loc);
  return detail::record_function(trace, function, std::move(options), {x}, std::move(s), dtype, loc);
}

/// A binary function with a number operand, recorded as option `name`.
Tensor with_number(const char* function, const Tensor& x, double value, SourceLoc loc) {
  return one(function, x, detail::binary_options(function, value), {x.sizes(), ""}, loc);
}

Tensor compare(const char* function, const Tensor& a, const Tensor& b, SourceLoc loc) {
  std::string what = std::string(function) + "()";
  auto& trace = begin(what, {&a, &b}, loc);
  Shape s = detail::broadcast_shape(a.sizes(), b.sizes(), what, loc);
  return detail::record_function(trace, function, {{"other", nullptr}}, {a, b}, std::move(s), Dtype::Bool, loc);
}

Tensor compare(const char* function, const Tensor& a, double other, SourceLoc loc) {
  return one(function, a, {{"other", other}}, {a.sizes(), ""}, loc, Dtype::Bool);
}

void require_mask(const Tensor& mask, const std::string& what, SourceLoc loc) {
  if (mask.dtype() != Dtype::Bool) {
    detail::fail(loc, what + " expects a bool mask (a comparison's result), got " + dtype_name(mask.dtype()) +
                          " tensor '" + mask.name() + "'");
  }
}

std::vector<Tensor> pieces(const char* function, const Tensor& x, OptionList options,
                           const shape_rules::Inferred& sizes, int64_t dim, SourceLoc loc) {
  std::string what = std::string(function) + "()";
  auto& trace = begin(what, {&x}, loc);
  Shape s = ok(sizes, what, loc);
  int64_t d = *shape_rules::wrapDim(dim, x.dim());
  std::vector<std::pair<Shape, Dtype>> outputs;
  for (int64_t size : s) {
    Shape piece = x.sizes();
    piece[d] = size;
    outputs.push_back({piece, Dtype::Float32});
  }
  return detail::record_function(trace, function, std::move(options), {x}, outputs, loc);
}

OptionValue optional_value(std::optional<int64_t> v) {
  return v ? OptionValue(*v) : OptionValue(nullptr);
}
OptionValue optional_value(std::optional<double> v) {
  return v ? OptionValue(*v) : OptionValue(nullptr);
}

}  // namespace

Tensor argmax(const Tensor& x, std::optional<int64_t> dim, bool keepdim, SourceLoc loc) {
  return one("argmax", x, {{"dim", optional_value(dim)}, {"keepdim", keepdim}},
             shape_rules::argmax(x.sizes(), dim, keepdim), loc, Dtype::Int64);
}
Tensor amax(const Tensor& x, std::vector<int64_t> dim, bool keepdim, SourceLoc loc) {
  return one("amax", x, {{"dim", dim}, {"keepdim", keepdim}}, shape_rules::reduce(x.sizes(), dim, keepdim), loc);
}
Tensor amin(const Tensor& x, std::vector<int64_t> dim, bool keepdim, SourceLoc loc) {
  return one("amin", x, {{"dim", dim}, {"keepdim", keepdim}}, shape_rules::reduce(x.sizes(), dim, keepdim), loc);
}

Tensor add(const Tensor& a, double other, SourceLoc loc) { return with_number("add", a, other, loc); }
Tensor sub(const Tensor& a, double other, SourceLoc loc) { return with_number("sub", a, other, loc); }
Tensor mul(const Tensor& a, double other, SourceLoc loc) { return with_number("mul", a, other, loc); }
Tensor div(const Tensor& a, double other, SourceLoc loc) { return with_number("div", a, other, loc); }
Tensor pow(const Tensor& a, double exponent, SourceLoc loc) {
  return with_number("pow", a, exponent, loc);
}
Tensor rsub(const Tensor& a, double other, SourceLoc loc) { return with_number("rsub", a, other, loc); }
Tensor reciprocal(const Tensor& x, SourceLoc loc) { return one("reciprocal", x, {}, {x.sizes(), ""}, loc); }

Tensor gt(const Tensor& a, const Tensor& b, SourceLoc loc) { return compare("gt", a, b, loc); }
Tensor lt(const Tensor& a, const Tensor& b, SourceLoc loc) { return compare("lt", a, b, loc); }
Tensor ge(const Tensor& a, const Tensor& b, SourceLoc loc) { return compare("ge", a, b, loc); }
Tensor le(const Tensor& a, const Tensor& b, SourceLoc loc) { return compare("le", a, b, loc); }
Tensor eq(const Tensor& a, const Tensor& b, SourceLoc loc) { return compare("eq", a, b, loc); }
Tensor ne(const Tensor& a, const Tensor& b, SourceLoc loc) { return compare("ne", a, b, loc); }
Tensor gt(const Tensor& a, double other, SourceLoc loc) { return compare("gt", a, other, loc); }
Tensor lt(const Tensor& a, double other, SourceLoc loc) { return compare("lt", a, other, loc); }
Tensor ge(const Tensor& a, double other, SourceLoc loc) { return compare("ge", a, other, loc); }
Tensor le(const Tensor& a, double other, SourceLoc loc) { return compare("le", a, other, loc); }
Tensor eq(const Tensor& a, double other, SourceLoc loc) { return compare("eq", a, other, loc); }
Tensor ne(const Tensor& a, double other, SourceLoc loc) { return compare("ne", a, other, loc); }

Tensor where(const Tensor& condition, const Tensor& input, const Tensor& other, SourceLoc loc) {
  auto& trace = begin("where()", {&input, &other}, loc);
  trace.check_value(condition, "where()", loc);
  require_mask(condition, "where()", loc);
  Shape values = detail::broadcast_shape(input.sizes(), other.sizes(), "where()", loc);
  Shape shape = detail::broadcast_shape(condition.sizes(), values, "where()", loc);
  return detail::record_function(trace, "where", {}, {condition, input, other}, std::move(shape), Dtype::Float32,
                                 loc);
}

Tensor masked_fill(const Tensor& input, const Tensor& mask, double value, SourceLoc loc) {
  auto& trace = begin("masked_fill()", {&input}, loc);
  trace.check_value(mask, "masked_fill()", loc);
  require_mask(mask, "masked_fill()", loc);
  Shape shape = ok(shape_rules::maskedFill(input.sizes(), mask.sizes()), "masked_fill()", loc);
  return detail::record_function(trace, "masked_fill", {{"value", value}}, {input, mask}, std::move(shape),
                                 Dtype::Float32, loc);
}

Tensor clamp(const Tensor& x, std::optional<double> min, std::optional<double> max, SourceLoc loc) {
  if (!min && !max) detail::fail(loc, "clamp(): at least one of 'min' or 'max' must not be None");
  return one("clamp", x, {{"min", optional_value(min)}, {"max", optional_value(max)}}, {x.sizes(), ""}, loc);
}

Tensor detach(const Tensor& x, SourceLoc loc) { return one("detach", x, {}, {x.sizes(), ""}, loc); }

Tensor matmul(const Tensor& a, const Tensor& b, SourceLoc loc) {
  auto& trace = begin("matmul()", {&a, &b}, loc);
  Shape shape = ok(shape_rules::matmul(a.sizes(), b.sizes()), "matmul()", loc);
  return detail::record_function(trace, "matmul", {}, {a, b}, std::move(shape), Dtype::Float32, loc);
}

Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1, SourceLoc loc) {
  shape_rules::Inferred perm = shape_rules::transposeDims(x.sizes(), dim0, dim1);
  shape_rules::Inferred shape = perm.ok() ? shape_rules::permute(x.sizes(), perm.shape) : perm;
  return one("transpose", x, {{"dim0", dim0}, {"dim1", dim1}}, shape, loc);
}

Tensor t(const Tensor& x, SourceLoc loc) {
  if (x.dim() > 2) {
    detail::fail(loc, "t(): expects a tensor with <= 2 dimensions, but '" + x.name() + "' has shape " +
                          shape_str(x.sizes()));
  }
  Shape shape = x.sizes();
  std::reverse(shape.begin(), shape.end());
  return one("t", x, {}, {shape, ""}, loc);
}

Tensor reshape(const Tensor& x, std::vector<int64_t> shape, SourceLoc loc) {
  return one("reshape", x, {{"shape", shape}}, shape_rules::reshape(x.sizes(), shape), loc);
}

Tensor squeeze(const Tensor& x, SourceLoc loc) {
  return one("squeeze", x, {{"dim", nullptr}}, shape_rules::squeeze(x.sizes(), std::nullopt), loc);
}
Tensor squeeze(const Tensor& x, int64_t dim, SourceLoc loc) {
  return one("squeeze", x, {{"dim", dim}}, shape_rules::squeeze(x.sizes(), dim), loc);
}
Tensor unsqueeze(const Tensor& x, int64_t dim, SourceLoc loc) {
  return one("unsqueeze", x, {{"dim", dim}}, shape_rules::unsqueeze(x.sizes(), dim), loc);
}

Tensor slice(const Tensor& x, int64_t dim, std::optional<int64_t> start, std::optional<int64_t> end, int64_t step,
             SourceLoc loc) {
  shape_rules::SliceBounds b = shape_rules::pythonSlice(x.sizes(), dim, start, end, step);
  shape_rules::Inferred shape = b.ok() ? shape_rules::slice(x.sizes(), b) : shape_rules::failure(b.error);
  return one("slice", x,
             {{"dim", dim}, {"start", optional_value(start)}, {"end", optional_value(end)}, {"step", step}}, shape,
             loc);
}

Tensor index_select(const Tensor& x, int64_t dim, std::vector<int64_t> index, SourceLoc loc) {
  return one("index_select", x, {{"dim", dim}, {"index", index}}, shape_rules::indexSelect(x.sizes(), dim, index),
             loc);
}

namespace {
void require_int64(const Tensor& index, const std::string& what, SourceLoc loc) {
  if (index.dtype() != Dtype::Int64)
    detail::fail(loc, what + " expects an int64 index, got " + dtype_name(index.dtype()) + " tensor '" +
                          index.name() + "'");
}
}  // namespace

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index, SourceLoc loc) {
  auto& trace = begin("index_select()", {&x}, loc);
  trace.check_value(index, "index_select()", loc);
  require_int64(index, "index_select()", loc);
  Shape s = ok(shape_rules::indexSelectTensor(x.sizes(), dim, index.sizes()), "index_select()", loc);
  return detail::record_function(trace, "index_select", {{"dim", dim}, {"index", nullptr}}, {x, index},
                                 std::move(s), Dtype::Float32, loc);
}

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index, bool sparse_grad, SourceLoc loc) {
  auto& trace = begin("gather()", {&x}, loc);
  trace.check_value(index, "gather()", loc);
  require_int64(index, "gather()", loc);
  Shape s = ok(shape_rules::gather(x.sizes(), dim, index.sizes()), "gather()", loc);
  return detail::record_function(trace, "gather", {{"dim", dim}, {"sparse_grad", sparse_grad}}, {x, index},
                                 std::move(s), Dtype::Float32, loc);
}

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim, SourceLoc loc) {
  return pieces("split", x, {{"split_size_or_sections", split_size}, {"dim", dim}},
                shape_rules::splitSizes(x.sizes(), dim, split_size, {}), dim, loc);
}
std::vector<Tensor> split(const Tensor& x, std::vector<int64_t> split_sizes, int64_t dim, SourceLoc loc) {
  return pieces("split", x, {{"split_size_or_sections", split_sizes}, {"dim", dim}},
                shape_rules::splitSizes(x.sizes(), dim, std::nullopt, split_sizes), dim, loc);
}
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim, SourceLoc loc) {
  return pieces("chunk", x, {{"chunks", chunks}, {"dim", dim}}, shape_rules::chunkSizes(x.sizes(), chunks, dim),
                dim, loc);
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim, SourceLoc loc) {
  auto& trace = detail::Trace::active("stack()", loc);
  std::vector<Shape> shapes;
  for (const Tensor& t : tensors) {
    trace.check_value(t, "stack()", loc);
    detail::require_float32(t, "stack()", loc);
    shapes.push_back(t.sizes());
  }
  Shape shape = ok(shape_rules::stack(shapes, dim), "stack()", loc);
  if (tensors.size() > 64) detail::fail(loc, "stack(): at most 64 tensors in one call");
  return detail::record_function(trace, "stack", {{"dim", dim}}, tensors, std::move(shape), Dtype::Float32, loc);
}

}  // namespace nn::functional

namespace F = nn::functional;

Tensor Tensor::transpose(int64_t dim0, int64_t dim1, SourceLoc loc) const { return F::transpose(*this, dim0, dim1, loc); }
Tensor Tensor::t(SourceLoc loc) const { return F::t(*this, loc); }
Tensor Tensor::permute(std::vector<int64_t> dims, SourceLoc loc) const { return F::permute(*this, dims, loc); }
Tensor Tensor::reshape(std::vector<int64_t> shape, SourceLoc loc) const { return F::reshape(*this, shape, loc); }
Tensor Tensor::view(std::vector<int64_t> shape, SourceLoc loc) const { return F::reshape(*this, shape, loc); }
Tensor Tensor::flatten(int64_t start_dim, int64_t end_dim, SourceLoc loc) const {
  return F::flatten(*this, start_dim, end_dim, loc);
}
Tensor Tensor::squeeze(SourceLoc loc) const { return F::squeeze(*this, loc); }
Tensor Tensor::squeeze(int64_t dim, SourceLoc loc) const { return F::squeeze(*this, dim, loc); }
Tensor Tensor::unsqueeze(int64_t dim, SourceLoc loc) const { return F::unsqueeze(*this, dim, loc); }
Tensor Tensor::narrow(int64_t dim, int64_t start, int64_t length, SourceLoc loc) const {
  return F::narrow(*this, dim, start, length, loc);
}
Tensor Tensor::slice(int64_t dim, std::optional<int64_t> start, std::optional<int64_t> end, int64_t step,
                     SourceLoc loc) const {
  return F::slice(*this, dim, start, end, step, loc);
}
Tensor Tensor::index_select(int64_t dim, std::vector<int64_t> index, SourceLoc loc) const {
  return F::index_select(*this, dim, std::move(index), loc);
}
Tensor Tensor::index_select(int64_t dim, const Tensor& index, SourceLoc loc) const {
  return F::index_select(*this, dim, index, loc);
}
Tensor Tensor::gather(int64_t dim, const Tensor& index, bool sparse_grad, SourceLoc loc) const {
  return F::gather(*this, dim, index, sparse_grad, loc);
}
std::vector<Tensor> Tensor::split(int64_t split_size, int64_t dim, SourceLoc loc) const {
  return F::split(*this, split_size, dim, loc);
}
std::vector<Tensor> Tensor::split(std::vector<int64_t> split_sizes, int64_t dim, SourceLoc loc) const {
  return F::split(*this, std::move(split_sizes), dim, loc);
}
std::vector<Tensor> Tensor::chunk(int64_t chunks, int64_t dim, SourceLoc loc) const {
  return F::chunk(*this, chunks, dim, loc);
}
Tensor Tensor::matmul(const Tensor& other, SourceLoc loc) const { return F::matmul(*this, other, loc); }
Tensor Tensor::clamp(std::optional<double> min, std::optional<double> max, SourceLoc loc) const {
  return F::clamp(*this, min, max, loc);
}
Tensor Tensor::pow(double exponent, SourceLoc loc) const { return F::pow(*this, exponent, loc); }
Tensor Tensor::pow(const Tensor& exponent, SourceLoc loc) const { return F::pow(*this, exponent, loc); }
Tensor Tensor::sum(std::vector<int64_t> dim, bool keepdim, SourceLoc loc) const {
  return F::sum(*this, std::move(dim), keepdim, loc);
}
Tensor Tensor::mean(std::vector<int64_t> dim, bool keepdim, SourceLoc loc) const {
  return F::mean(*this, std::move(dim), keepdim, loc);
}
Tensor Tensor::argmax(std::optional<int64_t> dim, bool keepdim, SourceLoc loc) const {
  return F::argmax(*this, dim, keepdim, loc);
}
Tensor Tensor::amax(std::vector<int64_t> dim, bool keepdim, SourceLoc loc) const {
  return F::amax(*this, std::move(dim), keepdim, loc);
}
Tensor Tensor::amin(std::vector<int64_t> dim, bool keepdim, SourceLoc loc) const {
  return F::amin(*this, std::move(dim), keepdim, loc);
}
Tensor Tensor::masked_fill(const Tensor& mask, double value, SourceLoc loc) const {
  return F::masked_fill(*this, mask, value, loc);
}
Tensor Tensor::exp(SourceLoc loc) const { return F::exp(*this, loc); }
Tensor Tensor::log(SourceLoc loc) const { return F::log(*this, loc); }
Tensor Tensor::sqrt(SourceLoc loc) const { return F::sqrt(*this, loc); }
Tensor Tensor::abs(SourceLoc loc) const { return F::abs(*this, loc); }
Tensor Tensor::neg(SourceLoc loc) const { return F::neg(*this, loc); }
Tensor Tensor::tanh(SourceLoc loc) const { return F::tanh(*this, loc); }
Tensor Tensor::sigmoid(SourceLoc loc) const { return F::sigmoid(*this, loc); }
Tensor Tensor::relu(SourceLoc loc) const { return F::relu(*this, loc); }
Tensor Tensor::detach(SourceLoc loc) const { return F::detach(*this, loc); }

Tensor operator-(const Tensor& a, const detail::LocatedTensor& b) { return F::sub(a, b.tensor, b.loc); }
Tensor operator/(const Tensor& a, const detail::LocatedTensor& b) { return F::div(a, b.tensor, b.loc); }
Tensor operator-(const detail::LocatedTensor& a) { return F::neg(a.tensor, a.loc); }

Tensor operator+(const Tensor& a, detail::LocatedScalar b) { return F::add(a, b.value, b.loc); }
Tensor operator+(detail::LocatedScalar a, const Tensor& b) { return F::add(b, a.value, a.loc); }
Tensor operator-(const Tensor& a, detail::LocatedScalar b) { return F::sub(a, b.value, b.loc); }
Tensor operator-(detail::LocatedScalar a, const Tensor& b) { return F::rsub(b, a.value, a.loc); }
Tensor operator*(const Tensor& a, detail::LocatedScalar b) { return F::mul(a, b.value, b.loc); }
Tensor operator*(detail::LocatedScalar a, const Tensor& b) { return F::mul(b, a.value, a.loc); }
Tensor operator/(const Tensor& a, detail::LocatedScalar b) { return F::div(a, b.value, b.loc); }
Tensor operator/(detail::LocatedScalar a, const Tensor& b) {
  return F::mul(F::reciprocal(b, a.loc), a.value, a.loc);
}

Tensor operator>(const Tensor& a, const detail::LocatedTensor& b) { return F::gt(a, b.tensor, b.loc); }
Tensor operator<(const Tensor& a, const detail::LocatedTensor& b) { return F::lt(a, b.tensor, b.loc); }
Tensor operator>=(const Tensor& a, const detail::LocatedTensor& b) { return F::ge(a, b.tensor, b.loc); }
Tensor operator<=(const Tensor& a, const detail::LocatedTensor& b) { return F::le(a, b.tensor, b.loc); }
Tensor operator>(const Tensor& a, detail::LocatedScalar b) { return F::gt(a, b.value, b.loc); }
Tensor operator<(const Tensor& a, detail::LocatedScalar b) { return F::lt(a, b.value, b.loc); }
Tensor operator>=(const Tensor& a, detail::LocatedScalar b) { return F::ge(a, b.value, b.loc); }
Tensor operator<=(const Tensor& a, detail::LocatedScalar b) { return F::le(a, b.value, b.loc); }

}  // namespace kiln
