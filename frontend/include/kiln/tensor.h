#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kiln/error.h"

namespace kiln {

namespace nn {
class Module;
}

namespace detail {
class Trace;
/// What a parameter handle refers to: its module (compared, never
/// dereferenced) and its local name, with the line that registered it.
struct ParamRef {
  const nn::Module* owner;
  std::string name;
  SourceLoc loc;
};
}

/// Element types the model file knows ("float32", "int64"), and the bool
/// masks comparisons give inside a forward (never a model input or output).
enum class Dtype { Float32, Int64, Bool };
constexpr Dtype kFloat32 = Dtype::Float32;
constexpr Dtype kInt64 = Dtype::Int64;
constexpr Dtype kBool = Dtype::Bool;

/// The model file's spelling: "float32", "int64" (or "bool").
const char* dtype_name(Dtype dtype);

using Shape = std::vector<int64_t>;
/// "[128, 1, 28, 28]"
std::string shape_str(const Shape& shape);

/// A symbolic tensor: a value of the traced graph with a static shape and a
/// dtype, but no data. Tensors are created by kiln::input() (model inputs),
/// by calling modules/functions while kiln::save_model traces forward, and
/// by Module::register_parameter (a parameter handle: while a model is
/// traced it stands for the parameter's value, read where it is first used).
class Tensor {
 public:
  /// An undefined tensor (like libtorch's default-constructed Tensor).
  Tensor() = default;

  bool defined() const noexcept { return param_ || !name_.empty(); }
  /// The value's name in the model file ("x", "v3"). For a parameter handle,
  /// the active trace's value of the parameter (a `parameter` node, recorded
  /// at the first use); throws Error outside kiln::save_model.
  const std::string& name() const;
  /// Whether this is a parameter handle (Module::register_parameter's result).
  bool is_parameter() const noexcept { return param_ != nullptr; }
  const Shape& sizes() const noexcept { return shape_; }
  int64_t dim() const noexcept { return static_cast<int64_t>(shape_.size()); }
  /// Size of dimension `d`; negative `d` counts from the end, like torch.
  /// Throws Error when `d` is out of range.
  int64_t size(int64_t d) const;
  int64_t numel() const noexcept;
  Dtype dtype() const noexcept { return dtype_; }

  // libtorch's Tensor methods for the tensor functions (each records the
  // graph function of kiln::nn::functional with the same name).
  Tensor transpose(int64_t dim0, int64_t dim1, SourceLoc loc = SourceLoc::current()) const;
  Tensor t(SourceLoc loc = SourceLoc::current()) const;
  Tensor permute(std::vector<int64_t> dims, SourceLoc loc = SourceLoc::current()) const;
  Tensor reshape(std::vector<int64_t> shape, SourceLoc loc = SourceLoc::current()) const;
  /// The same as reshape (Kiln's tensors have no strides to share).
  Tensor view(std::vector<int64_t> shape, SourceLoc loc = SourceLoc::current()) const;
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1, SourceLoc loc = SourceLoc::current()) const;
  Tensor squeeze(SourceLoc loc = SourceLoc::current()) const;
  Tensor squeeze(int64_t dim, SourceLoc loc = SourceLoc::current()) const;
  Tensor unsqueeze(int64_t dim, SourceLoc loc = SourceLoc::current()) const;
  Tensor narrow(int64_t dim, int64_t start, int64_t length, SourceLoc loc = SourceLoc::current()) const;
  Tensor slice(int64_t dim = 0, std::optional<int64_t> start = std::nullopt,
               std::optional<int64_t> end = std::nullopt, int64_t step = 1,
               SourceLoc loc = SourceLoc::current()) const;
  Tensor index_select(int64_t dim, std::vector<int64_t> index, SourceLoc loc = SourceLoc::current()) const;
  Tensor index_select(int64_t dim, const Tensor& index, SourceLoc loc = SourceLoc::current()) const;
  Tensor gather(int64_t dim, const Tensor& index, bool sparse_grad = false,
                SourceLoc loc = SourceLoc::current()) const;
  std::vector<Tensor> split(int64_t split_size, int64_t dim = 0, SourceLoc loc = SourceLoc::current()) const;
  std::vector<Tensor> split(std::vector<int64_t> split_sizes, int64_t dim = 0,
                            SourceLoc loc = SourceLoc::current()) const;
  std::vector<Tensor> chunk(int64_t chunks, int64_t dim = 0, SourceLoc loc = SourceLoc::current()) const;
  Tensor matmul(const Tensor& other, SourceLoc loc = SourceLoc::current()) const;
  Tensor clamp(std::optional<double> min, std::optional<double> max = std::nullopt,
               SourceLoc loc = SourceLoc::current()) const;
  Tensor pow(double exponent, SourceLoc loc = SourceLoc::current()) const;
  Tensor pow(const Tensor& exponent, SourceLoc loc = SourceLoc::current()) const;
  Tensor sum(std::vector<int64_t> dim = {}, bool keepdim = false, SourceLoc loc = SourceLoc::current()) const;
  Tensor mean(std::vector<int64_t> dim = {}, bool keepdim = false, SourceLoc loc = SourceLoc::current()) const;
  Tensor argmax(std::optional<int64_t> dim = std::nullopt, bool keepdim = false,
                SourceLoc loc = SourceLoc::current()) const;
  Tensor amax(std::vector<int64_t> dim = {}, bool keepdim = false, SourceLoc loc = SourceLoc::current()) const;
  Tensor amin(std::vector<int64_t> dim = {}, bool keepdim = false, SourceLoc loc = SourceLoc::current()) const;
  Tensor masked_fill(const Tensor& mask, double value, SourceLoc loc = SourceLoc::current()) const;
  Tensor exp(SourceLoc loc = SourceLoc::current()) const;
  Tensor log(SourceLoc loc = SourceLoc::current()) const;
  Tensor sqrt(SourceLoc loc = SourceLoc::current()) const;
  Tensor abs(SourceLoc loc = SourceLoc::current()) const;
  Tensor neg(SourceLoc loc = SourceLoc::current()) const;
  Tensor tanh(SourceLoc loc = SourceLoc::current()) const;
  Tensor sigmoid(SourceLoc loc = SourceLoc::current()) const;
  Tensor relu(SourceLoc loc = SourceLoc::current()) const;
  Tensor detach(SourceLoc loc = SourceLoc::current()) const;

 private:
  friend class detail::Trace;
  friend class nn::Module;
  friend Tensor input(std::string name, Shape shape, Dtype dtype);
  Tensor(std::string name, Shape shape, Dtype dtype, uint64_t trace_id)
      : name_(std::move(name)), shape_(std::move(shape)), dtype_(dtype), trace_id_(trace_id) {}
  /// A parameter handle.
  Tensor(detail::ParamRef ref, Shape shape)
      : shape_(std::move(shape)), param_(std::make_shared<const detail::ParamRef>(std::move(ref))) {}

  std::string name_;
  Shape shape_;
  Dtype dtype_ = Dtype::Float32;
  uint64_t trace_id_ = 0;  // 0: not yet bound to a trace (a kiln::input()).
  std::shared_ptr<const detail::ParamRef> param_;  // set for parameter handles only
};

/// Declares a model input (or the training target) for kiln::save_model.
/// Preconditions, checked by save_model: `name` is a C identifier (it names
/// an argument of the generated C API), unique among inputs and target, and
/// every dimension is >= 1 (static shapes).
Tensor input(std::string name, Shape shape, Dtype dtype = Dtype::Float32);

}  // namespace kiln
