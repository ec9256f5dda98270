// Builds kiln_model_metadata structs by hand for the runtime tests, the way
// kilnc's codegen/Wrappers.cpp lays them out in a generated object.
#ifndef KILN_TESTS_UNIT_METADATA_BUILDER_H
#define KILN_TESTS_UNIT_METADATA_BUILDER_H

#include <kiln/runtime.h>

#include <deque>
#include <string>
#include <vector>

namespace kiln_test {

inline kiln_init zeros() { return {KILN_INIT_ZEROS, {0, 0}}; }
inline kiln_init ones() { return {KILN_INIT_ONES, {0, 0}}; }
inline kiln_init uniform(double lo, double hi) { return {KILN_INIT_UNIFORM, {lo, hi}}; }
inline kiln_init normal(double mean, double std) { return {KILN_INIT_NORMAL, {mean, std}}; }

inline kiln_kernel_arg T(int tensor) { return {KILN_ARG_TENSOR, tensor}; }
inline kiln_kernel_arg N(int tensor) { return {KILN_ARG_TENSOR_NEXT, tensor}; }
inline kiln_kernel_arg G(int tensor) { return {KILN_ARG_GRADIENT, tensor}; }
inline kiln_kernel_arg U(int tensor) { return {KILN_ARG_TENSOR_UPDATE, tensor}; }
inline kiln_kernel_arg rng() { return {KILN_ARG_RNG, -1}; }
inline kiln_kernel_arg workspace() { return {KILN_ARG_WORKSPACE, -1}; }

/* Owns every array the metadata points to (deques: stable addresses). Fields
 * stay public so tests can break one on purpose. */
class MetadataBuilder {
public:
  explicit MetadataBuilder(std::string name = "toy") : name_(std::move(name)) {}
  MetadataBuilder(const MetadataBuilder &) = delete; // the struct points inside
  MetadataBuilder &operator=(const MetadataBuilder &) = delete;

  int tensor(const std::string &name, kiln_tensor_role role, kiln_dtype dtype,
             std::vector<int64_t> shape, kiln_init init = zeros()) {
    names_.push_back(name);
    shapes_.push_back(std::move(shape));
    kiln_tensor_info t{};
    t.name = names_.back().c_str();
    t.dtype = dtype;
    t.role = role;
    t.rank = static_cast<int32_t>(shapes_.back().size());
    t.shape = shapes_.back().empty() ? nullptr : shapes_.back().data();
    t.init = init;
    tensors.push_back(t);
    return static_cast<int>(tensors.size()) - 1;
  }

  void kernel(kiln_entry_point entry, kiln_mode mode, kiln_kernel_fn fn,
              std::vector<kiln_kernel_arg> args, int64_t rng_counters = 0) {
    args_.push_back(std::move(args));
    kiln_kernel_info k{};
    k.entry = entry;
    k.mode = mode;
    k.fn = fn;
    k.rng_counters = rng_counters;
    k.num_args = static_cast<int32_t>(args_.back().size());
    k.args = args_.back().data();
    kernels.push_back(k);
  }

  /* The struct, pointing into this builder; rebuilt on every call so edits
   * to `tensors` / `kernels` show. */
  const kiln_model_metadata *get() {
    metadata = kiln_model_metadata{};
    metadata.abi_version = KILN_METADATA_VERSION;
    metadata.struct_size = sizeof(kiln_model_metadata);
    metadata.name = name_.c_str();
    metadata.device = KILN_DEVICE_CPU;
    metadata.num_tensors = static_cast<int32_t>(tensors.size());
    metadata.tensors = tensors.data();
    metadata.num_kernels = static_cast<int32_t>(kernels.size());
    metadata.kernels = kernels.data();
    metadata.lr = lr;
    metadata.workspace_bytes = workspace_bytes;
    metadata.optimizer = optimizer;
    for (int i = 0; i < KILN_OPTIMIZER_ARGS; ++i)
      metadata.optimizer_args[i] = optimizer_args[i];
    metadata.flags = flags;
    return &metadata;
  }

  std::vector<kiln_tensor_info> tensors;
  std::vector<kiln_kernel_info> kernels;
  double lr = 0;
  int64_t workspace_bytes = 0;
  int32_t optimizer = KILN_OPTIMIZER_COMPILED;
  double optimizer_args[KILN_OPTIMIZER_ARGS] = {};
  uint32_t flags = 0; /* KILN_MODEL_* */
  kiln_model_metadata metadata{};

private:
  std::string name_;
  std::deque<std::string> names_;
  std::deque<std::vector<int64_t>> shapes_;
  std::deque<std::vector<kiln_kernel_arg>> args_;
};

} // namespace kiln_test

#endif
