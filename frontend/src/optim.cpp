#include "kiln/optim.h"

#include <cmath>
#include <string>

#include "ir/FormatNumber.h"
#include "kiln/error.h"

namespace kiln::optim {

Optimizer::~Optimizer() = default;

SGD::SGD(const SGDOptions& o) : options_(o) {
  auto check = [](bool ok, const std::string& what) {
    if (!ok) detail::fail("SGD: " + what);
  };
  // The model file is JSON, which has no NaN or infinity.
  check(std::isfinite(o.lr()) && o.lr() >= 0, "invalid learning rate " + formatExact(o.lr()) + " (must be >= 0)");
  check(std::isfinite(o.momentum()) && o.momentum() >= 0,
        "invalid momentum " + formatExact(o.momentum()) + " (must be >= 0)");
  check(std::isfinite(o.dampening()), "invalid dampening " + formatExact(o.dampening()));
  check(std::isfinite(o.weight_decay()) && o.weight_decay() >= 0,
        "invalid weight_decay " + formatExact(o.weight_decay()) + " (must be >= 0)");
  check(!o.nesterov() || (o.momentum() > 0 && o.dampening() == 0),
        "nesterov momentum requires a momentum > 0 and zero dampening (got momentum " +
            formatExact(o.momentum()) + ", dampening " + formatExact(o.dampening()) + ")");
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
