#include "kiln/nn/functional.h"

#include <algorithm>

#include "shapes.h"

namespace kiln {
namespace detail {

Shape flatten_shape(const Shape& in, int64_t start_dim, int64_t end_dim, const std::string& what,
                    SourceLoc loc) {
  int64_t rank = static_cast<int64_t>(in.size());
  int64_t bound = std::max<int64_t>(rank, 1);  // torch treats a scalar as rank 1 here
  auto normalize = [&](int64_t d, const char* name) {
    int64_t i = d < 0 ? d + bound : d;
    if (i < 0 || i >= bound) {
      fail(loc, what + ": " + name + " " + std::to_string(d) + " is out of range for an input of shape " +
                    shape_str(in) + " (rank " + std::to_string(rank) + ")");
    }
    return i;
  };
  int64_t start = normalize(start_dim, "start_dim");
  int64_t end = normalize(end_dim, "end_dim");
  if (start > end) {
    fail(loc, what + ": start_dim " + std::to_string(start_dim) + " comes after end_dim " +
                  std::to_string(end_dim) + " for an input of shape " + shape_str(in));
  }
  if (rank == 0) return {1};
  Shape out(in.begin(), in.begin() + start);
  int64_t merged = 1;
  for (int64_t i = start; i <= end; ++i) merged *= in[i];
  out.push_back(merged);
  out.insert(out.end(), in.begin() + end + 1, in.end());
  return out;
}

Shape broadcast_shape(const Shape& a, const Shape& b, const std::string& what, SourceLoc loc) {
  size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    // Aligned at the end: a missing leading dimension acts as 1.
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1) {
      fail(loc, what + ": shapes " + shape_str(a) + " and " + shape_str(b) + " cannot be broadcast (dimension " +
                    std::to_string(i) + " of the result: " + std::to_string(da) + " vs " + std::to_string(db) + ")");
    }
    out[i] = da == 1 ? db : da;
  }
  return out;
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
  Shape shape = detail::broadcast_shape(a.sizes(), b.sizes(), what, loc);
  return detail::record_function(trace, function, {}, {a, b}, std::move(shape), a.dtype(), loc);
}

Tensor add(const Tensor& a, const Tensor& b, SourceLoc loc) { return elementwise("add", a, b, loc); }
Tensor mul(const Tensor& a, const Tensor& b, SourceLoc loc) { return elementwise("mul", a, b, loc); }

}  // namespace nn::functional

Tensor operator+(const Tensor& a, const detail::LocatedTensor& b) {
  return nn::functional::add(a, b.tensor, b.loc);
}
Tensor operator*(const Tensor& a, const detail::LocatedTensor& b) {
  return nn::functional::mul(a, b.tensor, b.loc);
}

}  // namespace kiln
