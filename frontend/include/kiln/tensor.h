#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kiln {

namespace detail {
class Trace;
}

/// Element types the model file knows ("float32", "int64").
enum class Dtype { Float32, Int64 };
constexpr Dtype kFloat32 = Dtype::Float32;
constexpr Dtype kInt64 = Dtype::Int64;

/// The model file's spelling: "float32" or "int64".
const char* dtype_name(Dtype dtype);

using Shape = std::vector<int64_t>;
/// "[128, 1, 28, 28]"
std::string shape_str(const Shape& shape);

/// A symbolic tensor: a value of the traced graph with a static shape and a
/// dtype, but no data. Tensors are created by kiln::input() (model inputs)
/// and by calling modules/functions while kiln::save_model traces forward.
class Tensor {
 public:
  /// An undefined tensor (like libtorch's default-constructed Tensor).
  Tensor() = default;

  bool defined() const noexcept { return !name_.empty(); }
  /// The value's name in the model file ("x", "v3").
  const std::string& name() const noexcept { return name_; }
  const Shape& sizes() const noexcept { return shape_; }
  int64_t dim() const noexcept { return static_cast<int64_t>(shape_.size()); }
  /// Size of dimension `d`; negative `d` counts from the end, like torch.
  /// Throws Error when `d` is out of range.
  int64_t size(int64_t d) const;
  int64_t numel() const noexcept;
  Dtype dtype() const noexcept { return dtype_; }

 private:
  friend class detail::Trace;
  friend Tensor input(std::string name, Shape shape, Dtype dtype);
  Tensor(std::string name, Shape shape, Dtype dtype, uint64_t trace_id)
      : name_(std::move(name)), shape_(std::move(shape)), dtype_(dtype), trace_id_(trace_id) {}

  std::string name_;
  Shape shape_;
  Dtype dtype_ = Dtype::Float32;
  uint64_t trace_id_ = 0;  // 0: not yet bound to a trace (a kiln::input()).
};

/// Declares a model input (or the training target) for kiln::save_model.
/// Preconditions, checked by save_model: `name` is a C identifier (it names
/// an argument of the generated C API), unique among inputs and target, and
/// every dimension is >= 1 (static shapes).
Tensor input(std::string name, Shape shape, Dtype dtype = Dtype::Float32);

}  // namespace kiln
