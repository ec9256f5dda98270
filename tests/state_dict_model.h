// A model instance that is nothing but a state_dict: hand-made metadata
// with the given parameters and buffers and one forward kernel that does
// nothing. For drivers that test the runtime's utilities on an instance's
// tensors (tests/sched/swa_driver.cpp, tests/prune/prune_driver.cpp).
#ifndef KILN_TESTS_STATE_DICT_MODEL_H
#define KILN_TESTS_STATE_DICT_MODEL_H

#include <kiln/runtime.h>

#include <string>
#include <vector>

namespace kiln_test {

struct StateDictTensor {
  std::string name;
  kiln_dtype dtype = KILN_F32;
  bool buffer = false;  // else a parameter
  std::vector<int64_t> shape;
};

inline void do_nothing(void **) {}

/// kiln_model_create of those tensors (then an input x and an output y of
/// one element, which the kernel takes); NULL on failure (kiln_last_error
/// says why). The runtime copies the metadata: `tensors` need not outlive
/// the call.
inline kiln_model *create_state_dict_model(const char *name, const std::vector<StateDictTensor> &tensors) {
  std::vector<kiln_tensor_info> infos;
  for (const StateDictTensor &t : tensors) {
    kiln_tensor_info info{};
    info.name = t.name.c_str();
    info.dtype = t.dtype;
    info.role = t.buffer ? KILN_ROLE_BUFFER : KILN_ROLE_PARAMETER;
    info.rank = static_cast<int32_t>(t.shape.size());
    info.shape = t.shape.empty() ? nullptr : t.shape.data();
    infos.push_back(info);
  }
  const int state_dict = static_cast<int>(infos.size());
  static const int64_t one[1] = {1};
  infos.push_back({"x", KILN_F32, KILN_ROLE_INPUT, 1, one, {}, {}});
  infos.push_back({"y", KILN_F32, KILN_ROLE_OUTPUT, 1, one, {}, {}});
  const kiln_kernel_arg args[] = {{KILN_ARG_TENSOR, state_dict}, {KILN_ARG_TENSOR, state_dict + 1}};
  const kiln_kernel_info kernel{KILN_ENTRY_FORWARD, KILN_MODE_ANY, do_nothing, 2, args, 0};
  kiln_model_metadata md{};
  md.abi_version = KILN_METADATA_VERSION;
  md.struct_size = sizeof md;
  md.name = name;
  md.device = KILN_DEVICE_CPU;
  md.num_tensors = static_cast<int32_t>(infos.size());
  md.tensors = infos.data();
  md.num_kernels = 1;
  md.kernels = &kernel;
  kiln_model *model = nullptr;
  return kiln_model_create(&md, &model) == KILN_OK ? model : nullptr;
}

}  // namespace kiln_test

#endif  // KILN_TESTS_STATE_DICT_MODEL_H
