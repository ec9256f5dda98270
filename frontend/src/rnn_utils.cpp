// torch.nn.utils.rnn in the DSL: the checks torch makes when the trace
// knows enough to make them (shapes, and lengths given as lists), and the
// graph function each call records (kilnc's
// frontend/import/PackedSequence.cpp builds the math and the run-time
// checks of int64 lengths).
#include "kiln/nn/utils/rnn.h"

#include <algorithm>

#include "ir/ShapeRules.h"
#include "shapes.h"

namespace kiln::nn::utils::rnn {
namespace {

using detail::fail;

constexpr const char* kPrefix = "utils.rnn.";

detail::Trace& begin(const std::string& what, const std::vector<const Tensor*>& floats, SourceLoc loc) {
  auto& trace = detail::Trace::active(what, loc);
  for (const Tensor* t : floats) {
    trace.check_value(*t, what, loc);
    detail::require_float32(*t, what, loc);
  }
  return trace;
}

std::string list_str(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

/// torch's checks of known lengths: one per sequence, each in [1, steps],
/// decreasing with enforce_sorted.
void check_lengths(const std::vector<int64_t>& lengths, int64_t batch, int64_t steps, bool enforce_sorted,
                   const std::string& what, SourceLoc loc) {
  if (static_cast<int64_t>(lengths.size()) != batch)
    fail(loc, what + ": expected one length per sequence (" + std::to_string(batch) + "), got " +
                  list_str(lengths));
  for (size_t i = 0; i < lengths.size(); ++i) {
    if (lengths[i] < 1)
      fail(loc, what + ": Length of all samples has to be greater than 0, but found an element in 'lengths' "
                       "that is <= 0 (lengths[" + std::to_string(i) + "] = " + std::to_string(lengths[i]) + ")");
    if (lengths[i] > steps)
      fail(loc, what + ": lengths[" + std::to_string(i) + "] = " + std::to_string(lengths[i]) +
                    " is longer than the padded input's " + std::to_string(steps) + " steps");
    if (enforce_sorted && i > 0 && lengths[i] > lengths[i - 1])
      fail(loc, what + ": `lengths` array must be sorted in decreasing order when `enforce_sorted` is True (got " +
                    list_str(lengths) + "). You can pass `enforce_sorted=False` to sidestep this requirement");
  }
}

/// The time-major shape of a padded input: [T, B, *].
Shape time_major(const Shape& s, bool batch_first) {
  Shape t = s;
  if (batch_first) std::swap(t[0], t[1]);
  return t;
}

void require_packed(const PackedSequence& p, const std::string& what, SourceLoc loc) {
  if (!p.data().defined() || !p.lengths().defined())
    fail(loc, what + ": an empty PackedSequence (use the one pack_padded_sequence or pack_sequence gives)");
}

}  // namespace

PackedSequence pack_padded_sequence(const Tensor& input, const Tensor& lengths, bool batch_first,
                                    bool enforce_sorted, SourceLoc loc) {
  const std::string what = "pack_padded_sequence()";
  auto& trace = begin(what, {&input}, loc);
  trace.check_value(lengths, what, loc);
  if (lengths.dtype() != Dtype::Int64)
    fail(loc, what + ": lengths must be an int64 tensor, got " + dtype_name(lengths.dtype()) + " tensor '" +
                  lengths.name() + "'");
  if (input.sizes().size() < 2)
    fail(loc, what + ": input must have at least 2 dimensions, got " + shape_rules::str(input.sizes()));
  Shape data = time_major(input.sizes(), batch_first);
  if (lengths.sizes() != Shape{data[1]})
    fail(loc, what + ": lengths must be 1-D with one length per sequence ([" + std::to_string(data[1]) + "]), got " +
                  shape_rules::str(lengths.sizes()));
  auto out = detail::record_function(
      trace, std::string(kPrefix) + "pack_padded_sequence",
      {{"batch_first", batch_first}, {"enforce_sorted", enforce_sorted}, {"lengths", nullptr}}, {input, lengths},
      {{data, Dtype::Float32}, {{data[1]}, Dtype::Int64}}, loc);
  return PackedSequence(out[0], out[1]);
}

PackedSequence pack_padded_sequence(const Tensor& input, std::vector<int64_t> lengths, bool batch_first,
                                    bool enforce_sorted, SourceLoc loc) {
  const std::string what = "pack_padded_sequence()";
  auto& trace = begin(what, {&input}, loc);
  if (input.sizes().size() < 2)
    fail(loc, what + ": input must have at least 2 dimensions, got " + shape_rules::str(input.sizes()));
  Shape data = time_major(input.sizes(), batch_first);
  check_lengths(lengths, data[1], data[0], enforce_sorted, what, loc);
  auto out = detail::record_function(
      trace, std::string(kPrefix) + "pack_padded_sequence",
      {{"batch_first", batch_first}, {"enforce_sorted", enforce_sorted}, {"lengths", lengths}}, {input},
      {{data, Dtype::Float32}, {{data[1]}, Dtype::Int64}}, loc);
  return PackedSequence(out[0], out[1], std::move(lengths));
}

std::tuple<Tensor, Tensor> pad_packed_sequence(const PackedSequence& sequence, bool batch_first,
                                               double padding_value, std::optional<int64_t> total_length,
                                               SourceLoc loc) {
  const std::string what = "pad_packed_sequence()";
  require_packed(sequence, what, loc);
  auto& trace = begin(what, {&sequence.data()}, loc);
  trace.check_value(sequence.lengths(), what, loc);
  Shape out = sequence.data().sizes();
  if (total_length) {
    if (*total_length < 1) fail(loc, what + ": total_length must be >= 1, got " + std::to_string(*total_length));
    out[0] = *total_length;
  }
  if (batch_first) std::swap(out[0], out[1]);
  OptionValue total = total_length ? OptionValue(*total_length) : OptionValue(nullptr);
  auto values = detail::record_function(
      trace, std::string(kPrefix) + "pad_packed_sequence",
      {{"batch_first", batch_first}, {"padding_value", padding_value}, {"total_length", total}},
      {sequence.data(), sequence.lengths()}, {{out, Dtype::Float32}, {sequence.lengths().sizes(), Dtype::Int64}},
      loc);
  return {values[0], values[1]};
}

namespace {
/// pad_sequence's shape rule: [L, n, *] ([n, L, *] batch first).
Shape padded_shape(const std::vector<Tensor>& sequences, bool batch_first, const std::string& what, SourceLoc loc) {
  if (sequences.empty()) fail(loc, what + ": needs at least one sequence");
  if (sequences.size() > 64) fail(loc, what + ": at most 64 sequences, got " + std::to_string(sequences.size()));
  const Shape& first = sequences[0].sizes();
  if (first.empty()) fail(loc, what + ": each sequence needs at least 1 dimension (its length), got a scalar");
  int64_t longest = 0;
  for (size_t i = 0; i < sequences.size(); ++i) {
    const Shape& s = sequences[i].sizes();
    if (s.empty() || !std::equal(s.begin() + 1, s.end(), first.begin() + 1, first.end()))
      fail(loc, what + ": every sequence must be [L, *] with the first's trailing dimensions; sequence " +
                    std::to_string(i) + " is " + shape_rules::str(s) + ", the first " + shape_rules::str(first));
    longest = std::max(longest, s[0]);
  }
  Shape out = batch_first ? Shape{static_cast<int64_t>(sequences.size()), longest}
                          : Shape{longest, static_cast<int64_t>(sequences.size())};
  out.insert(out.end(), first.begin() + 1, first.end());
  return out;
}

std::vector<const Tensor*> pointers(const std::vector<Tensor>& v) {
  std::vector<const Tensor*> p;
  for (const Tensor& t : v) p.push_back(&t);
  return p;
}
}  // namespace

Tensor pad_sequence(const std::vector<Tensor>& sequences, bool batch_first, double padding_value, SourceLoc loc) {
  const std::string what = "pad_sequence()";
  auto& trace = begin(what, pointers(sequences), loc);
  Shape out = padded_shape(sequences, batch_first, what, loc);
  return detail::record_function(trace, std::string(kPrefix) + "pad_sequence",
                                 {{"batch_first", batch_first}, {"padding_value", padding_value}}, sequences,
                                 std::move(out), Dtype::Float32, loc);
}

PackedSequence pack_sequence(const std::vector<Tensor>& sequences, bool enforce_sorted, SourceLoc loc) {
  const std::string what = "pack_sequence()";
  auto& trace = begin(what, pointers(sequences), loc);
  Shape data = padded_shape(sequences, false, what, loc);
  std::vector<int64_t> lengths;
  for (const Tensor& s : sequences) lengths.push_back(s.sizes()[0]);
  check_lengths(lengths, data[1], data[0], enforce_sorted, what, loc);
  auto out = detail::record_function(trace, std::string(kPrefix) + "pack_sequence",
                                     {{"enforce_sorted", enforce_sorted}}, sequences,
                                     {{data, Dtype::Float32}, {{data[1]}, Dtype::Int64}}, loc);
  return PackedSequence(out[0], out[1], std::move(lengths));
}

namespace {
/// The pieces' (shape, dtype): sequence b is [lengths[b], *].
std::vector<std::pair<Shape, Dtype>> pieces(const Shape& time_major_shape, const std::vector<int64_t>& lengths) {
  std::vector<std::pair<Shape, Dtype>> out;
  for (int64_t length : lengths) {
    Shape s = {length};
    s.insert(s.end(), time_major_shape.begin() + 2, time_major_shape.end());
    out.push_back({s, Dtype::Float32});
  }
  return out;
}
}  // namespace

std::vector<Tensor> unpack_sequence(const PackedSequence& packed, SourceLoc loc) {
  const std::string what = "unpack_sequence()";
  require_packed(packed, what, loc);
  auto& trace = begin(what, {&packed.data()}, loc);
  trace.check_value(packed.lengths(), what, loc);
  if (!packed.known_lengths())
    fail(loc, what + ": needs the lengths known when tracing (pack_sequence's, or a list given to "
                     "pack_padded_sequence): each sequence's shape is its length");
  const Shape& data = packed.data().sizes();
  return detail::record_function(trace, std::string(kPrefix) + "unpack_sequence", {},
                                 {packed.data(), packed.lengths()}, pieces(data, *packed.known_lengths()), loc);
}

std::vector<Tensor> unpad_sequence(const Tensor& padded_sequences, std::vector<int64_t> lengths, bool batch_first,
                                   SourceLoc loc) {
  const std::string what = "unpad_sequence()";
  auto& trace = begin(what, {&padded_sequences}, loc);
  if (padded_sequences.sizes().size() < 2)
    fail(loc, what + ": padded_sequences must have at least 2 dimensions, got " +
                  shape_rules::str(padded_sequences.sizes()));
  Shape data = time_major(padded_sequences.sizes(), batch_first);
  check_lengths(lengths, data[1], data[0], false, what, loc);
  return detail::record_function(trace, std::string(kPrefix) + "unpad_sequence",
                                 {{"batch_first", batch_first}, {"lengths", lengths}}, {padded_sequences},
                                 pieces(data, lengths), loc);
}

}  // namespace kiln::nn::utils::rnn
