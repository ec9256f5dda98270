#include "state_tensor.h"

namespace kiln::rt {

AroundDim around_dim(const std::vector<int64_t> &shape, int64_t dim) {
  AroundDim a;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d)
    (dim < 0 || d > dim ? a.inner : d < dim ? a.outer : a.size) *= shape[d];
  return a;
}

int find_state_tensor(const kiln_model *model, const std::string &name) {
  const ModelSpec &s = spec_of(model);
  for (int t : state_dict_of(s))
    if (s.tensors[t].name == name && s.tensors[t].dtype == KILN_F32)
      return t;
  return -1;
}

Error read_state_tensor(const kiln_model *model, const std::string &name, bool required,
                        const std::string &what, StateTensor &out) {
  out = StateTensor();
  out.index = find_state_tensor(model, name);
  if (!out.found()) {
    if (!required)
      return Error();
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                what + ": the model has no float32 parameter or buffer " + quoted(name));
  }
  const TensorSpec &t = spec_of(model).tensors[out.index];
  out.shape = t.shape;
  out.values.resize(t.numel);
  return read_tensor_of(model, out.index, out.values.data());
}

Error write_state_tensors(kiln_model *model, const std::vector<std::string> &names,
                          const std::vector<std::vector<int64_t>> &shapes,
                          const std::vector<const std::vector<float> *> &values,
                          const std::string &what) {
  std::vector<int> index;
  const ModelSpec &s = spec_of(model);
  for (size_t i = 0; i < names.size(); ++i) {
    int t = find_state_tensor(model, names[i]);
    if (t < 0)
      return fail(KILN_ERROR_INVALID_ARGUMENT,
                  what + ": the target model has no float32 parameter or buffer " +
                      quoted(names[i]));
    if (s.tensors[t].shape != shapes[i])
      return fail(KILN_ERROR_MISMATCH, what + ": the target's " + quoted(names[i]) + " " +
                                           shape_string(s.tensors[t].shape) + " must be " +
                                           shape_string(shapes[i]));
    index.push_back(t);
  }
  for (size_t i = 0; i < index.size(); ++i)
    if (Error e = write_tensor_of(model, index[i], values[i]->data()))
      return e;
  return Error();
}

} // namespace kiln::rt
