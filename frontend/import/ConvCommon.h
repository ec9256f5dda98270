// What the convolution layers (Conv.cpp) and the transposed convolutions
// (ConvTranspose.cpp) check and declare alike: torch's _ConvNd constructor
// rules and reset_parameters.
#ifndef KILN_FRONTEND_IMPORT_CONVCOMMON_H
#define KILN_FRONTEND_IMPORT_CONVCOMMON_H

#include "frontend/import/Registry.h"

#include <cmath>
#include <string>
#include <vector>

namespace kiln::import {

/// in_channels and out_channels divisible by groups, at options.groups.
inline void checkChannelGroups(const Options &o) {
  int64_t groups = o.getInt("groups");
  for (const char *channels : {"in_channels", "out_channels"})
    if (o.getInt(channels) % groups != 0)
      fail(o.pathOf("groups"), std::string(channels) + " " +
                                   std::to_string(o.getInt(channels)) +
                                   " must be divisible by groups " +
                                   std::to_string(groups));
}

/// A lazy layer's in_channels comes from the DSL's first call; 0 means the
/// traced forward never called it.
inline void checkLazyInChannels(const Options &o, const std::string &layer) {
  if (o.getInt("in_channels") == 0)
    fail(o.pathOf("in_channels"),
         layer + " was never called in the traced forward: its in_channels, "
                 "taken from its first input, is unknown");
}

/// "weight" [rows, cols, *kernel_size] and, with the bias option, "bias"
/// [out_channels], both U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in =
/// cols * prod(kernel_size): torch's kaiming_uniform_(a=sqrt(5)) and bias
/// bound, fan_in computed from the weight as torch does for any weight.
inline void declareConvParameters(LayerDecl &decl, int64_t rows, int64_t cols) {
  const Options &o = decl.options();
  std::vector<int64_t> shape{rows, cols};
  // In double: the sizes are bounded one by one, not yet their product
  // (addParameter checks the shape).
  double fanIn = static_cast<double>(cols);
  for (int64_t k : o.getInts("kernel_size")) {
    shape.push_back(k);
    fanIn *= static_cast<double>(k);
  }
  double bound = 1.0 / std::sqrt(fanIn);
  decl.addParameter("weight", shape, Init::uniform(-bound, bound));
  if (o.getBool("bias"))
    decl.addParameter("bias", {o.getInt("out_channels")}, Init::uniform(-bound, bound));
}

} // namespace kiln::import

#endif // KILN_FRONTEND_IMPORT_CONVCOMMON_H
