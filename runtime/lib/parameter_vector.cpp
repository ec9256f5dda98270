/* torch.nn.utils.parameters_to_vector / vector_to_parameters on an instance:
 * every parameter, in index order (the state_dict's), flattened into one
 * f32 vector and back. For tools outside Kiln's optimizers: evolution
 * strategies, a flat copy to average or compare, a weight-space line
 * search. */
#include "error.h"
#include "instance.h"

#include <kiln/runtime.h>

#include <string>

using namespace kiln::rt;

namespace {

/* The parameters' total element count (0 without a model). */
int64_t total_elements(const ModelSpec &s) {
  int64_t n = 0;
  for (int t : s.params)
    n += s.tensors[t].numel;
  return n;
}

Error check_call(const kiln_model *model, const void *vector, int64_t numel, const char *what) {
  if (!model || !vector)
    return fail(KILN_ERROR_INVALID_ARGUMENT, std::string(what) + ": model or vector is NULL");
  int64_t expected = total_elements(spec_of(model));
  if (numel != expected)
    return fail(KILN_ERROR_INVALID_ARGUMENT, std::string(what) + ": the vector has " +
                                                 std::to_string(numel) + " elements, the parameters " +
                                                 std::to_string(expected));
  return {};
}

} // namespace

extern "C" int64_t kiln_model_parameter_elements(const kiln_model *model) {
  return model ? total_elements(spec_of(model)) : 0;
}

extern "C" kiln_status kiln_model_parameters_to_vector(kiln_model *model, float *out, int64_t numel) {
  if (Error e = check_call(model, out, numel, "kiln_model_parameters_to_vector"))
    return set_thread_error(e);
  const ModelSpec &s = spec_of(model);
  for (int t : s.params) {
    if (Error e = read_tensor_of(model, t, out))
      return set_thread_error(e);
    out += s.tensors[t].numel;
  }
  return KILN_OK;
}

extern "C" kiln_status kiln_model_vector_to_parameters(kiln_model *model, const float *in,
                                                       int64_t numel) {
  if (Error e = check_call(model, in, numel, "kiln_model_vector_to_parameters"))
    return set_thread_error(e);
  const ModelSpec &s = spec_of(model);
  for (int t : s.params) {
    if (Error e = write_tensor_of(model, t, in))
      return set_thread_error(e);
    in += s.tensors[t].numel;
  }
  return KILN_OK;
}
