/* torch.nn.utils.prune's mask-computing methods on an instance (kiln/prune.h
 * says what each computes). Every call reads the parameter's `_orig` and
 * `_mask` to the host, works out the new mask there, and writes it back:
 * pruning happens a few times per training run, on the host like torch's.
 *
 * The shape of every call is torch 1.13's PruningContainer.compute_mask:
 * select the part of the tensor the method may prune (by its type), run the
 * method on that part with the part of the mask as its default, write the
 * part's new mask back. */
#include "error.h"
#include "instance.h"
#include "random.h"

#include <kiln/prune.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

using namespace kiln::rt;

namespace {

/* The stream the random methods draw from (random.h's domains 0-2 are the
 * initializers'). */
constexpr uint64_t kPruneStream = 16;

/* A pruned parameter of the instance: its `_orig` and `_mask` tensors. */
struct Pruned {
  std::string name;
  int orig = -1, mask = -1;
  std::vector<int64_t> shape;
  int64_t numel = 0;
  std::vector<float> origValues, maskValues;
};

Error findPruned(const kiln_model *model, const char *name, const std::string &what,
                 Pruned &out) {
  if (!model || !name)
    return fail(KILN_ERROR_INVALID_ARGUMENT, what + ": model or name is NULL");
  const ModelSpec &s = spec_of(model);
  out.name = name;
  for (int t : s.params)
    if (s.tensors[t].name == out.name + "_orig")
      out.orig = t;
  for (int t : s.buffers)
    if (s.tensors[t].name == out.name + "_mask" && s.tensors[t].dtype == KILN_F32)
      out.mask = t;
  if (out.orig < 0 || out.mask < 0)
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                what + ": " + quoted(out.name) +
                    " is not a pruned parameter of this model (it needs the parameter " +
                    quoted(out.name + "_orig") + " and the buffer " + quoted(out.name + "_mask") +
                    ": compile the model with `reparametrize: prune` on it)");
  const TensorSpec &o = s.tensors[out.orig];
  if (s.tensors[out.mask].shape != o.shape)
    return fail(KILN_ERROR_MISMATCH, what + ": " + quoted(out.name) + "'s mask has shape " +
                                         shape_string(s.tensors[out.mask].shape) +
                                         ", its parameter " + shape_string(o.shape));
  out.shape = o.shape;
  out.numel = o.numel;
  out.origValues.resize(out.numel);
  out.maskValues.resize(out.numel);
  if (Error e = read_tensor_of(model, out.orig, out.origValues.data()))
    return e;
  return read_tensor_of(model, out.mask, out.maskValues.data());
}

/* The importance scores: the caller's, or the current weight orig * mask
 * (torch's getattr(module, name)). */
std::vector<float> scoresOf(const Pruned &p, const float *given) {
  std::vector<float> t(p.numel);
  for (int64_t i = 0; i < p.numel; ++i)
    t[i] = given ? given[i] : p.origValues[i] * p.maskValues[i];
  return t;
}

std::string number(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.17g", v);
  return text;
}

/* torch's _validate_pruning_amount_init. */
Error checkAmount(const kiln_prune_amount &a, const std::string &what) {
  bool ok = a.is_count ? a.count >= 0 : (a.fraction >= 0.0 && a.fraction <= 1.0);
  if (!ok)
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                what + ": amount=" + (a.is_count ? std::to_string(a.count) : number(a.fraction)) +
                    " should either be a float in the range [0, 1] or a non-negative integer");
  return {};
}

/* torch's _compute_nparams_toprune then _validate_pruning_amount: the count,
 * or round(fraction * size) with Python's ties-to-even. */
Error countToPrune(const kiln_prune_amount &a, int64_t size, const std::string &what,
                   int64_t &k) {
  if (a.is_count) {
    k = a.count;
  } else {
    double x = a.fraction * static_cast<double>(size), r = std::floor(x);
    if (x - r > 0.5 || (x - r == 0.5 && std::fmod(r, 2.0) != 0.0))
      r += 1.0;
    k = static_cast<int64_t>(r);
  }
  if (k > size)
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                what + ": amount=" + std::to_string(k) +
                    " should be smaller than the number of parameters to prune=" +
                    std::to_string(size));
  return {};
}

/* The part of a tensor a method sees: its shape, scores and mask, and the
 * flat index in the whole tensor of each of its elements (row-major). */
struct Part {
  std::vector<int64_t> shape;
  std::vector<float> t, mask;
  std::vector<int64_t> index;
};

/* `dim` of a tensor of `rank` dims, negative counting from the end. */
Error normalizedDim(int64_t dim, size_t rank, const std::string &what, int64_t &out) {
  int64_t r = static_cast<int64_t>(rank);
  out = dim < 0 ? dim + r : dim;
  if (out < 0 || out >= r)
    return fail(KILN_ERROR_INVALID_ARGUMENT, what + ": Invalid index " + std::to_string(dim) +
                                                 " for tensor of " + std::to_string(r) +
                                                 " dimensions");
  return {};
}

/* Strides of a row-major shape. */
std::vector<int64_t> stridesOf(const std::vector<int64_t> &shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (size_t d = shape.size(); d-- > 1;)
    s[d - 1] = s[d] * shape[d];
  return s;
}

/* PruningContainer's slice: unstructured, the elements whose mask is
 * exactly 1; structured, the channels of `dim` whose mask sums to non-zero;
 * global, everything. */
Part selectPart(int32_t type, int64_t dim, const std::vector<int64_t> &shape,
                const std::vector<float> &t, const std::vector<float> &mask) {
  Part p;
  int64_t numel = static_cast<int64_t>(t.size());
  if (type == KILN_PRUNE_UNSTRUCTURED) {
    for (int64_t i = 0; i < numel; ++i)
      if (mask[i] == 1.0f)
        p.index.push_back(i);
    p.shape = {static_cast<int64_t>(p.index.size())};
  } else if (type == KILN_PRUNE_GLOBAL) {
    p.index.resize(numel);
    std::iota(p.index.begin(), p.index.end(), 0);
    p.shape = shape;
  } else {
    std::vector<int64_t> strides = stridesOf(shape);
    int64_t channels = shape[dim];
    std::vector<double> sums(channels, 0.0);
    for (int64_t i = 0; i < numel; ++i)
      sums[(i / strides[dim]) % channels] += mask[i];
    std::vector<int64_t> kept;
    for (int64_t c = 0; c < channels; ++c)
      if (sums[c] != 0.0)
        kept.push_back(c);
    p.shape = shape;
    p.shape[dim] = static_cast<int64_t>(kept.size());
    // Row-major over the part: outer dims, kept channel, inner dims.
    int64_t inner = strides[dim], outer = numel / (channels * inner);
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t c : kept)
        for (int64_t i = 0; i < inner; ++i)
          p.index.push_back((o * channels + c) * inner + i);
  }
  for (int64_t i : p.index) {
    p.t.push_back(t[i]);
    p.mask.push_back(mask[i]);
  }
  return p;
}

void scatterPart(const Part &p, const std::vector<float> &partMask, std::vector<float> &mask) {
  for (size_t k = 0; k < p.index.size(); ++k)
    mask[p.index[k]] = partMask[k];
}

/* The positions 0..n-1 ordered by (key ascending, position ascending). */
std::vector<int64_t> ascending(const std::vector<double> &key) {
  std::vector<int64_t> order(key.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return key[a] < key[b]; });
  return order;
}

/* k distinct positions of 0..n-1, uniformly at random. */
std::vector<int64_t> randomChoice(int64_t n, int64_t k, uint64_t seed) {
  Rng rng(seed, kPruneStream, 0);
  std::vector<int64_t> all(n);
  std::iota(all.begin(), all.end(), 0);
  for (int64_t i = 0; i < k; ++i) {
    int64_t j = i + static_cast<int64_t>(rng.uniform01() * static_cast<double>(n - i));
    std::swap(all[i], all[std::min(j, n - 1)]);
  }
  all.resize(k);
  return all;
}

/* torch.norm(x, p) of one channel's values. */
double pNorm(const std::vector<double> &abs, double p) {
  if (p == INFINITY)
    return abs.empty() ? 0.0 : *std::max_element(abs.begin(), abs.end());
  if (p == -INFINITY)
    return abs.empty() ? 0.0 : *std::min_element(abs.begin(), abs.end());
  double sum = 0.0;
  for (double a : abs)
    sum += p == 0.0 ? (a != 0.0) : std::pow(a, p);
  return p == 0.0 ? sum : std::pow(sum, 1.0 / p);
}

/* The methods, each on its part (compute_mask(t, default_mask)). */

Error l1Unstructured(const Part &p, const kiln_prune_amount &amount, const std::string &what,
                     std::vector<float> &mask) {
  int64_t k;
  if (Error e = countToPrune(amount, static_cast<int64_t>(p.t.size()), what, k))
    return e;
  std::vector<double> key(p.t.size());
  for (size_t i = 0; i < p.t.size(); ++i)
    key[i] = std::fabs(static_cast<double>(p.t[i]));
  std::vector<int64_t> order = ascending(key);
  for (int64_t i = 0; i < k; ++i)
    mask[order[i]] = 0.0f;
  return {};
}

Error randomUnstructured(const Part &p, const kiln_prune_amount &amount, uint64_t seed,
                         const std::string &what, std::vector<float> &mask) {
  int64_t k;
  if (Error e = countToPrune(amount, static_cast<int64_t>(p.t.size()), what, k))
    return e;
  for (int64_t i : randomChoice(static_cast<int64_t>(p.t.size()), k, seed))
    mask[i] = 0.0f;
  return {};
}

/* Structured methods: keep the channels of `dim` that `keep` marks; the
 * default mask stays where nothing is pruned (k = 0), as torch's. */
void keepChannels(const Part &p, int64_t dim, const std::vector<bool> &keep,
                  std::vector<float> &mask) {
  std::vector<int64_t> strides = stridesOf(p.shape);
  int64_t channels = p.shape[dim];
  for (size_t i = 0; i < mask.size(); ++i)
    if (!keep[(static_cast<int64_t>(i) / strides[dim]) % channels])
      mask[i] = 0.0f;
}

Error structuredCount(const Part &p, int64_t dim, const kiln_prune_amount &amount,
                      const std::string &what, int64_t &k) {
  if (p.shape.size() < 2)
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                what + ": Structured pruning can only be applied to multidimensional tensors. "
                       "Found tensor of shape " + shape_string(p.shape) + " with " +
                    std::to_string(p.shape.size()) + " dims");
  return countToPrune(amount, p.shape[dim], what, k);
}

Error lnStructured(const Part &p, int64_t dim, const kiln_prune_amount &amount, double n,
                   const std::string &what, std::vector<float> &mask) {
  int64_t k;
  if (Error e = structuredCount(p, dim, amount, what, k))
    return e;
  if (k == 0)
    return {};
  std::vector<int64_t> strides = stridesOf(p.shape);
  int64_t channels = p.shape[dim];
  std::vector<std::vector<double>> values(channels);
  for (size_t i = 0; i < p.t.size(); ++i)
    values[(static_cast<int64_t>(i) / strides[dim]) % channels].push_back(
        std::fabs(static_cast<double>(p.t[i])));
  std::vector<double> norms(channels);
  for (int64_t c = 0; c < channels; ++c)
    norms[c] = pNorm(values[c], n);
  std::vector<int64_t> order = ascending(norms);
  std::vector<bool> keep(channels, true);
  for (int64_t i = 0; i < k; ++i)
    keep[order[i]] = false;
  keepChannels(p, dim, keep, mask);
  return {};
}

Error randomStructured(const Part &p, int64_t dim, const kiln_prune_amount &amount,
                       uint64_t seed, const std::string &what, std::vector<float> &mask) {
  int64_t k;
  if (Error e = structuredCount(p, dim, amount, what, k))
    return e;
  if (k == 0)
    return {};
  std::vector<bool> keep(p.shape[dim], true);
  for (int64_t c : randomChoice(p.shape[dim], k, seed))
    keep[c] = false;
  keepChannels(p, dim, keep, mask);
  return {};
}

Error writeMask(kiln_model *model, const Pruned &p, const std::vector<float> &mask) {
  return write_tensor_of(model, p.mask, mask.data());
}

/* One PruningContainer step on parameter `name`: find it, select the part
 * of `type` (`dim` for structured), run `method(part, partMask)`, write
 * the new mask. */
template <class Method>
kiln_status pruneOne(kiln_model *model, const char *name, const char *function, int32_t type,
                     int64_t dim, const float *scores, Method method) {
  KILN_API_GUARD_BEGIN
  std::string what = std::string(function) + "(" + (name ? name : "NULL") + ")";
  Pruned p;
  if (Error e = findPruned(model, name, what, p))
    return set_thread_error(e);
  if (type == KILN_PRUNE_STRUCTURED)
    if (Error e = normalizedDim(dim, p.shape.size(), what, dim))
      return set_thread_error(e);
  Part part = selectPart(type, dim, p.shape, scoresOf(p, scores), p.maskValues);
  std::vector<float> partMask = part.mask;
  if (Error e = method(part, dim, what, partMask))
    return set_thread_error(e);
  std::vector<float> mask = p.maskValues;
  scatterPart(part, partMask, mask);
  return set_thread_error(writeMask(model, p, mask));
  KILN_API_GUARD_END(set_thread_error)
}

} // namespace

extern "C" kiln_status kiln_prune_l1_unstructured(kiln_model *model, const char *name,
                                                  kiln_prune_amount amount,
                                                  const float *importance_scores) {
  if (Error e = checkAmount(amount, "kiln_prune_l1_unstructured"))
    return set_thread_error(e);
  return pruneOne(model, name, "kiln_prune_l1_unstructured", KILN_PRUNE_UNSTRUCTURED, 0,
                  importance_scores,
                  [&](const Part &p, int64_t, const std::string &what, std::vector<float> &m) {
                    return l1Unstructured(p, amount, what, m);
                  });
}

extern "C" kiln_status kiln_prune_random_unstructured(kiln_model *model, const char *name,
                                                      kiln_prune_amount amount, uint64_t seed) {
  if (Error e = checkAmount(amount, "kiln_prune_random_unstructured"))
    return set_thread_error(e);
  return pruneOne(model, name, "kiln_prune_random_unstructured", KILN_PRUNE_UNSTRUCTURED, 0,
                  nullptr,
                  [&](const Part &p, int64_t, const std::string &what, std::vector<float> &m) {
                    return randomUnstructured(p, amount, seed, what, m);
                  });
}

extern "C" kiln_status kiln_prune_ln_structured(kiln_model *model, const char *name,
                                                kiln_prune_amount amount, double n, int64_t dim,
                                                const float *importance_scores) {
  if (Error e = checkAmount(amount, "kiln_prune_ln_structured"))
    return set_thread_error(e);
  if (std::isnan(n))
    return set_thread_error(KILN_ERROR_INVALID_ARGUMENT,
                            "kiln_prune_ln_structured: the norm's order n is NaN");
  return pruneOne(model, name, "kiln_prune_ln_structured", KILN_PRUNE_STRUCTURED, dim,
                  importance_scores,
                  [&](const Part &p, int64_t d, const std::string &what, std::vector<float> &m) {
                    return lnStructured(p, d, amount, n, what, m);
                  });
}

extern "C" kiln_status kiln_prune_random_structured(kiln_model *model, const char *name,
                                                    kiln_prune_amount amount, int64_t dim,
                                                    uint64_t seed) {
  if (Error e = checkAmount(amount, "kiln_prune_random_structured"))
    return set_thread_error(e);
  return pruneOne(model, name, "kiln_prune_random_structured", KILN_PRUNE_STRUCTURED, dim,
                  nullptr,
                  [&](const Part &p, int64_t d, const std::string &what, std::vector<float> &m) {
                    return randomStructured(p, d, amount, seed, what, m);
                  });
}

extern "C" kiln_status kiln_prune_custom(kiln_model *model, const char *name, int32_t type,
                                         int64_t dim, kiln_prune_mask_fn fn, void *user,
                                         const float *importance_scores) {
  if (!fn)
    return set_thread_error(KILN_ERROR_INVALID_ARGUMENT, "kiln_prune_custom: fn is NULL");
  if (type != KILN_PRUNE_UNSTRUCTURED && type != KILN_PRUNE_STRUCTURED && type != KILN_PRUNE_GLOBAL)
    return set_thread_error(KILN_ERROR_INVALID_ARGUMENT,
                            "kiln_prune_custom: type " + std::to_string(type) +
                                " is none of KILN_PRUNE_UNSTRUCTURED, _STRUCTURED, _GLOBAL");
  return pruneOne(model, name, "kiln_prune_custom", type, dim, importance_scores,
                  [&](const Part &p, int64_t, const std::string &what, std::vector<float> &m) {
                    kiln_status s = fn(p.t.data(), p.mask.data(), m.data(),
                                       static_cast<int32_t>(p.shape.size()), p.shape.data(), user);
                    if (s != KILN_OK)
                      return fail(s, what + ": the pruning method's compute_mask failed (status " +
                                         std::to_string(s) + ")");
                    return Error{};
                  });
}

extern "C" kiln_status kiln_prune_global_unstructured(kiln_model *model, const char *const *names,
                                                      int32_t count, int32_t method,
                                                      kiln_prune_amount amount,
                                                      const float *const *importance_scores,
                                                      uint64_t seed) {
  KILN_API_GUARD_BEGIN
  const std::string what = "kiln_prune_global_unstructured";
  if (!names || count < 1)
    return set_thread_error(KILN_ERROR_INVALID_ARGUMENT,
                            what + ": needs at least one parameter name");
  if (method != KILN_PRUNE_L1_UNSTRUCTURED && method != KILN_PRUNE_RANDOM_UNSTRUCTURED)
    return set_thread_error(KILN_ERROR_INVALID_ARGUMENT,
                            what + ": method " + std::to_string(method) +
                                " is none of KILN_PRUNE_L1_UNSTRUCTURED, "
                                "KILN_PRUNE_RANDOM_UNSTRUCTURED (torch accepts only "
                                "unstructured methods here)");
  if (Error e = checkAmount(amount, what))
    return set_thread_error(e);
  // parameters_to_vector of the scores and of the masks, in the order given.
  std::vector<Pruned> params(count);
  std::vector<float> t, mask;
  for (int32_t i = 0; i < count; ++i) {
    if (Error e = findPruned(model, names[i], what, params[i]))
      return set_thread_error(e);
    for (int32_t j = 0; j < i; ++j)
      if (params[j].name == params[i].name)
        return set_thread_error(KILN_ERROR_INVALID_ARGUMENT,
                                what + ": " + quoted(params[i].name) + " is listed twice");
    std::vector<float> scores =
        scoresOf(params[i], importance_scores ? importance_scores[i] : nullptr);
    t.insert(t.end(), scores.begin(), scores.end());
    mask.insert(mask.end(), params[i].maskValues.begin(), params[i].maskValues.end());
  }
  Part part = selectPart(KILN_PRUNE_UNSTRUCTURED, 0, {static_cast<int64_t>(t.size())}, t, mask);
  std::vector<float> partMask = part.mask;
  Error e = method == KILN_PRUNE_L1_UNSTRUCTURED
                ? l1Unstructured(part, amount, what, partMask)
                : randomUnstructured(part, amount, seed, what, partMask);
  if (e)
    return set_thread_error(e);
  scatterPart(part, partMask, mask);
  int64_t offset = 0;
  for (const Pruned &p : params) {
    std::vector<float> own(mask.begin() + offset, mask.begin() + offset + p.numel);
    if (Error w = writeMask(model, p, own))
      return set_thread_error(w);
    offset += p.numel;
  }
  return KILN_OK;
  KILN_API_GUARD_END(set_thread_error)
}

extern "C" kiln_status kiln_prune_remove(kiln_model *model, const char *name) {
  KILN_API_GUARD_BEGIN
  Pruned p;
  if (Error e = findPruned(model, name, std::string("kiln_prune_remove(") + (name ? name : "NULL") + ")", p))
    return set_thread_error(e);
  std::vector<float> weight(p.numel), ones(p.numel, 1.0f);
  for (int64_t i = 0; i < p.numel; ++i)
    weight[i] = p.origValues[i] * p.maskValues[i];
  if (Error e = write_tensor_of(model, p.orig, weight.data()))
    return set_thread_error(e);
  return set_thread_error(writeMask(model, p, ones));
  KILN_API_GUARD_END(set_thread_error)
}
