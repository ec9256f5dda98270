#include "safetensors.h"

#include <algorithm>
#include <limits>
#include <unordered_set>

namespace kiln::rt {

const char *dtype_name(kiln_dtype dtype) {
  return dtype == KILN_I64 ? "I64" : "F32";
}

size_t dtype_size(kiln_dtype dtype) { return dtype == KILN_I64 ? 8 : 4; }

bool checked_numel(const std::vector<int64_t> &shape, size_t elem_size,
                   int64_t *numel) {
  const int64_t max = std::numeric_limits<int64_t>::max();
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0)
      return false;
    if (d != 0 && n > max / d)
      return false;
    n *= d;
  }
  if (elem_size != 0 && n > max / static_cast<int64_t>(elem_size))
    return false;
  *numel = n;
  return true;
}

namespace {

/* A strict recursive-descent reader for exactly the JSON a safetensors header
 * holds (RFC 8259 syntax; no nesting beyond tensor objects and metadata).
 * Every error names the file and the byte offset inside the header. */
class HeaderParser {
public:
  HeaderParser(const std::string &where, const char *json, size_t length)
      : where_(where), begin_(json), p_(json), end_(json + length) {}

  Error parse(std::vector<TensorEntry> *tensors) {
    std::unordered_set<std::string> names;
    bool seen_metadata = false;
    skip_ws();
    if (Error e = expect('{'))
      return e;
    skip_ws();
    if (peek() == '}') {
      ++p_;
    } else {
      for (;;) {
        skip_ws();
        std::string key;
        if (Error e = parse_string(&key))
          return e;
        skip_ws();
        if (Error e = expect(':'))
          return e;
        skip_ws();
        if (key == "__metadata__") {
          if (seen_metadata)
            return format_error("duplicate \"__metadata__\"");
          seen_metadata = true;
          if (Error e = parse_metadata())
            return e;
        } else {
          if (!names.insert(key).second)
            return fail(KILN_ERROR_FORMAT,
                        where_ + ": duplicate tensor name " + quoted(key));
          TensorEntry entry;
          entry.name = key;
          if (Error e = parse_tensor(&entry))
            return e;
          tensors->push_back(std::move(entry));
        }
        skip_ws();
        if (peek() == ',') {
          ++p_;
          continue;
        }
        if (Error e = expect('}'))
          return e;
        break;
      }
    }
    skip_ws(); // writers pad the header with spaces
    if (p_ != end_)
      return format_error("unexpected data after the header object");
    return {};
  }

private:
  int peek() const { return p_ < end_ ? static_cast<unsigned char>(*p_) : -1; }

  void skip_ws() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r'))
      ++p_;
  }

  Error format_error(const std::string &what) const {
    return fail(KILN_ERROR_FORMAT, where_ + ": malformed header JSON at byte " +
                                       std::to_string(p_ - begin_) + ": " +
                                       what);
  }

  Error expect(char c) {
    if (peek() != static_cast<unsigned char>(c))
      return format_error(std::string("expected '") + c + "'" +
                          (p_ == end_ ? " but the header ended" : ""));
    ++p_;
    return {};
  }

  Error parse_hex4(uint32_t *value) {
    *value = 0;
    for (int i = 0; i < 4; ++i) {
      int c = peek();
      uint32_t digit;
      if (c >= '0' && c <= '9')
        digit = c - '0';
      else if (c >= 'a' && c <= 'f')
        digit = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        digit = c - 'A' + 10;
      else
        return format_error("bad \\u escape");
      *value = *value * 16 + digit;
      ++p_;
    }
    return {};
  }

  static void append_utf8(std::string *s, uint32_t cp) {
    if (cp < 0x80) {
      *s += static_cast<char>(cp);
    } else if (cp < 0x800) {
      *s += static_cast<char>(0xC0 | (cp >> 6));
      *s += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      *s += static_cast<char>(0xE0 | (cp >> 12));
      *s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      *s += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      *s += static_cast<char>(0xF0 | (cp >> 18));
      *s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      *s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      *s += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  Error parse_string(std::string *out) {
    if (Error e = expect('"'))
      return e;
    out->clear();
    for (;;) {
      int c = peek();
      if (c < 0)
        return format_error("unterminated string");
      ++p_;
      if (c == '"')
        return {};
      if (c < 0x20)
        return format_error("control character in string");
      if (c != '\\') {
        *out += static_cast<char>(c);
        continue;
      }
      int esc = peek();
      ++p_;
      switch (esc) {
      case '"': *out += '"'; break;
      case '\\': *out += '\\'; break;
      case '/': *out += '/'; break;
      case 'b': *out += '\b'; break;
      case 'f': *out += '\f'; break;
      case 'n': *out += '\n'; break;
      case 'r': *out += '\r'; break;
      case 't': *out += '\t'; break;
      case 'u': {
        uint32_t cp;
        if (Error e = parse_hex4(&cp))
          return e;
        if (cp >= 0xDC00 && cp <= 0xDFFF)
          return format_error("unpaired low surrogate in \\u escape");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          uint32_t low;
          if (peek() != '\\' || p_ + 1 >= end_ || p_[1] != 'u')
            return format_error("unpaired high surrogate in \\u escape");
          p_ += 2;
          if (Error e = parse_hex4(&low))
            return e;
          if (low < 0xDC00 || low > 0xDFFF)
            return format_error("unpaired high surrogate in \\u escape");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        }
        append_utf8(out, cp);
        break;
      }
      default:
        --p_;
        return format_error("bad escape in string");
      }
    }
  }

  /* A JSON integer (no fraction, no exponent). `negative` reports a leading
   * minus so callers can give a better message than "not an integer". */
  Error parse_integer(const std::string &what, bool *negative, uint64_t *value) {
    *negative = false;
    if (peek() == '-') {
      *negative = true;
      ++p_;
    }
    if (peek() < '0' || peek() > '9')
      return format_error("expected an integer in " + what);
    if (peek() == '0' && p_ + 1 < end_ && p_[1] >= '0' && p_[1] <= '9')
      return format_error("leading zero in " + what);
    uint64_t v = 0;
    while (peek() >= '0' && peek() <= '9') {
      uint64_t digit = static_cast<uint64_t>(*p_ - '0');
      if (v > (std::numeric_limits<uint64_t>::max() - digit) / 10)
        return format_error("integer too large in " + what);
      v = v * 10 + digit;
      ++p_;
    }
    if (peek() == '.' || peek() == 'e' || peek() == 'E')
      return format_error("expected an integer in " + what);
    *value = v;
    return {};
  }

  Error parse_metadata() {
    if (Error e = expect('{'))
      return e;
    skip_ws();
    if (peek() == '}') {
      ++p_;
      return {};
    }
    for (;;) {
      skip_ws();
      std::string key, value;
      if (Error e = parse_string(&key))
        return e;
      skip_ws();
      if (Error e = expect(':'))
        return e;
      skip_ws();
      if (peek() != '"')
        return format_error("\"__metadata__\" value of " + quoted(key) +
                            " is not a string");
      if (Error e = parse_string(&value))
        return e;
      skip_ws();
      if (peek() == ',') {
        ++p_;
        continue;
      }
      return expect('}');
    }
  }

  Error parse_dtype(TensorEntry *entry) {
    std::string dtype;
    if (Error e = parse_string(&dtype))
      return e;
    if (dtype == "F32") {
      entry->dtype = KILN_F32;
    } else if (dtype == "I64") {
      entry->dtype = KILN_I64;
    } else {
      return fail(KILN_ERROR_UNSUPPORTED,
                  where_ + ": tensor " + quoted(entry->name) +
                      " has unsupported dtype " + quoted(dtype) +
                      " (supported: F32, I64)");
    }
    return {};
  }

  Error parse_shape(TensorEntry *entry) {
    const std::string what = "the shape of tensor " + quoted(entry->name);
    if (Error e = expect('['))
      return e;
    skip_ws();
    if (peek() == ']') {
      ++p_;
      return {};
    }
    for (;;) {
      skip_ws();
      bool negative;
      uint64_t d;
      if (Error e = parse_integer(what, &negative, &d))
        return e;
      if (negative && d != 0)
        return fail(KILN_ERROR_FORMAT, where_ + ": tensor " +
                                           quoted(entry->name) +
                                           " has a negative dimension -" +
                                           std::to_string(d));
      if (d > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        return format_error("dimension too large in " + what);
      entry->shape.push_back(static_cast<int64_t>(d));
      skip_ws();
      if (peek() == ',') {
        ++p_;
        continue;
      }
      return expect(']');
    }
  }

  Error parse_offsets(TensorEntry *entry) {
    const std::string what = "the data_offsets of tensor " + quoted(entry->name);
    uint64_t values[2];
    if (Error e = expect('['))
      return e;
    for (int i = 0; i < 2; ++i) {
      skip_ws();
      bool negative;
      if (Error e = parse_integer(what, &negative, &values[i]))
        return e;
      if (negative && values[i] != 0)
        return fail(KILN_ERROR_FORMAT, where_ + ": tensor " +
                                           quoted(entry->name) +
                                           " has a negative data offset");
      skip_ws();
      if (i == 0)
        if (Error e = expect(','))
          return e;
    }
    if (peek() != ']')
      return format_error(what + " must be [begin, end]");
    ++p_;
    entry->begin = values[0];
    entry->end = values[1];
    return {};
  }

  Error parse_tensor(TensorEntry *entry) {
    if (peek() != '{')
      return format_error("tensor " + quoted(entry->name) +
                          " is not an object");
    ++p_;
    bool has_dtype = false, has_shape = false, has_offsets = false;
    skip_ws();
    if (peek() != '}') {
      for (;;) {
        skip_ws();
        std::string field;
        if (Error e = parse_string(&field))
          return e;
        skip_ws();
        if (Error e = expect(':'))
          return e;
        skip_ws();
        bool *seen;
        Error e;
        if (field == "dtype") {
          seen = &has_dtype;
          e = parse_dtype(entry);
        } else if (field == "shape") {
          seen = &has_shape;
          entry->shape.clear();
          e = parse_shape(entry);
        } else if (field == "data_offsets") {
          seen = &has_offsets;
          e = parse_offsets(entry);
        } else {
          return fail(KILN_ERROR_FORMAT, where_ + ": tensor " +
                                             quoted(entry->name) +
                                             " has unknown field " +
                                             quoted(field));
        }
        if (e)
          return e;
        if (*seen)
          return fail(KILN_ERROR_FORMAT, where_ + ": tensor " +
                                             quoted(entry->name) +
                                             " has field " + quoted(field) +
                                             " twice");
        *seen = true;
        skip_ws();
        if (peek() == ',') {
          ++p_;
          continue;
        }
        if (Error e2 = expect('}'))
          return e2;
        break;
      }
    } else {
      ++p_;
    }
    const char *missing = !has_dtype ? "dtype"
                          : !has_shape ? "shape"
                          : !has_offsets ? "data_offsets"
                                         : nullptr;
    if (missing)
      return fail(KILN_ERROR_FORMAT, where_ + ": tensor " + quoted(entry->name) +
                                         " has no " + quoted(missing) + " field");
    return {};
  }

  const std::string &where_;
  const char *begin_;
  const char *p_;
  const char *end_;
};

std::string offsets_string(const TensorEntry &t) {
  return "[" + std::to_string(t.begin) + ", " + std::to_string(t.end) + "]";
}

} // namespace

Error parse_safetensors_header(const std::string &where, const char *json,
                               size_t length, uint64_t data_size,
                               std::vector<TensorEntry> *tensors) {
  tensors->clear();
  if (Error e = HeaderParser(where, json, length).parse(tensors))
    return e;

  for (const TensorEntry &t : *tensors) {
    const std::string tensor = where + ": tensor " + quoted(t.name);
    int64_t numel;
    if (!checked_numel(t.shape, dtype_size(t.dtype), &numel))
      return fail(KILN_ERROR_FORMAT, tensor + " has shape " +
                                         shape_string(t.shape) +
                                         ", too many elements");
    if (t.end < t.begin)
      return fail(KILN_ERROR_FORMAT, tensor + " has data_offsets " +
                                         offsets_string(t) +
                                         " that end before they begin");
    if (t.end > data_size)
      return fail(KILN_ERROR_FORMAT,
                  tensor + " has data_offsets " + offsets_string(t) +
                      " outside the data section of " +
                      std::to_string(data_size) + " bytes");
    uint64_t needed = static_cast<uint64_t>(numel) * dtype_size(t.dtype);
    if (t.end - t.begin != needed)
      return fail(KILN_ERROR_FORMAT,
                  tensor + " has data_offsets " + offsets_string(t) + " (" +
                      std::to_string(t.end - t.begin) + " bytes) but " +
                      dtype_name(t.dtype) + " " + shape_string(t.shape) +
                      " needs " + std::to_string(needed) + " bytes");
  }

  // Like the reference implementation, the tensors must tile the data
  // section exactly: sorted by (begin, end), each begins where the previous
  // ends, the first at 0 and the last at the end of the file. Bytes that no
  // tensor owns are rejected, not skipped: they are how a wrong header length
  // shows (one too small and every tensor would be read one byte early).
  // An empty tensor sits at a boundary, as writers place them.
  std::vector<const TensorEntry *> by_offset;
  for (const TensorEntry &t : *tensors)
    by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const TensorEntry *a, const TensorEntry *b) {
              return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
            });
  uint64_t covered = 0;
  const TensorEntry *previous = nullptr;
  for (const TensorEntry *t : by_offset) {
    if (t->begin < covered)
      return fail(KILN_ERROR_FORMAT,
                  where + ": tensors " + quoted(previous->name) + " " +
                      offsets_string(*previous) + " and " + quoted(t->name) +
                      " " + offsets_string(*t) + " overlap in the data section");
    if (t->begin > covered)
      return fail(KILN_ERROR_FORMAT,
                  where + ": bytes [" + std::to_string(covered) + ", " +
                      std::to_string(t->begin) +
                      ") of the data section belong to no tensor (before " +
                      quoted(t->name) + " " + offsets_string(*t) +
                      "); the tensors must cover it exactly");
    covered = t->end;
    previous = t;
  }
  if (covered != data_size)
    return fail(KILN_ERROR_FORMAT,
                where + ": the tensors cover " + std::to_string(covered) +
                    " bytes but the data section after the header has " +
                    std::to_string(data_size) + ": " +
                    std::to_string(data_size - covered) +
                    " bytes belong to no tensor (trailing data, or a wrong "
                    "header length)");
  return {};
}

namespace {
void append_json_string(std::string *out, const std::string &s) {
  static const char hex[] = "0123456789abcdef";
  *out += '"';
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      *out += '\\';
      *out += static_cast<char>(c);
    } else if (c < 0x20) {
      *out += "\\u00";
      *out += hex[c >> 4];
      *out += hex[c & 15];
    } else {
      *out += static_cast<char>(c);
    }
  }
  *out += '"';
}
} // namespace

std::string build_safetensors_header(const std::vector<TensorEntry> &tensors) {
  std::string json = "{";
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TensorEntry &t = tensors[i];
    if (i)
      json += ',';
    append_json_string(&json, t.name);
    json += ":{\"dtype\":\"";
    json += dtype_name(t.dtype);
    json += "\",\"shape\":[";
    for (size_t d = 0; d < t.shape.size(); ++d) {
      if (d)
        json += ',';
      json += std::to_string(t.shape[d]);
    }
    json += "],\"data_offsets\":[" + std::to_string(t.begin) + "," +
            std::to_string(t.end) + "]}";
  }
  json += '}';
  while ((8 + json.size()) % 8 != 0)
    json += ' ';
  return json;
}

} // namespace kiln::rt
