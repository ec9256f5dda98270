// Parameters a container or user-defined module declares itself (torch's
// nn.Parameter attributes, nn.ParameterList, nn.ParameterDict): the module
// node's `parameters` array; and its buffers (register_buffer), `buffers`. Built-in layers never carry one: their
// parameters follow from their type and options (LayerDecl).
#ifndef KILN_FRONTEND_IMPORT_MODULEPARAMETERS_H
#define KILN_FRONTEND_IMPORT_MODULEPARAMETERS_H

#include "frontend/import/ImportCalls.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace kiln::import {

/// A tensor's `shape`: an array of positive sizes within Limits.h's bounds
/// ([] is a scalar). Fails at `path`.
std::vector<int64_t> shapeAt(const nlohmann::json &shape, const std::string &path);

/// An `init` object: {"kind": "zeros" | "ones"}, {"kind": "constant",
/// "value": v}, {"kind": "uniform", "a": lo, "b": hi} (lo <= hi) or
/// {"kind": "normal", "mean": m, "std": s} (s >= 0); every number finite.
/// The DSL reduces torch.nn.init's initializers (xavier_uniform_,
/// kaiming_normal_, ...) to these numbers when it writes the file.
Init initAt(const nlohmann::json &init, const std::string &path);

/// Appends the `parameters` of the module node at `jsonPath` (path prefix
/// `prefix`, "" for the root) to `params`, named `<prefix>.<name>` as
/// torch's state_dict; returns their local names, which the node's
/// children may not reuse. A node without `parameters` declares none.
std::set<std::string> declareModuleParameters(const nlohmann::json &node,
                                              const std::string &jsonPath,
                                              const std::string &prefix,
                                              std::vector<Param> &params);

/// The same for the node's `buffers` (torch's register_buffer: float32,
/// in the state_dict, never trained), appended to `buffers`; `taken` holds
/// the node's parameter names, which a buffer may not reuse, and gets the
/// buffers' names.
void declareModuleBuffers(const nlohmann::json &node, const std::string &jsonPath,
                          const std::string &prefix, std::vector<Param> &buffers,
                          std::set<std::string> &taken);

} // namespace kiln::import

#endif // KILN_FRONTEND_IMPORT_MODULEPARAMETERS_H
