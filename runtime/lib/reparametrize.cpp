/* torch.nn.utils.remove_weight_norm / remove_spectral_norm and
 * parametrize.remove_parametrizations between instances
 * (kiln/reparametrize.h says what each computes): the re-parametrized
 * tensor's current value, computed on the host from `from`'s tensors,
 * written into `to`'s plain parameter. Sums in double, results in float32
 * (torch's float kernels agree to rounding). */
#include "state_tensor.h"

#include <kiln/reparametrize.h>

#include <cmath>
#include <string>
#include <vector>

using namespace kiln::rt;

namespace {

/* "fc.weight" -> {"fc.", "weight"}: the module prefix (with its dot, empty
 * for the root) and the parameter. */
std::pair<std::string, std::string> splitName(const std::string &name) {
  size_t dot = name.rfind('.');
  if (dot == std::string::npos)
    return {"", name};
  return {name.substr(0, dot + 1), name.substr(dot + 1)};
}

/* weight = v * (g / norm_except_dim(v, 2, dim)), dim read from g's shape:
 * g is a scalar (the norm over everything) or has v's rank with 1
 * everywhere but at dim. */
Error weightNorm(const StateTensor &g, const StateTensor &v, const std::string &what,
                 std::vector<float> &weight) {
  const size_t rank = v.shape.size();
  int64_t dim = -1;
  if (!g.shape.empty()) {
    bool fits = g.shape.size() == rank;
    for (size_t d = 0; fits && d < rank; ++d)
      if (g.shape[d] != 1 && g.shape[d] != v.shape[d])
        fits = false;
    for (size_t d = 0; fits && d < rank; ++d)
      if (g.shape[d] == v.shape[d] && (dim < 0 || g.shape[d] != 1))
        dim = static_cast<int64_t>(d);
    int64_t kept = 1;
    for (int64_t s : g.shape)
      kept *= s;
    if (!fits || (dim >= 0 && kept != v.shape[dim]))
      return fail(KILN_ERROR_MISMATCH, what + ": g " + shape_string(g.shape) +
                                           " is not a weight norm's g for v " +
                                           shape_string(v.shape));
  }
  // v as [outer, kept, inner] around dim (kept = 1, inner = numel: dim None).
  const auto [outer, kept, inner] = around_dim(v.shape, dim);
  std::vector<double> squares(kept, 0.0);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k = 0; k < kept; ++k)
      for (int64_t i = 0; i < inner; ++i) {
        double x = v.values[(o * kept + k) * inner + i];
        squares[k] += x * x;
      }
  weight.resize(v.values.size());
  for (int64_t k = 0; k < kept; ++k) {
    float scale = g.values[k] / static_cast<float>(std::sqrt(squares[k]));
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        size_t at = (o * kept + k) * inner + i;
        weight[at] = v.values[at] * scale;
      }
  }
  return Error();
}

/* weight = orig / (u . W v), W = orig with `dim` first as [h, w]. */
Error spectralNorm(const StateTensor &orig, const StateTensor &u, const StateTensor &v,
                   int64_t dim, const std::string &what, std::vector<float> &weight) {
  const int64_t rank = static_cast<int64_t>(orig.shape.size());
  if (dim < -rank || dim >= rank)
    return fail(KILN_ERROR_INVALID_ARGUMENT, what + ": dim " + std::to_string(dim) +
                                                 " is out of range for a weight of " +
                                                 std::to_string(rank) + " dimensions");
  if (dim < 0)
    dim += rank;
  const auto [outer, h, inner] = around_dim(orig.shape, dim);
  const int64_t w = outer * inner;
  if (u.shape != std::vector<int64_t>{h} || v.shape != std::vector<int64_t>{w})
    return fail(KILN_ERROR_MISMATCH,
                what + ": u " + shape_string(u.shape) + " and v " + shape_string(v.shape) +
                    " must be [" + std::to_string(h) + "] and [" + std::to_string(w) +
                    "] for a weight " + shape_string(orig.shape) + " with dim " +
                    std::to_string(dim) + " first");
  // Row r of W is orig[o, r, i] over (o, i) in order: W's column o * inner + i.
  double sigma = 0;
  for (int64_t r = 0; r < h; ++r) {
    double row = 0;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i)
        row += static_cast<double>(orig.values[(o * h + r) * inner + i]) * v.values[o * inner + i];
    sigma += u.values[r] * row;
  }
  weight.resize(orig.values.size());
  const float s = static_cast<float>(sigma);
  for (size_t k = 0; k < weight.size(); ++k)
    weight[k] = orig.values[k] / s;
  return Error();
}

Error checkModels(kiln_model *from, const char *name, kiln_model *to, const std::string &what) {
  if (!from || !to || !name)
    return fail(KILN_ERROR_INVALID_ARGUMENT, what + ": a model or the name is NULL");
  return Error();
}

std::string callName(const char *function, const char *name) {
  return std::string(function) + "(" + (name ? name : "NULL") + ")";
}

kiln_status writePlain(kiln_model *to, const std::string &name, const std::vector<int64_t> &shape,
                       const std::vector<float> &weight, const std::string &what) {
  return set_thread_error(write_state_tensors(to, {name}, {shape}, {&weight}, what));
}

} // namespace

extern "C" kiln_status kiln_remove_weight_norm(kiln_model *from, const char *name,
                                               kiln_model *to) {
  KILN_API_GUARD_BEGIN
  const std::string what = callName("kiln_remove_weight_norm", name);
  if (Error e = checkModels(from, name, to, what))
    return set_thread_error(e);
  StateTensor g, v;
  if (Error e = read_state_tensor(from, std::string(name) + "_g", true, what, g))
    return set_thread_error(e);
  if (Error e = read_state_tensor(from, std::string(name) + "_v", true, what, v))
    return set_thread_error(e);
  std::vector<float> weight;
  if (Error e = weightNorm(g, v, what, weight))
    return set_thread_error(e);
  return writePlain(to, name, v.shape, weight, what);
  KILN_API_GUARD_END(set_thread_error)
}

extern "C" kiln_status kiln_remove_spectral_norm(kiln_model *from, const char *name, int64_t dim,
                                                 kiln_model *to) {
  KILN_API_GUARD_BEGIN
  const std::string what = callName("kiln_remove_spectral_norm", name);
  if (Error e = checkModels(from, name, to, what))
    return set_thread_error(e);
  StateTensor orig, u, v;
  for (auto [suffix, t] : {std::pair{"_orig", &orig}, {"_u", &u}, {"_v", &v}})
    if (Error e = read_state_tensor(from, std::string(name) + suffix, true, what, *t))
      return set_thread_error(e);
  std::vector<float> weight;
  if (Error e = spectralNorm(orig, u, v, dim, what, weight))
    return set_thread_error(e);
  return writePlain(to, name, orig.shape, weight, what);
  KILN_API_GUARD_END(set_thread_error)
}

extern "C" kiln_status kiln_remove_parametrizations(kiln_model *from, const char *name,
                                                    int64_t dim, int leave_parametrized,
                                                    kiln_model *to) {
  KILN_API_GUARD_BEGIN
  const std::string what = callName("kiln_remove_parametrizations", name);
  if (Error e = checkModels(from, name, to, what))
    return set_thread_error(e);
  auto [prefix, param] = splitName(name);
  const std::string list = prefix + "parametrizations." + param + ".";
  StateTensor g, v, orig;
  if (Error e = read_state_tensor(from, list + "original0", false, what, g))
    return set_thread_error(e);
  if (Error e = read_state_tensor(from, list + "original1", false, what, v))
    return set_thread_error(e);
  if (g.found() && v.found()) {
    if (!leave_parametrized)
      return set_thread_error(fail(
          KILN_ERROR_INVALID_ARGUMENT,
          what + ": Cannot leave unparametrized (`leave_parametrized=False`) a tensor that is "
                 "parametrized in terms of a sequence of tensors (weight_norm's original0 and "
                 "original1)"));
    std::vector<float> weight;
    if (Error e = weightNorm(g, v, what, weight))
      return set_thread_error(e);
    return writePlain(to, name, v.shape, weight, what);
  }
  if (Error e = read_state_tensor(from, list + "original", false, what, orig))
    return set_thread_error(e);
  if (!orig.found())
    return set_thread_error(fail(KILN_ERROR_INVALID_ARGUMENT,
                                 what + ": " + quoted(name) +
                                     " is not parametrized in this model (no " +
                                     quoted(list + "original") + ", nor " +
                                     quoted(list + "original0") + " and " +
                                     quoted(list + "original1") + ")"));
  if (!leave_parametrized)
    return writePlain(to, name, orig.shape, orig.values, what);
  std::vector<float> weight(orig.values.size());
  if (orig.shape.size() == 1) {
    // F.normalize(original, dim=0, eps=1e-12).
    double squares = 0;
    for (float x : orig.values)
      squares += static_cast<double>(x) * x;
    float norm = std::max(static_cast<float>(std::sqrt(squares)), 1e-12f);
    for (size_t k = 0; k < weight.size(); ++k)
      weight[k] = orig.values[k] / norm;
    return writePlain(to, name, orig.shape, weight, what);
  }
  int training = 0;
  if (kiln_model_get_training(from, &training) != KILN_OK || training)
    return set_thread_error(fail(
        KILN_ERROR_INVALID_ARGUMENT,
        what + ": the source instance is in training mode, where torch's spectral norm runs "
               "its power iterations before giving the value: kiln_model_set_training(model, "
               "0) first"));
  StateTensor u, sv;
  if (Error e = read_state_tensor(from, list + "0._u", true, what, u))
    return set_thread_error(e);
  if (Error e = read_state_tensor(from, list + "0._v", true, what, sv))
    return set_thread_error(e);
  if (Error e = spectralNorm(orig, u, sv, dim, what, weight))
    return set_thread_error(e);
  return writePlain(to, name, orig.shape, weight, what);
  KILN_API_GUARD_END(set_thread_error)
}
