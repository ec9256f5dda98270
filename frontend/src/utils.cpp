#include "kiln/nn/utils.h"

#include <cmath>

namespace kiln::nn::utils {
namespace {

int64_t rank_of(const Module& module, const std::string& name) {
  const Parameter* p = module.find_parameter(name);
  return p ? static_cast<int64_t>(p->shape.size()) : -1;  // add_reparametrization reports a missing one
}

}  // namespace

Module& weight_norm(Module& module, const std::string& name, std::optional<int64_t> dim) {
  int64_t rank = rank_of(module, name);
  if (rank >= 0 && dim && (*dim < -1 || *dim >= rank)) {
    kiln::detail::fail("weight_norm(" + module.type_name() + ", '" + name + "', dim=" + std::to_string(*dim) +
                       "): dim must be in [-1, " + std::to_string(rank) + ") or None (-1: the norm over all)");
  }
  OptionValue d = dim && *dim >= 0 ? OptionValue(*dim) : OptionValue(nullptr);
  module.add_reparametrization({"weight_norm", name, {{"dim", d}}});
  return module;
}

Module& spectral_norm(Module& module, const std::string& name, int64_t n_power_iterations, double eps,
                      std::optional<int64_t> dim) {
  std::string what = "spectral_norm(" + module.type_name() + ", '" + name + "')";
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
      {"spectral_norm", name, {{"dim", d}, {"n_power_iterations", n_power_iterations}, {"eps", eps}}});
  return module;
}

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
