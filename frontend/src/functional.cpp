#include "kiln/nn/functional.h"

#include <algorithm>

#include "ir/ShapeRules.h"
#include "shapes.h"

namespace kiln {
namespace detail {

// The rules themselves live in ir/ShapeRules.h, shared with the compiler's
// ops: the DSL adds who failed and where.
Shape flatten_shape(const Shape& in, int64_t start_dim, int64_t end_dim, const std::string& what,
                    SourceLoc loc) {
  shape_rules::Inferred r = shape_rules::flatten(in, start_dim, end_dim);
  if (!r.ok()) fail(loc, what + ": " + r.error);
  return r.shape;
}

Shape broadcast_shape(const Shape& a, const Shape& b, const std::string& what, SourceLoc loc) {
  shape_rules::Inferred r = shape_rules::broadcast(a, b);
  if (!r.ok()) fail(loc, what + ": " + r.error);
  return r.shape;
}

static GraphNode make_node(const std::vector<Tensor>& inputs, SourceLoc loc) {
  GraphNode node;
  for (const Tensor& t : inputs) node.inputs.push_back(t.name());
  node.loc = loc;
  return node;
}

Tensor record_module(Trace& trace, const std::string& path, const std::vector<Tensor>& inputs, Shape shape,
                     Dtype dtype, SourceLoc loc) {
  GraphNode node = make_node(inputs, loc);
  node.module = path;
  return trace.record(std::move(node), std::move(shape), dtype);
}

std::vector<Tensor> record_module(Trace& trace, const std::string& path, const std::vector<Tensor>& inputs,
                                  const std::vector<std::pair<Shape, Dtype>>& outputs, SourceLoc loc) {
  GraphNode node = make_node(inputs, loc);
  node.module = path;
  return trace.record(std::move(node), outputs);
}

std::vector<Tensor> record_module(Trace& trace, const std::string& path, const std::vector<Tensor>& inputs,
                                  OptionList call_options,
                                  const std::vector<std::pair<Shape, Dtype>>& outputs, SourceLoc loc) {
  GraphNode node = make_node(inputs, loc);
  node.module = path;
  node.options = std::move(call_options);
  return trace.record(std::move(node), outputs);
}

Tensor record_method(Trace& trace, const std::string& path, const std::string& method,
                     const std::vector<Tensor>& inputs, Shape shape, SourceLoc loc, Dtype dtype) {
  GraphNode node = make_node(inputs, loc);
  node.module = path;
  node.method = method;
  return trace.record(std::move(node), std::move(shape), dtype);
}

std::vector<Tensor> record_function(Trace& trace, const std::string& function, OptionList options,
                                    const std::vector<Tensor>& inputs,
                                    const std::vector<std::pair<Shape, Dtype>>& outputs, SourceLoc loc) {
  GraphNode node = make_node(inputs, loc);
  node.function = function;
  node.options = std::move(options);
  return trace.record(std::move(node), outputs);
}

Tensor record_function(Trace& trace, const std::string& function, OptionList options,
                       const std::vector<Tensor>& inputs, Shape shape, Dtype dtype, SourceLoc loc) {
  GraphNode node = make_node(inputs, loc);
  node.function = function;
  node.options = std::move(options);
  return trace.record(std::move(node), std::move(shape), dtype);
}

}  // namespace detail

namespace nn::functional {

Tensor relu(const Tensor& input, SourceLoc loc) {
  auto& trace = detail::Trace::active("relu()", loc);
  trace.check_value(input, "relu()", loc);
  detail::require_float32(input, "relu()", loc);
  return detail::record_function(trace, "relu", {}, {input}, input.sizes(), input.dtype(), loc);
}

Tensor flatten(const Tensor& input, int64_t start_dim, int64_t end_dim, SourceLoc loc) {
  auto& trace = detail::Trace::active("flatten()", loc);
  trace.check_value(input, "flatten()", loc);
  Shape shape = detail::flatten_shape(input.sizes(), start_dim, end_dim, "flatten()", loc);
  return detail::record_function(trace, "flatten", {{"start_dim", start_dim}, {"end_dim", end_dim}}, {input},
                                 std::move(shape), input.dtype(), loc);
}

static Tensor elementwise(const char* function, const Tensor& a, const Tensor& b, SourceLoc loc) {
  std::string what = std::string(function) + "()";
  auto& trace = detail::Trace::active(what, loc);
  trace.check_value(a, what, loc);
  trace.check_value(b, what, loc);
  if (a.dtype() != b.dtype()) {
    detail::fail(loc, what + ": operands have different dtypes (" + dtype_name(a.dtype()) + " '" + a.name() +
                          "' and " + dtype_name(b.dtype()) + " '" + b.name() + "'); there is no type promotion");
  }
  if (a.dtype() == Dtype::Bool) {
    detail::fail(loc, what + ": '" + a.name() + "' is a bool mask; masks feed where() and masked_fill(), not arithmetic");
  }
  Shape shape = detail::broadcast_shape(a.sizes(), b.sizes(), what, loc);
  return detail::record_function(trace, function, detail::binary_options(function, nullptr), {a, b},
                                 std::move(shape), a.dtype(), loc);
}

Tensor add(const Tensor& a, const Tensor& b, SourceLoc loc) { return elementwise("add", a, b, loc); }
Tensor mul(const Tensor& a, const Tensor& b, SourceLoc loc) { return elementwise("mul", a, b, loc); }
Tensor sub(const Tensor& a, const Tensor& b, SourceLoc loc) { return elementwise("sub", a, b, loc); }
Tensor div(const Tensor& a, const Tensor& b, SourceLoc loc) { return elementwise("div", a, b, loc); }
Tensor maximum(const Tensor& a, const Tensor& b, SourceLoc loc) { return elementwise("maximum", a, b, loc); }
Tensor minimum(const Tensor& a, const Tensor& b, SourceLoc loc) { return elementwise("minimum", a, b, loc); }
Tensor pow(const Tensor& a, const Tensor& b, SourceLoc loc) { return elementwise("pow", a, b, loc); }

static Tensor unary(const char* function, const Tensor& input, SourceLoc loc) {
  std::string what = std::string(function) + "()";
  auto& trace = detail::Trace::active(what, loc);
  trace.check_value(input, what, loc);
  detail::require_float32(input, what, loc);
  return detail::record_function(trace, function, {}, {input}, input.sizes(), input.dtype(), loc);
}

Tensor neg(const Tensor& x, SourceLoc loc) { return unary("neg", x, loc); }
Tensor abs(const Tensor& x, SourceLoc loc) { return unary("abs", x, loc); }
Tensor sign(const Tensor& x, SourceLoc loc) { return unary("sign", x, loc); }
Tensor exp(const Tensor& x, SourceLoc loc) { return unary("exp", x, loc); }
Tensor log(const Tensor& x, SourceLoc loc) { return unary("log", x, loc); }
Tensor log1p(const Tensor& x, SourceLoc loc) { return unary("log1p", x, loc); }
Tensor sqrt(const Tensor& x, SourceLoc loc) { return unary("sqrt", x, loc); }
Tensor rsqrt(const Tensor& x, SourceLoc loc) { return unary("rsqrt", x, loc); }
Tensor tanh(const Tensor& x, SourceLoc loc) { return unary("tanh", x, loc); }
Tensor sigmoid(const Tensor& x, SourceLoc loc) { return unary("sigmoid", x, loc); }
Tensor erf(const Tensor& x, SourceLoc loc) { return unary("erf", x, loc); }

static Tensor reduction(const char* function, const Tensor& input, std::vector<int64_t> dim, bool keepdim,
                        SourceLoc loc) {
  std::string what = std::string(function) + "()";
  auto& trace = detail::Trace::active(what, loc);
  trace.check_value(input, what, loc);
  detail::require_float32(input, what, loc);
  shape_rules::Inferred r = shape_rules::reduce(input.sizes(), dim, keepdim);
  if (!r.ok()) detail::fail(loc, what + ": " + r.error);
  return detail::record_function(trace, function, {{"dim", dim}, {"keepdim", keepdim}}, {input}, r.shape,
                                 input.dtype(), loc);
}

Tensor sum(const Tensor& x, std::vector<int64_t> dim, bool keepdim, SourceLoc loc) {
  return reduction("sum", x, std::move(dim), keepdim, loc);
}
Tensor mean(const Tensor& x, std::vector<int64_t> dim, bool keepdim, SourceLoc loc) {
  return reduction("mean", x, std::move(dim), keepdim, loc);
}

Tensor permute(const Tensor& input, std::vector<int64_t> dims, SourceLoc loc) {
  auto& trace = detail::Trace::active("permute()", loc);
  trace.check_value(input, "permute()", loc);
  detail::require_float32(input, "permute()", loc);
  shape_rules::Inferred r = shape_rules::permute(input.sizes(), dims);
  if (!r.ok()) detail::fail(loc, "permute(): " + r.error);
  return detail::record_function(trace, "permute", {{"dims", dims}}, {input}, r.shape, input.dtype(), loc);
}

Tensor narrow(const Tensor& input, int64_t dim, int64_t start, int64_t length, SourceLoc loc) {
  auto& trace = detail::Trace::active("narrow()", loc);
  trace.check_value(input, "narrow()", loc);
  detail::require_float32(input, "narrow()", loc);
  shape_rules::SliceBounds bounds = shape_rules::narrow(input.sizes(), dim, start, length);
  if (!bounds.ok()) detail::fail(loc, "narrow(): " + bounds.error);
  shape_rules::Inferred r = shape_rules::slice(input.sizes(), bounds);
  return detail::record_function(trace, "narrow", {{"dim", dim}, {"start", start}, {"length", length}}, {input},
                                 r.shape, input.dtype(), loc);
}

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim, SourceLoc loc) {
  auto& trace = detail::Trace::active("cat()", loc);
  std::vector<Shape> shapes;
  for (const Tensor& t : tensors) {
    trace.check_value(t, "cat()", loc);
    detail::require_float32(t, "cat()", loc);
    shapes.push_back(t.sizes());
  }
  // The whole list checked at once, so that the message counts tensors as
  // the user wrote them.
  shape_rules::Inferred all = shape_rules::concat(shapes, dim);
  if (!all.ok()) detail::fail(loc, "cat(): " + all.error);
  Tensor result = tensors.front();
  for (size_t i = 1; i < tensors.size(); ++i) {
    Shape shape = shape_rules::concat({result.sizes(), tensors[i].sizes()}, dim).shape;
    result = detail::record_function(trace, "cat", {{"dim", dim}}, {result, tensors[i]}, std::move(shape),
                                     result.dtype(), loc);
  }
  return result;
}

}  // namespace nn::functional

Tensor operator+(const Tensor& a, const detail::LocatedTensor& b) {
  return nn::functional::add(a, b.tensor, b.loc);
}
Tensor operator*(const Tensor& a, const detail::LocatedTensor& b) {
  return nn::functional::mul(a, b.tensor, b.loc);
}

}  // namespace kiln
