#include "frontend/import/Reparametrize.h"

#include "ir/NNBuilders.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

using namespace mlir;

namespace kiln::import {

using json = nlohmann::json;

namespace {

/// The entry's integer `key` (default `dflt` when absent).
int64_t intAt(const json &r, const std::string &path, const char *key, int64_t dflt) {
  auto it = r.find(key);
  if (it == r.end())
    return dflt;
  if (!it->is_number_integer())
    fail(path + "." + key, "expected an integer");
  return it->get<int64_t>();
}

/// The layer-local name of a tensor that replaces `r.local`: `role` is
/// orig, mask, g, v (weight_norm's), u or sv (spectral_norm's u and v).
std::string tensorName(const Reparam &r, const std::string &role) {
  if (!r.parametrization)
    return r.local + "_" + (role == "sv" ? std::string("v") : role);
  std::string list = "parametrizations." + r.local;
  if (role == "g")
    return list + ".original0";
  if (role == "v")
    return list + ".original1";
  if (role == "orig")
    return list + ".original";
  return list + ".0._" + (role == "sv" ? std::string("v") : role);
}

/// Replaces leaf parameter `index` (its global index) by the tensors of
/// `r`, appended after the leaf's others as torch registers them.
void replace(Leaf &leaf, const std::string &prefix, size_t index, const Reparam &r,
             std::vector<Param> &params, std::vector<Param> &buffers) {
  auto qualified = [&](const std::string &local) {
    return prefix.empty() ? local : prefix + "." + local;
  };
  Param old = params[index];
  params.erase(params.begin() + static_cast<std::ptrdiff_t>(index));
  std::vector<std::pair<std::string, int>> kept;
  for (auto [local, i] : leaf.params)
    if (static_cast<size_t>(i) != index)
      kept.push_back({local, static_cast<size_t>(i) > index ? i - 1 : i});
  leaf.params = std::move(kept);
  auto addParam = [&](const std::string &role, std::vector<int64_t> shape, Init init) {
    std::string local = tensorName(r, role);
    params.push_back({qualified(local), std::move(shape), init});
    leaf.params.push_back({local, static_cast<int>(params.size() - 1)});
  };
  auto addBuffer = [&](const std::string &role, std::vector<int64_t> shape, Init init) {
    std::string local = tensorName(r, role);
    buffers.push_back({qualified(local), std::move(shape), init});
    leaf.buffers.push_back({local, static_cast<int>(buffers.size() - 1)});
  };
  const std::vector<int64_t> &shape = old.shape;
  switch (r.kind) {
  case Reparam::Prune:
    addParam("orig", shape, old.init);
    addBuffer("mask", shape, Init{Init::Ones});
    break;
  case Reparam::WeightNorm: {
    // g: norm_except_dim's shape (1 but at dim; a scalar over all), then v.
    std::vector<int64_t> gShape;
    if (r.dim >= 0) {
      gShape.assign(shape.size(), 1);
      gShape[static_cast<size_t>(r.dim)] = shape[static_cast<size_t>(r.dim)];
    }
    // (v's index is set once the leaf's parameters are final.)
    addParam("g", gShape, Init{Init::NormOf, 0, static_cast<double>(r.dim)});
    addParam("v", shape, old.init);
    break;
  }
  case Reparam::SpectralNorm: {
    addParam("orig", shape, old.init);
    // parametrizations.spectral_norm of a 1-D parameter normalizes it: no
    // power method, no buffers.
    if (r.parametrization && shape.size() == 1)
      break;
    int64_t h = shape[static_cast<size_t>(r.dim)];
    int64_t w = std::accumulate(shape.begin(), shape.end(), int64_t{1},
                                std::multiplies<int64_t>()) / h;
    addBuffer("u", {h}, Init{Init::UnitNormal, r.eps});
    addBuffer("sv", {w}, Init{Init::UnitNormal, r.eps});
    break;
  }
  }
}

} // namespace

void declareReparametrizations(const json &node, const std::string &jsonPath,
                               const std::string &prefix, Leaf &leaf,
                               std::vector<Param> &params, std::vector<Param> &buffers) {
  auto it = node.find("reparametrize");
  if (it == node.end())
    return;
  std::string path = jsonPath + ".reparametrize";
  if (!it->is_array())
    fail(path, "expected an array of re-parametrizations ({\"kind\", \"parameter\", ...})");
  for (size_t k = 0; k < it->size(); ++k) {
    const json &e = (*it)[k];
    std::string at = path + "[" + std::to_string(k) + "]";
    if (!e.is_object() || !e.contains("kind") || !e["kind"].is_string())
      fail(at, "expected an object with a \"kind\" (prune, weight_norm, spectral_norm)");
    if (!e.contains("parameter") || !e["parameter"].is_string())
      fail(at + ".parameter", "expected the name of the layer's parameter (\"weight\")");
    Reparam r{Reparam::Prune, e["parameter"].get<std::string>()};
    std::string kind = e["kind"].get<std::string>();
    const std::string parametrizations = "parametrizations.";
    if (kind.rfind(parametrizations, 0) == 0 &&
        (kind == parametrizations + "weight_norm" || kind == parametrizations + "spectral_norm")) {
      r.parametrization = true;
      kind = kind.substr(parametrizations.size());
    }
    if (kind == "prune") {
      checkKnownKeys(e, at, {"kind", "parameter"});
    } else if (kind == "weight_norm") {
      checkKnownKeys(e, at, {"kind", "parameter", "dim"});
      r.kind = Reparam::WeightNorm;
    } else if (kind == "spectral_norm") {
      checkKnownKeys(e, at, {"kind", "parameter", "dim", "n_power_iterations", "eps"});
      r.kind = Reparam::SpectralNorm;
    } else {
      fail(at + ".kind", "unknown re-parametrization " + quotedName(e["kind"].get<std::string>()) +
                             " (supported: prune, weight_norm, spectral_norm, "
                             "parametrizations.weight_norm, parametrizations.spectral_norm)");
    }
    for (const Reparam &other : leaf.reparams)
      if (other.local == r.local)
        fail(at + ".parameter", "parameter " + quotedName(r.local) +
                                    " is already re-parametrized (one per parameter)");
    auto found = std::find_if(leaf.params.begin(), leaf.params.end(),
                              [&](const auto &p) { return p.first == r.local; });
    if (found == leaf.params.end()) {
      std::string known;
      for (const auto &p : leaf.params)
        known += (known.empty() ? "" : ", ") + p.first;
      fail(at + ".parameter", modelTypeName(*leaf.entry) + " has no parameter " +
                                  quotedName(r.local) + " (it has: " +
                                  (known.empty() ? std::string("none") : known) + ")");
    }
    size_t index = static_cast<size_t>(found->second);
    int64_t rank = static_cast<int64_t>(params[index].shape.size());
    if (r.kind == Reparam::WeightNorm) {
      // torch's weight_norm: dim None is -1, the norm over everything.
      r.dim = e.contains("dim") && e["dim"].is_null() ? -1 : intAt(e, at, "dim", 0);
      if (r.dim < -1 || r.dim >= rank)
        fail(at + ".dim", "weight_norm's dim must be in [0, " + std::to_string(rank) +
                              ") or -1 / null (the norm over every dimension)");
    } else if (r.kind == Reparam::SpectralNorm) {
      if (rank == 0)
        fail(at + ".parameter", "spectral_norm needs a parameter of at least one dimension");
      r.dim = intAt(e, at, "dim", 0);
      if (r.dim < -rank || r.dim >= rank)
        fail(at + ".dim", "spectral_norm's dim must be in [" + std::to_string(-rank) + ", " +
                              std::to_string(rank) + ")");
      r.dim = r.dim < 0 ? r.dim + rank : r.dim;
      r.iterations = intAt(e, at, "n_power_iterations", 1);
      if (r.iterations < 1 || r.iterations > 64)
        fail(at + ".n_power_iterations",
             "expected 1 to 64 power iterations per call (torch requires > 0)");
      if (e.contains("eps")) {
        const json &eps = e["eps"];
        if (!eps.is_number() || !(eps.get<double>() > 0) || !std::isfinite(eps.get<double>()))
          fail(at + ".eps", "expected a finite number > 0");
        r.eps = eps.get<double>();
      }
    }
    replace(leaf, prefix, index, r, params, buffers);
    leaf.reparams.push_back(r);
  }
  // weight_norm's g starts as the norm of v's initial value: point it at
  // v's index now that no later replacement moves it.
  std::map<std::string, int> index(leaf.params.begin(), leaf.params.end());
  for (const Reparam &r : leaf.reparams)
    if (r.kind == Reparam::WeightNorm)
      params[index.at(tensorName(r, "g"))].init.a = index.at(tensorName(r, "v"));
}

namespace {

Value sumDims(BuildContext &c, Value x, llvm::ArrayRef<int64_t> dims, bool keepdim) {
  return c.create<nn::SumOp>(x, c.builder().getDenseI64ArrayAttr(dims),
                             keepdim ? c.builder().getUnitAttr() : UnitAttr());
}

/// torch's norm_except_dim(v, 2, dim): the 2-norm over every dim but `dim`
/// (kept, with size-1 dims elsewhere), or over all (a scalar) for -1.
Value normExceptDim(BuildContext &c, Value v, int64_t dim) {
  int64_t rank = nn::shapeOf(v).size();
  llvm::SmallVector<int64_t> dims;
  for (int64_t d = 0; d < rank; ++d)
    if (d != dim)
      dims.push_back(d);
  Value squares = c.create<nn::MulOp>(v, v);
  // A 1-D v kept at dim 0 has nothing to sum: each element's own norm (an
  // empty dims list would mean every dim to nn.sum).
  if (dims.empty() && dim >= 0)
    return c.create<nn::SqrtOp>(squares);
  return c.create<nn::SqrtOp>(sumDims(c, squares, dims, dim >= 0));
}

/// F.normalize of a vector: x / max(||x||, eps), differentiable (the power
/// method applies it to detached values).
Value normalize(BuildContext &c, Value x, double eps) {
  Value norm = c.create<nn::SqrtOp>(sumDims(c, c.create<nn::MulOp>(x, x), {0}, false));
  Value denominator =
      c.create<nn::MaximumOp>(norm, nn::scalarConstant(c.builder(), c.loc(), eps));
  return c.create<nn::DivOp>(x, denominator);
}

Value spectralNorm(Call &c, const Reparam &r) {
  MLIRContext *ctx = c.builder().getContext();
  Value orig = c.parameter(tensorName(r, "orig"));
  auto shape = nn::shapeOf(orig);
  // parametrizations.spectral_norm of a vector: F.normalize(w, dim=0, eps),
  // differentiable (the norm clamped to eps from below).
  if (r.parametrization && shape.size() == 1)
    return normalize(c, orig, r.eps);
  Value matrix = orig;
  if (r.dim != 0) {
    llvm::SmallVector<int64_t> order{r.dim};
    for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d)
      if (d != r.dim)
        order.push_back(d);
    matrix = c.create<nn::PermuteOp>(matrix, c.builder().getDenseI64ArrayAttr(order));
  }
  int64_t h = shape[r.dim];
  int64_t w = std::accumulate(shape.begin(), shape.end(), int64_t{1},
                              std::multiplies<int64_t>()) / h;
  matrix = c.create<nn::ReshapeOp>(nn::f32Tensor(ctx, {h, w}), matrix);
  std::string uName = tensorName(r, "u"), vName = tensorName(r, "sv");
  Value u = c.buffer(uName), v = c.buffer(vName);
  if (c.training()) {
    // The power method on the detached matrix (torch: under no_grad). The
    // hook (spectral_norm) updates v then u; the parametrization u then v.
    Value fixed = c.create<nn::DetachOp>(matrix);
    Value transposed = c.create<nn::PermuteOp>(fixed, c.builder().getDenseI64ArrayAttr({1, 0}));
    for (int64_t i = 0; i < r.iterations; ++i) {
      if (r.parametrization)
        u = normalize(c, c.create<nn::LinearOp>(v, fixed, Value()), r.eps);    // mv(W, v)
      v = normalize(c, c.create<nn::LinearOp>(u, transposed, Value()), r.eps); // mv(W^T, u)
      if (!r.parametrization)
        u = normalize(c, c.create<nn::LinearOp>(v, fixed, Value()), r.eps);    // mv(W, v)
    }
    c.setBuffer(uName, u);
    c.setBuffer(vName, v);
  }
  // sigma = dot(u, mv(W, v)): differentiable in W only.
  Value wv = c.create<nn::LinearOp>(v, matrix, Value());
  Value sigma = sumDims(c, c.create<nn::MulOp>(u, wv), {0}, false);
  return c.create<nn::DivOp>(orig, sigma);
}

} // namespace

void registerReparametrizationFamily(Registry &r) {
  // What a leaf node's `reparametrize` entry can be (declared above).
  r.add(Entry{"weight_norm", EntryKind::Reparametrization,
              "reparametrize weight_norm: v * (g / norm_except_dim(v)) (nn.mul, nn.div, nn.sum, "
              "nn.sqrt)"});
  r.add(Entry{"spectral_norm", EntryKind::Reparametrization,
              "reparametrize spectral_norm: power iteration on the detached weight (nn.linear), "
              "orig / sigma"});
  for (const char *name : {"prune.Identity", "prune.identity"})
    r.add(Entry{name, EntryKind::Reparametrization,
                "reparametrize prune: orig * mask (nn.mul; the mask a buffer of ones)"});
  for (const char *name : {"prune.CustomFromMask", "prune.custom_from_mask"})
    r.add(Entry{name, EntryKind::Reparametrization,
                "reparametrize prune: orig * mask (nn.mul; the mask the `<name>_mask` buffer of "
                "the weights file)"});
  r.add(Entry{"parametrizations.weight_norm", EntryKind::Reparametrization,
              "reparametrize parametrizations.weight_norm: as weight_norm, "
              "parametrizations.<p>.original0 (g) and .original1 (v)"});
  r.add(Entry{"parametrizations.spectral_norm", EntryKind::Reparametrization,
              "reparametrize parametrizations.spectral_norm: power iteration (u, then v) on the "
              "detached weight (nn.linear), original / sigma; a vector normalized"});
  r.add(Entry{"parametrize.ParametrizationList", EntryKind::Reparametrization,
              "(the state_dict names parametrizations.<p>.original* of the parametrizations "
              "kinds)"});
  r.add(Entry{"parametrize.is_parametrized", EntryKind::Reparametrization,
              "(DSL: nn::utils::parametrize::is_parametrized)"});
  r.add(Entry{"prune.is_pruned", EntryKind::Reparametrization,
              "(DSL: nn::utils::prune::is_pruned)"});
  // torch's methods that compute a pruned parameter's mask from the
  // weights: the runtime's C API on an instance (kiln/prune.h), between
  // steps, like AveragedModel; each call composes with the mask the
  // parameter has, as torch's PruningContainer.
  const std::pair<const char *, const char *> runtime[] = {
      {"prune.l1_unstructured", "kiln_prune_l1_unstructured"},
      {"prune.L1Unstructured", "kiln_prune_l1_unstructured, kiln_prune_global_unstructured"},
      {"prune.random_unstructured", "kiln_prune_random_unstructured"},
      {"prune.RandomUnstructured", "kiln_prune_random_unstructured, kiln_prune_global_unstructured"},
      {"prune.ln_structured", "kiln_prune_ln_structured"},
      {"prune.LnStructured", "kiln_prune_ln_structured"},
      {"prune.random_structured", "kiln_prune_random_structured"},
      {"prune.RandomStructured", "kiln_prune_random_structured"},
      {"prune.global_unstructured", "kiln_prune_global_unstructured"},
      {"prune.BasePruningMethod", "kiln_prune_custom (a compute_mask of the caller's own)"},
      {"prune.PruningContainer", "every kiln_prune_* call (composed with the current mask)"},
      {"prune.remove", "kiln_prune_remove (orig * mask into <name>_orig, the mask ones)"}};
  for (const auto &[name, function] : runtime)
    r.add(Entry{name, EntryKind::Runtime,
                std::string(function) + " (runtime, kiln/prune.h; on a parameter compiled "
                                        "with reparametrize prune)"});
  // Removing a re-parametrization makes the tensor a plain parameter: a
  // compiled model keeps its tensors, so the runtime writes the value into
  // a plain parameter of another instance (a build without the entry).
  const std::pair<const char *, const char *> removal[] = {
      {"remove_weight_norm", "kiln_remove_weight_norm"},
      {"remove_spectral_norm", "kiln_remove_spectral_norm"},
      {"parametrize.remove_parametrizations",
       "kiln_remove_parametrizations (parametrizations.weight_norm / spectral_norm)"}};
  for (const auto &[name, function] : removal)
    r.add(Entry{name, EntryKind::Runtime,
                std::string(function) + " (runtime, kiln/reparametrize.h: the value into "
                                        "another instance's plain parameter)"});
}

Value reparametrized(Call &c, const Reparam &r) {
  switch (r.kind) {
  case Reparam::Prune:
    return c.create<nn::MulOp>(c.parameter(tensorName(r, "orig")), c.buffer(tensorName(r, "mask")));
  case Reparam::WeightNorm: {
    Value v = c.parameter(tensorName(r, "v")), g = c.parameter(tensorName(r, "g"));
    return c.create<nn::MulOp>(v, c.create<nn::DivOp>(g, normExceptDim(c, v, r.dim)));
  }
  case Reparam::SpectralNorm:
    return spectralNorm(c, r);
  }
  return Value();
}

} // namespace kiln::import
