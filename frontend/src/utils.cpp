#include "kiln/nn/utils.h"

#include <cmath>

namespace kiln::nn::utils {
namespace {

int64_t rank_of(const Module& module, const std::string& name) {
  const Parameter* p = module.find_parameter(name);
  return p ? static_cast<int64_t>(p->shape.size()) : -1;  // add_reparametrization reports a missing one
}

/// weight_norm of either form (`kind` is the model file's).
Module& add_weight_norm(const std::string& kind, Module& module, const std::string& name,
                        std::optional<int64_t> dim) {
  int64_t rank = rank_of(module, name);
  if (rank >= 0 && dim && (*dim < -1 || *dim >= rank)) {
    kiln::detail::fail(kind + "(" + module.type_name() + ", '" + name + "', dim=" + std::to_string(*dim) +
                       "): dim must be in [-1, " + std::to_string(rank) + ") or None (-1: the norm over all)");
  }
  OptionValue d = dim && *dim >= 0 ? OptionValue(*dim) : OptionValue(nullptr);
  module.add_reparametrization({kind, name, {{"dim", d}}});
  return module;
}

/// spectral_norm of either form; the parametrization also takes a vector.
Module& add_spectral_norm(const std::string& kind, Module& module, const std::string& name,
                          int64_t n_power_iterations, double eps, std::optional<int64_t> dim) {
  std::string what = kind + "(" + module.type_name() + ", '" + name + "')";
  if (n_power_iterations < 1 || n_power_iterations > 64) {
    kiln::detail::fail(what + ": n_power_iterations must be 1 to 64 (torch requires > 0), got " +
                       std::to_string(n_power_iterations));
  }
  if (!(eps > 0) || !std::isfinite(eps)) kiln::detail::fail(what + ": eps must be a finite number > 0");
  int64_t rank = rank_of(module, name);
  // torch: dim None is 1 for ConvTranspose{1,2,3}d (their weight is
  // [in, out, ...]), 0 otherwise.
  int64_t d = dim ? *dim : module.type_name().rfind("ConvTranspose", 0) == 0 ? 1 : 0;
  if (rank >= 0 && (rank == 0 || d < -rank || d >= rank)) {
    kiln::detail::fail(what + ": dim " + std::to_string(d) + " is out of range for a parameter of rank " +
                       std::to_string(rank));
  }
  module.add_reparametrization(
      {kind, name, {{"dim", d}, {"n_power_iterations", n_power_iterations}, {"eps", eps}}});
  return module;
}

}  // namespace

Module& weight_norm(Module& module, const std::string& name, std::optional<int64_t> dim) {
  return add_weight_norm("weight_norm", module, name, dim);
}

Module& spectral_norm(Module& module, const std::string& name, int64_t n_power_iterations, double eps,
                      std::optional<int64_t> dim) {
  return add_spectral_norm("spectral_norm", module, name, n_power_iterations, eps, dim);
}

namespace parametrizations {
Module& weight_norm(Module& module, const std::string& name, std::optional<int64_t> dim) {
  return add_weight_norm("parametrizations.weight_norm", module, name, dim);
}

Module& spectral_norm(Module& module, const std::string& name, int64_t n_power_iterations, double eps,
                      std::optional<int64_t> dim) {
  return add_spectral_norm("parametrizations.spectral_norm", module, name, n_power_iterations, eps, dim);
}
}  // namespace parametrizations

namespace parametrize {
bool is_parametrized(const Module& module, const std::string& tensor_name) {
  for (const Reparametrization& r : module.reparametrizations()) {
    if (r.kind.rfind("parametrizations.", 0) == 0 && (tensor_name.empty() || r.parameter == tensor_name))
      return true;
  }
  return false;
}
}  // namespace parametrize

namespace prune {
Module& identity(Module& module, const std::string& name) {
  module.add_reparametrization({"prune", name, {}});
  return module;
}

bool is_pruned(const Module& module) {
  for (const auto& [path, m] : module.named_modules()) {
    for (const Reparametrization& r : m->reparametrizations()) {
      if (r.kind == "prune") return true;
    }
  }
  return false;
}
}  // namespace prune

}  // namespace kiln::nn::utils
