#include "frontend/import/ModuleParameters.h"

#include <cmath>

namespace kiln::import {

using json = nlohmann::json;

std::vector<int64_t> shapeAt(const json &shape, const std::string &path) {
  if (!shape.is_array())
    fail(path, "expected an array of dimension sizes");
  std::vector<int64_t> sizes;
  for (size_t i = 0; i < shape.size(); ++i) {
    const json &d = shape[i];
    if (!d.is_number_integer() || (d.is_number_unsigned() && d.get<uint64_t>() > INT64_MAX) ||
        d.get<int64_t>() <= 0)
      fail(path + "[" + std::to_string(i) + "]",
           "dimension sizes must be positive integers (shapes are static)");
    sizes.push_back(d.get<int64_t>());
  }
  std::string problem = shapeProblem(sizes);
  if (!problem.empty())
    fail(path, "shape " + problem);
  return sizes;
}

namespace {

/// The finite number `init[key]`.
double finiteAt(const json &init, const std::string &path, const char *key) {
  auto it = init.find(key);
  if (it == init.end())
    fail(path, std::string("missing required field '") + key + "'");
  if (!it->is_number() || !std::isfinite(it->get<double>()))
    fail(path + "." + key, "expected a finite number");
  return it->get<double>();
}

} // namespace

Init initAt(const json &init, const std::string &path) {
  if (!init.is_object() || !init.contains("kind") || !init["kind"].is_string())
    fail(path, "expected an object with a \"kind\" (zeros, ones, constant, uniform, normal)");
  std::string kind = init["kind"].get<std::string>();
  if (kind == "zeros" || kind == "ones") {
    checkKnownKeys(init, path, {"kind"});
    return Init{kind == "zeros" ? Init::Zeros : Init::Ones};
  }
  if (kind == "constant") {
    checkKnownKeys(init, path, {"kind", "value"});
    return Init::constant(finiteAt(init, path, "value"));
  }
  if (kind == "uniform") {
    checkKnownKeys(init, path, {"kind", "a", "b"});
    double a = finiteAt(init, path, "a"), b = finiteAt(init, path, "b");
    if (a > b)
      fail(path + ".b", "the upper bound is below the lower bound a");
    return Init::uniform(a, b);
  }
  if (kind == "normal") {
    checkKnownKeys(init, path, {"kind", "mean", "std"});
    double mean = finiteAt(init, path, "mean"), std = finiteAt(init, path, "std");
    if (std < 0)
      fail(path + ".std", "the standard deviation must be >= 0");
    return Init::normal(mean, std);
  }
  fail(path + ".kind", "unknown initializer " + quotedName(kind) +
                           " (supported: zeros, ones, constant, uniform, normal)");
}

namespace {

/// The node's `key` array ("parameters" or "buffers", each a `noun`)
/// appended to `out`; their names go into `taken`, which they may not
/// repeat.
void declareModuleTensors(const json &node, const std::string &jsonPath,
                          const std::string &prefix, const char *key, const char *noun,
                          std::vector<Param> &out, std::set<std::string> &taken) {
  auto it = node.find(key);
  if (it == node.end())
    return;
  std::string path = jsonPath + "." + key;
  if (!it->is_array())
    fail(path, std::string("expected an array of ") + key +
                   " ({\"name\", \"shape\", \"init\"})");
  for (size_t i = 0; i < it->size(); ++i) {
    const json &p = (*it)[i];
    std::string at = path + "[" + std::to_string(i) + "]";
    checkKnownKeys(p, at, {"name", "shape", "init"});
    if (!p.contains("name") || !p["name"].is_string())
      fail(at + ".name", std::string("expected the ") + noun + "'s name (a string)");
    std::string name = p["name"].get<std::string>();
    // The name is a state_dict key part, like a module name.
    std::string problem = moduleNameProblem(name);
    if (!problem.empty())
      fail(at + ".name", std::string(noun) + " name " + quotedName(name) + " " + problem);
    if (!taken.insert(name).second)
      fail(at + ".name", std::string("duplicate ") + noun + " name " + quotedName(name) +
                             " (a module's parameters and buffers have one state_dict key "
                             "each)");
    if (!p.contains("shape"))
      fail(at, "missing required field 'shape'");
    if (!p.contains("init"))
      fail(at, "missing required field 'init'");
    std::vector<int64_t> shape = shapeAt(p["shape"], at + ".shape");
    Init init = initAt(p["init"], at + ".init");
    out.push_back({prefix.empty() ? name : prefix + "." + name, std::move(shape), init});
  }
}

} // namespace

std::set<std::string> declareModuleParameters(const json &node, const std::string &jsonPath,
                                              const std::string &prefix,
                                              std::vector<Param> &params) {
  std::set<std::string> names;
  declareModuleTensors(node, jsonPath, prefix, "parameters", "parameter", params, names);
  return names;
}

void declareModuleBuffers(const json &node, const std::string &jsonPath,
                          const std::string &prefix, std::vector<Param> &buffers,
                          std::set<std::string> &taken) {
  declareModuleTensors(node, jsonPath, prefix, "buffers", "buffer", buffers, taken);
}

} // namespace kiln::import
