#include "descriptor.h"
#include "safetensors.h"

#include <charconv>
#include <cmath>
#include <unordered_set>

namespace kiln::rt {
namespace {

struct Line {
  int number;
  std::vector<std::string> tokens;
};

std::vector<Line> tokenize(const char *text) {
  std::vector<Line> lines;
  int number = 0;
  const char *p = text;
  while (*p) {
    ++number;
    const char *end = p;
    while (*end && *end != '\n')
      ++end;
    Line line{number, {}};
    const char *q = p;
    while (q < end) {
      while (q < end && (*q == ' ' || *q == '\t' || *q == '\r'))
        ++q;
      if (q == end || *q == '#')
        break;
      const char *start = q;
      while (q < end && *q != ' ' && *q != '\t' && *q != '\r')
        ++q;
      line.tokens.emplace_back(start, q);
    }
    if (!line.tokens.empty())
      lines.push_back(std::move(line));
    p = *end ? end + 1 : end;
  }
  return lines;
}

class Parser {
public:
  explicit Parser(Descriptor *out) : d_(out) {}

  Error parse(const char *text) {
    std::vector<Line> lines = tokenize(text);
    if (lines.empty())
      return fail(KILN_ERROR_FORMAT, "descriptor: empty");
    if (Error e = parse_header(lines[0]))
      return e;
    for (size_t i = 1; i < lines.size(); ++i)
      if (Error e = parse_record(lines[i]))
        return e;
    return finish();
  }

private:
  Error line_error(const std::string &what) const {
    return fail(KILN_ERROR_FORMAT,
                "descriptor line " + std::to_string(line_->number) + ": " + what);
  }

  /* The next field of the current line; `what` names it for the message. */
  Error next(const std::string &what, std::string *token) {
    if (pos_ >= line_->tokens.size())
      return line_error("missing " + what + " in '" + line_->tokens[0] +
                        "' record");
    *token = line_->tokens[pos_++];
    return {};
  }

  Error end_of_line() {
    if (pos_ < line_->tokens.size())
      return line_error("unexpected field '" + line_->tokens[pos_] +
                        "' at the end of '" + line_->tokens[0] + "' record");
    return {};
  }

  Error next_int(const std::string &what, int64_t *value) {
    std::string token;
    if (Error e = next(what, &token))
      return e;
    const char *end = token.data() + token.size();
    auto [ptr, ec] = std::from_chars(token.data(), end, *value);
    if (ec != std::errc() || ptr != end)
      return line_error("bad " + what + " '" + token + "' (expected an integer)");
    return {};
  }

  /* std::from_chars, unlike strtod, ignores the C locale: a user's
   * setlocale(LC_ALL, "de_DE") must not change how "0.01" parses. */
  Error next_double(const std::string &what, double *value) {
    std::string token;
    if (Error e = next(what, &token))
      return e;
    const char *begin = token.data(), *end = token.data() + token.size();
    if (begin != end && *begin == '+')
      ++begin; // from_chars rejects an explicit plus sign
    auto [ptr, ec] = std::from_chars(begin, end, *value);
    if (ec != std::errc() || ptr != end || !std::isfinite(*value))
      return line_error("bad " + what + " '" + token +
                        "' (expected a finite number)");
    return {};
  }

  Error parse_header(const Line &line) {
    line_ = &line;
    pos_ = 1;
    if (line.tokens[0] != "kiln-descriptor")
      return line_error("expected 'kiln-descriptor 1' first, got '" +
                        line.tokens[0] + "'");
    std::string version;
    if (Error e = next("version", &version))
      return e;
    if (version != "1")
      return fail(KILN_ERROR_UNSUPPORTED,
                  "descriptor line " + std::to_string(line.number) +
                      ": unsupported descriptor version '" + version +
                      "' (this runtime reads version 1)");
    return end_of_line();
  }

  Error parse_tensor(TensorSpec *spec, bool with_init) {
    spec->line = line_->number;
    if (Error e = next("name", &spec->name))
      return e;
    std::string dtype;
    if (Error e = next("dtype", &dtype))
      return e;
    if (dtype == "f32")
      spec->dtype = KILN_F32;
    else if (dtype == "i64")
      spec->dtype = KILN_I64;
    else
      return line_error("unknown dtype '" + dtype + "' for '" + spec->name +
                        "' (expected f32 or i64)");
    int64_t rank;
    if (Error e = next_int("rank", &rank))
      return e;
    const int64_t fields_left =
        static_cast<int64_t>(line_->tokens.size() - pos_);
    if (rank < 0 || rank > fields_left)
      return line_error("bad rank " + std::to_string(rank) + " for '" +
                        spec->name + "'");
    for (int64_t i = 0; i < rank; ++i) {
      int64_t dim;
      if (Error e = next_int("dimension", &dim))
        return e;
      if (dim < 0)
        return line_error("negative dimension " + std::to_string(dim) +
                          " in the shape of '" + spec->name + "'");
      spec->shape.push_back(dim);
    }
    if (!checked_numel(spec->shape, dtype_size(spec->dtype), &spec->numel))
      return line_error("shape " + shape_string(spec->shape) + " of '" +
                        spec->name + "' is too large");
    if (with_init)
      if (Error e = parse_init(spec))
        return e;
    return end_of_line();
  }

  Error parse_init(TensorSpec *spec) {
    std::string kind;
    if (Error e = next("initializer", &kind))
      return e;
    Init &init = spec->init;
    if (kind == "zeros") {
      init.kind = Init::Zeros;
    } else if (kind == "ones") {
      init.kind = Init::Ones;
    } else if (kind == "uniform") {
      init.kind = Init::Uniform;
      if (Error e = next_double("uniform LO", &init.a))
        return e;
      if (Error e = next_double("uniform HI", &init.b))
        return e;
      if (init.a > init.b)
        return line_error("uniform bounds of '" + spec->name +
                          "' have LO > HI");
    } else if (kind == "normal") {
      init.kind = Init::Normal;
      if (Error e = next_double("normal MEAN", &init.a))
        return e;
      if (Error e = next_double("normal STD", &init.b))
        return e;
      if (init.b < 0)
        return line_error("normal STD of '" + spec->name + "' is negative");
    } else {
      return line_error("unknown initializer '" + kind + "' for '" +
                        spec->name + "' (expected uniform, normal, zeros or ones)");
    }
    return {};
  }

  /* Parameters and states are exposed as float* (kiln_model_parameter,
   * kiln_model_state), so they must be f32. */
  Error require_f32(const TensorSpec &spec, const char *kind) {
    if (spec.dtype != KILN_F32)
      return line_error(std::string(kind) + " '" + spec.name +
                        "' must be f32");
    return {};
  }

  Error unique(std::unordered_set<std::string> *names, const TensorSpec &spec,
               const char *kind) {
    if (!names->insert(spec.name).second)
      return line_error(std::string("duplicate ") + kind + " name '" +
                        spec.name + "'");
    return {};
  }

  Error once(int *seen_at, const std::string &record) {
    if (*seen_at)
      return line_error("second '" + record + "' record (first on line " +
                        std::to_string(*seen_at) + ")");
    *seen_at = line_->number;
    return {};
  }

  Error parse_record(const Line &line) {
    line_ = &line;
    pos_ = 1;
    const std::string &record = line.tokens[0];
    if (record == "name") {
      if (Error e = once(&name_line_, record))
        return e;
      if (Error e = next("model name", &d_->name))
        return e;
      return end_of_line();
    }
    if (record == "mode") {
      if (Error e = once(&mode_line_, record))
        return e;
      std::string mode;
      if (Error e = next("mode", &mode))
        return e;
      if (mode != "train" && mode != "inference")
        return line_error("unknown mode '" + mode +
                          "' (expected train or inference)");
      d_->train = mode == "train";
      return end_of_line();
    }
    if (record == "input" || record == "output") {
      bool input = record == "input";
      TensorSpec spec;
      if (Error e = parse_tensor(&spec, false))
        return e;
      if (Error e = unique(input ? &input_names_ : &output_names_, spec,
                           record.c_str()))
        return e;
      (input ? d_->inputs : d_->outputs).push_back(std::move(spec));
      return {};
    }
    if (record == "target") {
      if (Error e = once(&target_line_, record))
        return e;
      TensorSpec spec;
      if (Error e = parse_tensor(&spec, false))
        return e;
      if (Error e = unique(&input_names_, spec, "input"))
        return e;
      d_->target = std::move(spec);
      return {};
    }
    if (record == "param" || record == "state") {
      bool param = record == "param";
      TensorSpec spec;
      if (Error e = parse_tensor(&spec, true))
        return e;
      if (Error e = require_f32(spec, param ? "parameter" : "state"))
        return e;
      if (!param && (spec.name == "step" || spec.name == "lr"))
        return line_error("state name '" + spec.name +
                          "' is reserved for the optimizer file");
      if (Error e = unique(param ? &param_names_ : &state_names_, spec,
                           record.c_str()))
        return e;
      if (!param)
        state_line_ = state_line_ ? state_line_ : line.number;
      (param ? d_->params : d_->states).push_back(std::move(spec));
      return {};
    }
    if (record == "lr") {
      if (Error e = once(&lr_line_, record))
        return e;
      double lr;
      if (Error e = next_double("learning rate", &lr))
        return e;
      d_->lr = static_cast<float>(lr);
      if (!std::isfinite(d_->lr))
        return line_error("learning rate out of f32 range");
      return end_of_line();
    }
    if (record == "workspace") {
      if (Error e = once(&workspace_line_, record))
        return e;
      if (Error e = next_int("workspace bytes", &d_->workspace_bytes))
        return e;
      if (d_->workspace_bytes < 0 || d_->workspace_bytes > (int64_t(1) << 48))
        return line_error("workspace bytes " +
                          std::to_string(d_->workspace_bytes) +
                          " out of range [0, 2^48]");
      return end_of_line();
    }
    if (record == "kiln-descriptor")
      return line_error("second 'kiln-descriptor' record");
    return line_error("unknown record '" + record + "'");
  }

  Error missing(const std::string &what) const {
    return fail(KILN_ERROR_FORMAT, "descriptor: missing '" + what + "' line");
  }

  Error at_line(int line, const std::string &what) const {
    return fail(KILN_ERROR_FORMAT,
                "descriptor line " + std::to_string(line) + ": " + what);
  }

  Error finish() {
    if (!name_line_)
      return missing("name");
    if (!mode_line_)
      return missing("mode");
    if (d_->train) {
      if (!target_line_)
        return missing("target");
      if (!lr_line_)
        return missing("lr");
    } else {
      const char *inference_only = "is only allowed in train mode";
      if (target_line_)
        return at_line(target_line_, std::string("'target' ") + inference_only);
      if (lr_line_)
        return at_line(lr_line_, std::string("'lr' ") + inference_only);
      if (state_line_)
        return at_line(state_line_, std::string("'state' ") + inference_only);
    }
    return {};
  }

  Descriptor *d_;
  const Line *line_ = nullptr;
  size_t pos_ = 0;
  int name_line_ = 0, mode_line_ = 0, target_line_ = 0, lr_line_ = 0,
      state_line_ = 0, workspace_line_ = 0;
  std::unordered_set<std::string> input_names_, output_names_, param_names_,
      state_names_;
};

} // namespace

Error parse_descriptor(const char *text, Descriptor *out) {
  *out = Descriptor();
  return Parser(out).parse(text);
}

} // namespace kiln::rt
