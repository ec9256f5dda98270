#include "kiln/tensor.h"

#include "kiln/error.h"
#include "kiln/trace.h"

#include <string_view>

namespace kiln {

namespace {
/// The innermost CallerLocScope's location (none: file "").
thread_local SourceLoc caller_loc;

/// Whether `file` is kiln/module.h (call_forward's default SourceLoc).
bool in_holder(const char* file) {
  static constexpr std::string_view holder = "kiln/module.h";
  std::string_view f = file ? file : "";
  return f.size() >= holder.size() && f.substr(f.size() - holder.size()) == holder;
}
}  // namespace

SourceLoc detail::resolve_caller_loc(SourceLoc loc) {
  return in_holder(loc.file) && caller_loc.file && *caller_loc.file ? caller_loc : loc;
}

detail::CallerLocScope::CallerLocScope(SourceLoc loc) : previous_(caller_loc) {
  // A location inside the holder itself adds nothing: keep the outer one.
  if (!in_holder(loc.file)) caller_loc = loc;
}

detail::CallerLocScope::~CallerLocScope() { caller_loc = previous_; }

std::string SourceLoc::str() const {
  SourceLoc at = detail::resolve_caller_loc(*this);
  if (at.file == nullptr || *at.file == '\0') return "";
  return std::string(at.file) + ":" + std::to_string(at.line);
}

std::string SourceLoc::short_str() const {
  SourceLoc at = detail::resolve_caller_loc(*this);
  if (at.file == nullptr || *at.file == '\0') return "";
  std::string f(at.file);
  size_t slash = f.find_last_of("/\\");
  if (slash != std::string::npos) f = f.substr(slash + 1);
  return f + ":" + std::to_string(at.line);
}

namespace detail {
void fail(SourceLoc loc, const std::string& message) {
  std::string where = loc.str();
  throw Error(where.empty() ? message : where + ": error: " + message);
}
void fail(const std::string& message) { throw Error(message); }
}  // namespace detail

const std::string& Tensor::name() const {
  if (!param_) return name_;
  detail::Trace* trace = detail::Trace::current();
  if (!trace) {
    detail::fail(param_->loc, "parameter '" + param_->name +
                                  "' was used outside kiln::save_model; parameters are read while a model is traced");
  }
  return trace->parameter_value(*param_, shape_);
}

const char* dtype_name(Dtype dtype) {
  switch (dtype) {
    case Dtype::Float32: return "float32";
    case Dtype::Int64: return "int64";
    case Dtype::Bool: return "bool";
  }
  return "?";
}

std::string shape_str(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

int64_t Tensor::size(int64_t d) const {
  int64_t rank = dim();
  int64_t i = d < 0 ? d + rank : d;
  if (i < 0 || i >= rank) {
    detail::fail("Tensor::size: dimension " + std::to_string(d) + " out of range for tensor '" + name_ +
                 "' of shape " + shape_str(shape_));
  }
  return shape_[i];
}

int64_t Tensor::numel() const noexcept {
  int64_t n = 1;
  for (int64_t s : shape_) n *= s;
  return n;
}

Tensor input(std::string name, Shape shape, Dtype dtype) {
  // Validated when bound by save_model, where the error can name its caller.
  return Tensor(std::move(name), std::move(shape), dtype, 0);
}

}  // namespace kiln
