#pragma once

#include "kiln/module.h"

namespace kiln::nn {

/// Elementwise max(x, 0) on float32, like nn.ReLU() (no options: "inplace"
/// means nothing to a compiler with value semantics).
class ReLUImpl : public Module {
 public:
  ReLUImpl();
  Tensor forward(const Tensor& input, SourceLoc loc = SourceLoc::current());
  std::optional<OptionList> layer_options() const override;
};
KILN_MODULE(ReLU);

}  // namespace kiln::nn
