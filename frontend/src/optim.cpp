#include "kiln/optim.h"

#include <cmath>
#include <string>

#include "kiln/error.h"

namespace kiln::optim {

Optimizer::~Optimizer() = default;

SGD::SGD(const SGDOptions& o) : options_(o) {
  auto check = [](bool ok, const std::string& what) {
    if (!ok) detail::fail("SGD: " + what);
  };
  // The model file is JSON, which has no NaN or infinity.
  check(std::isfinite(o.lr()) && o.lr() >= 0, "invalid learning rate " + std::to_string(o.lr()) + " (must be >= 0)");
  check(std::isfinite(o.momentum()) && o.momentum() >= 0,
        "invalid momentum " + std::to_string(o.momentum()) + " (must be >= 0)");
  check(std::isfinite(o.dampening()), "invalid dampening " + std::to_string(o.dampening()));
  check(std::isfinite(o.weight_decay()) && o.weight_decay() >= 0,
        "invalid weight_decay " + std::to_string(o.weight_decay()) + " (must be >= 0)");
  check(!o.nesterov() || (o.momentum() > 0 && o.dampening() == 0),
        "nesterov momentum requires a momentum > 0 and zero dampening (got momentum " +
            std::to_string(o.momentum()) + ", dampening " + std::to_string(o.dampening()) + ")");
}

OptionList SGD::option_list() const {
  return {{"lr", options_.lr()},
          {"momentum", options_.momentum()},
          {"dampening", options_.dampening()},
          {"weight_decay", options_.weight_decay()},
          {"nesterov", options_.nesterov()},
          {"maximize", options_.maximize()}};
}

}  // namespace kiln::optim
