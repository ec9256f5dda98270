/* torch.optim.swa_utils.AveragedModel (1.13) over a model instance
 * (kiln/swa.h). The averaged state_dict lives on the host: it is read and
 * written once per update, through the instance's device copies. */
#include <kiln/swa.h>

#include "instance.h"

#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

using kiln::rt::Error;
using kiln::rt::fail;
using kiln::rt::quoted;
using kiln::rt::TensorSpec;

struct kiln_averaged_model {
  int32_t kind = KILN_AVERAGE_EQUAL;
  float decay = 0, keep = 0; // EMA: decay and 1 - decay as torch's f32 scalars
  bool use_buffers = false;
  int64_t n_averaged = 0;
  std::vector<int> ids;                     // the model's state_dict, table order
  std::vector<TensorSpec> specs;            // their specs ("module." names kept apart)
  std::vector<std::vector<unsigned char>> data; // averaged values, host
  std::vector<size_t> params;               // positions of the parameters in ids
};

namespace {

kiln_status record(const Error &e) { return kiln::rt::set_thread_error(e); }

Error bad(const std::string &what) { return fail(KILN_ERROR_INVALID_ARGUMENT, what); }

size_t bytes_of(const TensorSpec &t) {
  return static_cast<size_t>(t.numel) * kiln::rt::dtype_size(t.dtype);
}

/* `model`'s state_dict matches the averaged model's, tensor for tensor. */
Error check_same(const kiln_averaged_model &avg, const kiln_model *model, const char *function) {
  const kiln::rt::ModelSpec &s = kiln::rt::spec_of(model);
  std::vector<int> ids = kiln::rt::state_dict_of(s);
  if (ids.size() != avg.ids.size())
    return fail(KILN_ERROR_MISMATCH, std::string(function) + ": model " + quoted(s.name) +
                                         " is not the averaged model's");
  for (size_t i = 0; i < ids.size(); ++i) {
    const TensorSpec &t = s.tensors[ids[i]], &a = avg.specs[i];
    if (t.name != a.name || t.dtype != a.dtype || t.shape != a.shape)
      return fail(KILN_ERROR_MISMATCH, std::string(function) + ": tensor " + quoted(t.name) +
                                           " differs from the averaged model's " +
                                           quoted(a.name));
  }
  return {};
}

/* avg_fn on one f32 element, torch's operations in order. */
float average(const kiln_averaged_model &avg, float a, float p) {
  if (avg.kind == KILN_AVERAGE_EMA)
    return avg.decay * a + avg.keep * p;
  // (p - a) / (n_averaged + 1): the i64 0-dim tensor promotes to f32.
  return a + (p - a) / static_cast<float>(avg.n_averaged + 1);
}

void average_f32(const kiln_averaged_model &avg, float *a, const float *p, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    a[i] = average(avg, a[i], p[i]);
}

/* torch computes an i64 buffer's average in f32 (true division, f32
 * scalars) and copy_ truncates it back toward zero. */
void average_i64(const kiln_averaged_model &avg, int64_t *a, const int64_t *p, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    float v;
    if (avg.kind == KILN_AVERAGE_EMA)
      v = avg.decay * static_cast<float>(a[i]) + avg.keep * static_cast<float>(p[i]);
    else
      v = static_cast<float>(a[i]) +
          static_cast<float>(p[i] - a[i]) / static_cast<float>(avg.n_averaged + 1);
    a[i] = std::isfinite(v) ? static_cast<int64_t>(v) : a[i];
  }
}

std::string module_name(const TensorSpec &t) { return "module." + t.name; }

const TensorSpec &n_averaged_spec() {
  static const TensorSpec spec{"n_averaged", KILN_I64, KILN_ROLE_STEP, {}, 1, {}, {}, 0};
  return spec;
}

} // namespace

extern "C" kiln_status kiln_averaged_model_create(const kiln_model *model, int32_t kind,
                                                  double decay, int32_t use_buffers,
                                                  kiln_averaged_model **out) {
  KILN_API_GUARD_BEGIN
  if (out)
    *out = nullptr;
  if (!model || !out)
    return record(bad("kiln_averaged_model_create: model or out is NULL"));
  if (kind != KILN_AVERAGE_EQUAL && kind != KILN_AVERAGE_EMA)
    return record(bad("kiln_averaged_model_create: kind " + std::to_string(kind) +
                      " is neither KILN_AVERAGE_EQUAL (0) nor KILN_AVERAGE_EMA (1)"));
  if (kind == KILN_AVERAGE_EMA && !(decay >= 0 && decay <= 1))
    return record(bad("kiln_averaged_model_create: EMA decay must be in [0, 1]"));
  if (use_buffers != 0 && use_buffers != 1)
    return record(bad("kiln_averaged_model_create: use_buffers must be 0 or 1"));
  auto avg = std::make_unique<kiln_averaged_model>();
  avg->kind = kind;
  avg->decay = static_cast<float>(decay);
  avg->keep = static_cast<float>(1 - decay);
  avg->use_buffers = use_buffers != 0;
  const kiln::rt::ModelSpec &s = kiln::rt::spec_of(model);
  avg->ids = kiln::rt::state_dict_of(s);
  for (size_t i = 0; i < avg->ids.size(); ++i) {
    const TensorSpec &t = s.tensors[avg->ids[i]];
    avg->specs.push_back(t);
    avg->data.emplace_back(bytes_of(t));
    // deepcopy(model): the state_dict as it is now.
    if (Error e = kiln::rt::read_tensor_of(model, avg->ids[i], avg->data.back().data()))
      return record(e);
    if (t.role == KILN_ROLE_PARAMETER)
      avg->params.push_back(i);
  }
  *out = avg.release();
  return KILN_OK;
  KILN_API_GUARD_END([](const Error &e) { return record(e); })
}

extern "C" void kiln_averaged_model_destroy(kiln_averaged_model *avg) { delete avg; }

extern "C" kiln_status kiln_averaged_model_update(kiln_averaged_model *avg,
                                                  const kiln_model *model) {
  KILN_API_GUARD_BEGIN
  if (!avg || !model)
    return record(bad("kiln_averaged_model_update: averaged model or model is NULL"));
  if (Error e = check_same(*avg, model, "kiln_averaged_model_update"))
    return record(e);
  // Read everything first: a failed copy changes nothing.
  std::vector<std::vector<unsigned char>> current;
  for (size_t i = 0; i < avg->ids.size(); ++i) {
    const bool averaged = avg->specs[i].role == KILN_ROLE_PARAMETER || avg->use_buffers;
    current.emplace_back(averaged ? avg->data[i].size() : 0);
    if (averaged)
      if (Error e = kiln::rt::read_tensor_of(model, avg->ids[i], current.back().data()))
        return record(e);
  }
  for (size_t i = 0; i < avg->ids.size(); ++i) {
    if (current[i].empty() && avg->data[i].size() > 0)
      continue; // a buffer without use_buffers
    const TensorSpec &t = avg->specs[i];
    if (avg->n_averaged == 0) {
      avg->data[i] = current[i];
    } else if (t.dtype == KILN_F32) {
      average_f32(*avg, reinterpret_cast<float *>(avg->data[i].data()),
                  reinterpret_cast<const float *>(current[i].data()), t.numel);
    } else {
      average_i64(*avg, reinterpret_cast<int64_t *>(avg->data[i].data()),
                  reinterpret_cast<const int64_t *>(current[i].data()), t.numel);
    }
  }
  avg->n_averaged += 1;
  return KILN_OK;
  KILN_API_GUARD_END([](const Error &e) { return record(e); })
}

extern "C" kiln_status kiln_averaged_model_n_averaged(const kiln_averaged_model *avg,
                                                      int64_t *n) {
  if (!avg || !n)
    return record(bad("kiln_averaged_model_n_averaged: averaged model or n is NULL"));
  *n = avg->n_averaged;
  return KILN_OK;
}

extern "C" kiln_status kiln_averaged_model_parameter(const kiln_averaged_model *avg, int index,
                                                     const char **name, const float **data,
                                                     int64_t *numel) {
  if (!avg)
    return record(bad("kiln_averaged_model_parameter: averaged model is NULL"));
  if (index < 0 || static_cast<size_t>(index) >= avg->params.size())
    return record(bad("kiln_averaged_model_parameter: index " + std::to_string(index) +
                      " out of range [0, " + std::to_string(avg->params.size()) + ")"));
  const size_t i = avg->params[static_cast<size_t>(index)];
  if (name)
    *name = avg->specs[i].name.c_str();
  if (data)
    *data = reinterpret_cast<const float *>(avg->data[i].data());
  if (numel)
    *numel = avg->specs[i].numel;
  return KILN_OK;
}

extern "C" kiln_status kiln_averaged_model_store(const kiln_averaged_model *avg,
                                                 kiln_model *model) {
  KILN_API_GUARD_BEGIN
  if (!avg || !model)
    return record(bad("kiln_averaged_model_store: averaged model or model is NULL"));
  if (Error e = check_same(*avg, model, "kiln_averaged_model_store"))
    return record(e);
  for (size_t i = 0; i < avg->ids.size(); ++i)
    if (Error e = kiln::rt::write_tensor_of(model, avg->ids[i], avg->data[i].data()))
      return record(e);
  return KILN_OK;
  KILN_API_GUARD_END([](const Error &e) { return record(e); })
}

extern "C" kiln_status kiln_averaged_model_save(const kiln_averaged_model *avg,
                                                const char *path) {
  KILN_API_GUARD_BEGIN
  if (!avg || !path)
    return record(bad("kiln_averaged_model_save: averaged model or path is NULL"));
  std::vector<std::string> names;
  names.reserve(avg->specs.size());
  // torch's order: the AveragedModel's own buffer, then its child `module`.
  std::vector<kiln_tensor_view> views{{"n_averaged", KILN_I64, 0, nullptr, &avg->n_averaged}};
  for (size_t i = 0; i < avg->specs.size(); ++i) {
    const TensorSpec &t = avg->specs[i];
    names.push_back(module_name(t));
    views.push_back({names.back().c_str(), t.dtype, static_cast<int>(t.shape.size()),
                     t.shape.data(), avg->data[i].data()});
  }
  return record(kiln::rt::write_safetensors(path, views.data(), static_cast<int>(views.size())));
  KILN_API_GUARD_END([](const Error &e) { return record(e); })
}

extern "C" kiln_status kiln_averaged_model_load(kiln_averaged_model *avg, const char *path) {
  KILN_API_GUARD_BEGIN
  if (!avg || !path)
    return record(bad("kiln_averaged_model_load: averaged model or path is NULL"));
  std::unique_ptr<kiln_safetensors> file;
  if (Error e = kiln::rt::read_safetensors(path, &file))
    return record(e);
  std::vector<TensorSpec> expected = avg->specs;
  for (TensorSpec &t : expected)
    t.name = module_name(t);
  expected.push_back(n_averaged_spec());
  std::vector<const TensorSpec *> pointers;
  for (const TensorSpec &t : expected)
    pointers.push_back(&t);
  if (Error e = kiln::rt::validate_file_tensors(*file, pointers))
    return record(e);
  int64_t n = 0;
  std::memcpy(&n, file->find("n_averaged")->data, sizeof n);
  if (n < 0)
    return record(fail(KILN_ERROR_MISMATCH, file->path + ": tensor 'n_averaged' is negative (" +
                                                std::to_string(n) + ")"));
  for (size_t i = 0; i < avg->specs.size(); ++i)
    std::memcpy(avg->data[i].data(), file->find(expected[i].name)->data, avg->data[i].size());
  avg->n_averaged = n;
  return KILN_OK;
  KILN_API_GUARD_END([](const Error &e) { return record(e); })
}
