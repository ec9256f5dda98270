#include "frontend/import/Registry.h"

#include "frontend/import/Limits.h"

#include "ir/FormatNumber.h"
#include "ir/NNDialect.h"

#include "mlir/IR/Diagnostics.h"

#include <algorithm>
#include <cmath>

using namespace mlir;

namespace kiln::import {

void fail(const std::string &path, const std::string &message) {
  throw ImportError{path, message};
}

void checkKnownKeys(const json &object, const std::string &path,
                    std::initializer_list<const char *> known, const char *noun) {
  if (!object.is_object())
    fail(path, "expected an object");
  for (auto it = object.begin(); it != object.end(); ++it)
    if (std::none_of(known.begin(), known.end(), [&](const char *k) { return it.key() == k; }))
      fail(path + "." + it.key(), std::string("unknown ") + noun + " '" + it.key() + "'");
}

const char *kindName(EntryKind kind) {
  switch (kind) {
  case EntryKind::Layer:
    return "layer";
  case EntryKind::Container:
    return "container";
  case EntryKind::Loss:
    return "loss";
  case EntryKind::Optimizer:
    return "optimizer";
  case EntryKind::Scheduler:
    return "scheduler";
  case EntryKind::Function:
    return "function";
  case EntryKind::TrainingOption:
    return "training option";
  case EntryKind::Runtime:
    return "runtime";
  case EntryKind::Reparametrization:
    return "reparametrization";
  }
  return "?";
}

//===----------------------------------------------------------------------===//
// Option specs
//===----------------------------------------------------------------------===//

static OptionSpec spec(std::string name, OptionType type, json dflt) {
  OptionSpec s;
  s.name = std::move(name);
  s.type = type;
  s.defaultValue = std::move(dflt);
  return s;
}

template <typename T> static json orNull(const std::optional<T> &v) {
  return v ? json(*v) : json();
}

OptionSpec boolOption(std::string name, std::optional<bool> dflt) {
  return spec(std::move(name), OptionType::Bool, orNull(dflt));
}
OptionSpec intOption(std::string name, std::optional<int64_t> dflt) {
  return spec(std::move(name), OptionType::Int, orNull(dflt));
}
OptionSpec floatOption(std::string name, std::optional<double> dflt) {
  return spec(std::move(name), OptionType::Float, orNull(dflt));
}
OptionSpec choiceOption(std::string name, std::string dflt,
                        std::vector<std::string> choices) {
  OptionSpec s = spec(std::move(name), OptionType::String, dflt);
  s.choices = std::move(choices);
  return s;
}
OptionSpec intTupleOption(std::string name, int size,
                          std::optional<int64_t> dflt) {
  OptionSpec s = spec(std::move(name), OptionType::IntTuple, orNull(dflt));
  s.tupleSize = size;
  return s;
}

OptionSpec floatTupleOption(std::string name, int size) {
  OptionSpec s = spec(std::move(name), OptionType::FloatTuple, json());
  s.tupleSize = size;
  return s;
}

OptionSpec floatTupleOption(std::string name, std::vector<double> dflt) {
  OptionSpec s = spec(std::move(name), OptionType::FloatTuple, json(dflt));
  s.tupleSize = static_cast<int>(dflt.size());
  return s;
}

OptionSpec intListOption(std::string name,
                          std::optional<std::vector<int64_t>> dflt) {
  return spec(std::move(name), OptionType::IntList, orNull(dflt));
}

OptionSpec floatListOption(std::string name) {
  return spec(std::move(name), OptionType::FloatList, json());
}

static const char *typeName(const OptionSpec &s) {
  switch (s.type) {
  case OptionType::Bool:
    return "true or false";
  case OptionType::Int:
    return "an integer";
  case OptionType::Float:
    return "a number";
  case OptionType::String:
    return "a string";
  case OptionType::IntTuple:
  case OptionType::IntList:
    return s.choices.empty() ? "an integer or an array of integers"
                             : "an integer, an array of integers or a string";
  case OptionType::FloatTuple:
  case OptionType::FloatList:
    return "a number or an array of numbers";
  }
  return "?";
}

static void checkBounds(const OptionSpec &s, double v, const std::string &path) {
  if (s.min && v < *s.min)
    fail(path, "must be >= " + formatExact(*s.min) + ", got " + formatExact(v));
  if (s.max && v > *s.max)
    fail(path, "must be <= " + formatExact(*s.max) + ", got " + formatExact(v));
}

/// Checks one given value against its spec; returns it normalised (an
/// IntTuple as an array of tupleSize ints).
static json checkValue(const OptionSpec &s, const json &v,
                       const std::string &path) {
  auto wrongType = [&]() { fail(path, std::string("expected ") + typeName(s)); };
  if (s.nullable && v.is_null())
    return v;
  switch (s.type) {
  case OptionType::Bool:
    if (!v.is_boolean())
      wrongType();
    return v;
  case OptionType::Int:
    if (!v.is_number_integer())
      wrongType();
    // Sizes and indices: the bound keeps every shape product in int64.
    if ((v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(kMaxIntOption)) ||
        v.get<int64_t>() > kMaxIntOption || v.get<int64_t>() < -kMaxIntOption)
      fail(path, "integer out of range (|value| <= " + std::to_string(kMaxIntOption) + ")");
    checkBounds(s, static_cast<double>(v.get<int64_t>()), path);
    return v;
  case OptionType::Float: {
    if (s.infinite && v.is_string() && (v == "inf" || v == "-inf"))
      return json(v == "inf" ? HUGE_VAL : -HUGE_VAL);
    if (!v.is_number())
      fail(path, s.infinite ? std::string("expected a number, \"inf\" or \"-inf\"")
                            : std::string("expected ") + typeName(s));
    double d = v.get<double>();
    if (!std::isfinite(d))
      fail(path, "must be finite");
    checkBounds(s, d, path);
    return json(d);
  }
  case OptionType::String: {
    if (!v.is_string())
      wrongType();
    std::string text = v.get<std::string>();
    if (!s.choices.empty() &&
        std::find(s.choices.begin(), s.choices.end(), text) == s.choices.end()) {
      std::string list;
      for (const std::string &c : s.choices)
        list += (list.empty() ? "\"" : ", \"") + c + "\"";
      fail(path, "must be one of " + list + ", got \"" + text + "\"");
    }
    return v;
  }
  case OptionType::IntTuple:
  case OptionType::IntList: {
    // An IntTuple with choices also takes one of those strings (Conv2d's
    // padding="same").
    if (v.is_string() && !s.choices.empty()) {
      OptionSpec text = s;
      text.type = OptionType::String;
      return checkValue(text, v, path);
    }
    bool list = s.type == OptionType::IntList;
    json items = v.is_array() ? v : json::array();
    if (!v.is_array())
      items.insert(items.end(), list ? 1 : s.tupleSize, v);
    if (!list && static_cast<int>(items.size()) != s.tupleSize)
      fail(path, "expected " + std::to_string(s.tupleSize) + " integers, got " +
                     std::to_string(items.size()));
    if (list && !v.is_array()) {
      // Kept as one number: torch tells `size=4` from `size=[4]` (one
      // value for every dimension vs a list checked against the rank).
      if (!v.is_number_integer())
        wrongType();
      OptionSpec element = s;
      element.type = OptionType::Int;
      return checkValue(element, v, path);
    }
    for (size_t i = 0; i < items.size(); ++i) {
      OptionSpec element = s;
      element.type = OptionType::Int;
      element.nullable = s.noneElements;
      checkValue(element, items[i], path + "[" + std::to_string(i) + "]");
    }
    return items;
  }
  case OptionType::FloatTuple: {
    json items = v.is_array() ? v : json::array();
    if (!v.is_array())
      items.insert(items.end(), s.tupleSize, v);
    if (static_cast<int>(items.size()) != s.tupleSize)
      fail(path, "expected " + std::to_string(s.tupleSize) + " numbers, got " +
                     std::to_string(items.size()));
    for (size_t i = 0; i < items.size(); ++i) {
      OptionSpec element = s;
      element.type = OptionType::Float;
      items[i] = checkValue(element, items[i], path + "[" + std::to_string(i) + "]");
    }
    return items;
  }
  case OptionType::FloatList: {
    if (!v.is_array()) {
      if (!v.is_number())
        wrongType();
      OptionSpec element = s;
      element.type = OptionType::Float;
      return checkValue(element, v, path);
    }
    json items = v;
    for (size_t i = 0; i < items.size(); ++i) {
      OptionSpec element = s;
      element.type = OptionType::Float;
      items[i] = checkValue(element, items[i], path + "[" + std::to_string(i) + "]");
    }
    return items;
  }
  }
  return v;
}

Options parseOptions(const Entry &entry, const json &given,
                     const std::string &path) {
  return parseOptions(entry.options, modelTypeName(entry), given, path);
}

Options parseOptions(const std::vector<OptionSpec> &specs, const std::string &what,
                     const json &given, const std::string &path) {
  if (!given.is_null() && !given.is_object())
    fail(path, "expected an object of options");
  json values = json::object();
  for (const OptionSpec &s : specs) {
    if (given.is_object() && given.contains(s.name)) {
      values[s.name] = checkValue(s, given[s.name], path + "." + s.name);
    } else if (!s.defaultValue.is_null()) {
      values[s.name] = checkValue(s, s.defaultValue, path + "." + s.name);
    } else if (s.nullable) {
      values[s.name] = nullptr; // torch's default None (MaxPool's stride)
    } else {
      fail(path, what + " needs option '" + s.name + "'");
    }
  }
  if (given.is_object())
    for (auto it = given.begin(); it != given.end(); ++it)
      if (!values.contains(it.key())) {
        std::string known;
        for (const OptionSpec &s : specs)
          known += (known.empty() ? "" : ", ") + s.name;
        fail(path + "." + it.key(),
             "unknown option '" + it.key() + "' for " + what +
                 " (options: " + (known.empty() ? "none" : known) + ")");
      }
  return Options(std::move(values), path);
}

bool Options::getBool(const std::string &name) const {
  return values.at(name).get<bool>();
}
int64_t Options::getInt(const std::string &name) const {
  return values.at(name).get<int64_t>();
}
double Options::getFloat(const std::string &name) const {
  return values.at(name).get<double>();
}
std::string Options::getString(const std::string &name) const {
  return values.at(name).get<std::string>();
}
std::vector<int64_t> Options::getInts(const std::string &name) const {
  const json &v = values.at(name);
  if (!v.is_array())
    return {v.get<int64_t>()};
  return v.get<std::vector<int64_t>>();
}
std::vector<double> Options::getFloats(const std::string &name) const {
  const json &v = values.at(name);
  if (!v.is_array())
    return {v.get<double>()};
  return v.get<std::vector<double>>();
}
std::vector<std::optional<int64_t>>
Options::getOptionalInts(const std::string &name) const {
  std::vector<std::optional<int64_t>> out;
  for (const json &v : values.at(name))
    out.push_back(v.is_null() ? std::nullopt : std::optional<int64_t>(v.get<int64_t>()));
  return out;
}

mlir::Attribute Init::attr(mlir::MLIRContext *ctx) const {
  static constexpr nn::InitKind kinds[] = {nn::InitKind::zeros, nn::InitKind::ones,
                                           nn::InitKind::uniform, nn::InitKind::normal,
                                           nn::InitKind::constant, nn::InitKind::norm_of,
                                           nn::InitKind::unit_normal, nn::InitKind::empty};
  return nn::InitAttr::get(ctx, kinds[kind], a, b);
}

//===----------------------------------------------------------------------===//
// Building ops
//===----------------------------------------------------------------------===//

void BuildContext::inferResultTypes(OperationState &state, InferFn infer) {
  std::string message;
  SmallVector<Type> types;
  LogicalResult ok = failure();
  {
    // The op's own message ("nn.linear: input [4, 16] has 16 features but
    // weight expects 32") becomes this call's error.
    ScopedDiagnosticHandler capture(state.location.getContext(),
                                    [&](Diagnostic &diag) {
                                      message = diag.str();
                                      return success();
                                    });
    ok = infer(state.location.getContext(), state.location, state.operands,
               state.attributes.getDictionary(state.location.getContext()),
               state.getRawProperties(), state.regions, types);
  }
  if (failed(ok))
    fail(message.empty() ? "cannot infer the result type" : message);
  for (Type t : types)
    if (auto tensor = dyn_cast<RankedTensorType>(t)) {
      std::string problem =
          shapeProblem(std::vector<int64_t>(tensor.getShape().begin(), tensor.getShape().end()));
      if (!problem.empty())
        fail("the result would be too large: its shape " + problem);
    }
  state.addTypes(types);
}

//===----------------------------------------------------------------------===//
// The registry
//===----------------------------------------------------------------------===//

void Registry::add(Entry entry) { all.push_back(std::move(entry)); }

bool coversInventory(const Entry &entry) {
  return entry.kind != EntryKind::Function || entry.torchNnUtility ||
         entry.torchName.rfind("nn.", 0) == 0;
}

std::string modelTypeName(const Entry &entry) {
  const std::string &n = entry.torchName;
  for (const char *prefix : {"nn.", "optim.lr_scheduler.", "optim.swa_utils.", "optim."})
    if (n.rfind(prefix, 0) == 0)
      return n.substr(std::string(prefix).size());
  return n;
}

const Entry *Registry::lookup(EntryKind kind, const std::string &modelType) const {
  for (const Entry &e : all) {
    bool kindMatches = e.kind == kind || (kind == EntryKind::Layer &&
                                          e.kind == EntryKind::Container);
    if (kindMatches && modelTypeName(e) == modelType)
      return &e;
  }
  return nullptr;
}

const Entry *Registry::find(const std::string &torchName) const {
  for (const Entry &e : all)
    if (e.torchName == torchName)
      return &e;
  return nullptr;
}

std::string Registry::supportedNames(EntryKind kind) const {
  std::string names;
  for (const Entry &e : all)
    if (e.kind == kind)
      names += (names.empty() ? "" : ", ") + modelTypeName(e);
  return names;
}

const Registry &registry() {
  static const Registry instance = [] {
    Registry r;
    registerLinearFamily(r);
    registerAttentionFamily(r);
    registerTransformerFamily(r);
    registerRecurrentFamily(r);
    registerPackedSequenceFamily(r);
    registerConvFamily(r);
    registerConvTransposeFamily(r);
    registerFoldFamily(r);
    registerActivationFamily(r);
    registerDropoutFamily(r);
    registerNormalizationFamily(r);
    registerPaddingFamily(r);
    registerPoolingFamily(r);
    registerFractionalPoolFamily(r);
    registerUtilityFamily(r);
    registerVisionFamily(r);
    registerDistanceFamily(r);
    registerSparseFamily(r);
    registerLossFamily(r);
    registerOptimizerFamily(r);
    registerSchedulerFamily(r);
    registerGradClipFamily(r);
    registerReparametrizationFamily(r);
    registerFusionFamily(r);
    registerElementwiseFunctions(r);
    registerTensorFunctions(r);
    return r;
  }();
  return instance;
}

} // namespace kiln::import
