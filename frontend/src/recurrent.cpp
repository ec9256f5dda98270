// nn.RNN / LSTM / GRU and their cells in the DSL: options, parameters in
// torch's state_dict order, shape rules, and the node each call records
// (the states as inputs and outputs of their own; kilnc's
// frontend/import/Recurrent.cpp builds the math).
#include "kiln/nn/recurrent.h"

#include "ir/ShapeRules.h"
#include "shapes.h"

namespace kiln::nn {

using detail::fail;

RecurrentModule::RecurrentModule(std::string kind, const RNNOptions& o)
    : Module(kind), kind_(std::move(kind)), options_(o) {
  std::string what = kind_ + "(" + std::to_string(o.input_size()) + ", " + std::to_string(o.hidden_size()) + ")";
  if (o.input_size() < 1 || o.hidden_size() < 1 || o.num_layers() < 1)
    fail(what + ": input_size, hidden_size and num_layers must be >= 1");
  if (!(o.dropout() >= 0.0 && o.dropout() <= 1.0))
    fail(what + ": dropout should be a number in range [0, 1] representing the probability of an element "
                "being zeroed");
  if (kind_ != "LSTM" && o.proj_size() != 0) fail(what + ": proj_size argument is only supported for LSTM, not RNN or GRU");
  if (o.proj_size() < 0 || (o.proj_size() > 0 && o.proj_size() >= o.hidden_size()))
    fail(what + ": proj_size has to be a positive integer smaller than hidden_size");
  if (kind_ == "RNN" ? (o.nonlinearity() != "tanh" && o.nonlinearity() != "relu") : o.nonlinearity() != "tanh")
    fail(what + ": unknown nonlinearity '" + o.nonlinearity() + "'" +
         (kind_ == "RNN" ? " (tanh or relu)" : " (only RNN takes one)"));
  int64_t gates = (kind_ == "LSTM" ? 4 : kind_ == "GRU" ? 3 : 1) * o.hidden_size();
  int64_t real = o.proj_size() > 0 ? o.proj_size() : o.hidden_size();
  int64_t directions = o.bidirectional() ? 2 : 1;
  for (int64_t l = 0; l < o.num_layers(); ++l)
    for (int64_t d = 0; d < directions; ++d) {
      std::string sfx = "_l" + std::to_string(l) + (d == 1 ? "_reverse" : "");
      int64_t in = l == 0 ? o.input_size() : real * directions;
      register_parameter("weight_ih" + sfx, {gates, in}, Init::FanInUniform);
      register_parameter("weight_hh" + sfx, {gates, real}, Init::FanInUniform);
      if (o.bias()) {
        register_parameter("bias_ih" + sfx, {gates}, Init::FanInUniform);
        register_parameter("bias_hh" + sfx, {gates}, Init::FanInUniform);
      }
      if (o.proj_size() > 0) register_parameter("weight_hr" + sfx, {o.proj_size(), o.hidden_size()}, Init::FanInUniform);
    }
}

std::vector<Tensor> RecurrentModule::call(const Tensor& input, const std::vector<Tensor>& states, SourceLoc loc) {
  return record({input}, states, false, loc);
}

std::vector<Tensor> RecurrentModule::call(const utils::rnn::PackedSequence& input, const std::vector<Tensor>& states,
                                          SourceLoc loc) {
  if (!input.data().defined() || !input.lengths().defined())
    fail(loc, kind_ + ": an empty PackedSequence (use the one pack_padded_sequence or pack_sequence gives)");
  return record({input.data(), input.lengths()}, states, true, loc);
}

std::vector<Tensor> RecurrentModule::record(std::vector<Tensor> inputs, const std::vector<Tensor>& states,
                                            bool packed, SourceLoc loc) {
  auto& trace = detail::Trace::active(type_name(), loc);
  const std::string& path = trace.path_of(*this, loc);
  std::string what = detail::describe(*this, path);
  const RNNOptions& o = options_;
  const Tensor& input = inputs[0];
  trace.check_value(input, what, loc);
  detail::require_float32(input, what, loc);
  if (packed) trace.check_value(inputs[1], what, loc);
  const Shape& xs = input.sizes();
  if (packed && xs.size() != 3)
    fail(loc, what + ": a packed sequence's data is [T, N, input_size], got " + shape_rules::str(xs));
  if ((xs.size() != 2 && xs.size() != 3) || xs.back() != o.input_size())
    fail(loc, what + ": input must have 2 (unbatched) or 3 dimensions with input_size " +
                  std::to_string(o.input_size()) + " features, got " + shape_rules::str(xs));
  bool batched = xs.size() == 3;
  // A packed sequence's data is time-major whatever batch_first says.
  bool batch_first = o.batch_first() && !packed;
  int64_t t = batched ? xs[batch_first ? 1 : 0] : xs[0];
  int64_t n = batched ? xs[batch_first ? 0 : 1] : 1;
  if (packed && (inputs[1].dtype() != Dtype::Int64 || inputs[1].sizes() != Shape{n}))
    fail(loc, what + ": a packed sequence's lengths are int64 [" + std::to_string(n) + "], got " +
                  dtype_name(inputs[1].dtype()) + " " + shape_rules::str(inputs[1].sizes()));
  int64_t directions = o.bidirectional() ? 2 : 1, stacks = o.num_layers() * directions;
  int64_t real = o.proj_size() > 0 ? o.proj_size() : o.hidden_size();
  auto state_shape = [&](int64_t size) { return batched ? Shape{stacks, n, size} : Shape{stacks, size}; };
  for (size_t i = 0; i < states.size(); ++i) {
    trace.check_value(states[i], what, loc);
    detail::require_float32(states[i], what, loc);
    Shape want = state_shape(i == 0 ? real : o.hidden_size());
    if (states[i].sizes() != want)
      fail(loc, what + ": Expected hidden[" + std::to_string(i) + "] size " + shape_rules::str(want) + ", got " +
                    shape_rules::str(states[i].sizes()));
    inputs.push_back(states[i]);
  }
  Shape out = batched ? (batch_first ? Shape{n, t, real * directions} : Shape{t, n, real * directions})
                      : Shape{t, real * directions};
  std::vector<std::pair<Shape, Dtype>> outputs = {{out, Dtype::Float32}, {state_shape(real), Dtype::Float32}};
  if (kind_ == "LSTM") outputs.push_back({state_shape(o.hidden_size()), Dtype::Float32});
  return detail::record_module(trace, path, inputs, outputs, loc);
}

std::optional<OptionList> RecurrentModule::layer_options() const {
  const RNNOptions& o = options_;
  OptionList list = {{"input_size", o.input_size()}, {"hidden_size", o.hidden_size()}, {"num_layers", o.num_layers()}};
  if (kind_ == "RNN") list.push_back({"nonlinearity", o.nonlinearity()});
  list.push_back({"bias", o.bias()});
  list.push_back({"batch_first", o.batch_first()});
  list.push_back({"dropout", o.dropout()});
  list.push_back({"bidirectional", o.bidirectional()});
  if (kind_ == "LSTM") list.push_back({"proj_size", o.proj_size()});
  return list;
}

std::tuple<Tensor, Tensor> RNNImpl::forward(const Tensor& input, const Tensor& hx, SourceLoc loc) {
  std::vector<Tensor> out = call(input, hx.defined() ? std::vector<Tensor>{hx} : std::vector<Tensor>{}, loc);
  return {out[0], out[1]};
}

std::tuple<Tensor, std::tuple<Tensor, Tensor>> LSTMImpl::forward(
    const Tensor& input, const std::optional<std::tuple<Tensor, Tensor>>& hx, SourceLoc loc) {
  std::vector<Tensor> states;
  if (hx) states = {std::get<0>(*hx), std::get<1>(*hx)};
  std::vector<Tensor> out = call(input, states, loc);
  return {out[0], {out[1], out[2]}};
}

std::tuple<Tensor, Tensor> GRUImpl::forward(const Tensor& input, const Tensor& hx, SourceLoc loc) {
  std::vector<Tensor> out = call(input, hx.defined() ? std::vector<Tensor>{hx} : std::vector<Tensor>{}, loc);
  return {out[0], out[1]};
}

namespace {
/// The packed output: the node's data with the input's lengths.
utils::rnn::PackedSequence packed_output(const Tensor& data, const utils::rnn::PackedSequence& input) {
  return utils::rnn::PackedSequence(data, input.lengths(), input.known_lengths());
}
}  // namespace

std::tuple<utils::rnn::PackedSequence, Tensor> RNNImpl::forward(const utils::rnn::PackedSequence& input,
                                                                const Tensor& hx, SourceLoc loc) {
  std::vector<Tensor> out = call(input, hx.defined() ? std::vector<Tensor>{hx} : std::vector<Tensor>{}, loc);
  return {packed_output(out[0], input), out[1]};
}

std::tuple<utils::rnn::PackedSequence, std::tuple<Tensor, Tensor>> LSTMImpl::forward(
    const utils::rnn::PackedSequence& input, const std::optional<std::tuple<Tensor, Tensor>>& hx, SourceLoc loc) {
  std::vector<Tensor> states;
  if (hx) states = {std::get<0>(*hx), std::get<1>(*hx)};
  std::vector<Tensor> out = call(input, states, loc);
  return {packed_output(out[0], input), {out[1], out[2]}};
}

std::tuple<utils::rnn::PackedSequence, Tensor> GRUImpl::forward(const utils::rnn::PackedSequence& input,
                                                                const Tensor& hx, SourceLoc loc) {
  std::vector<Tensor> out = call(input, hx.defined() ? std::vector<Tensor>{hx} : std::vector<Tensor>{}, loc);
  return {packed_output(out[0], input), out[1]};
}

RecurrentCell::RecurrentCell(std::string kind, const RNNCellOptions& o)
    : Module(kind), kind_(std::move(kind)), options_(o) {
  std::string what = kind_ + "(" + std::to_string(o.input_size()) + ", " + std::to_string(o.hidden_size()) + ")";
  if (o.input_size() < 1 || o.hidden_size() < 1) fail(what + ": input_size and hidden_size must be >= 1");
  if (kind_ == "RNNCell" ? (o.nonlinearity() != "tanh" && o.nonlinearity() != "relu") : o.nonlinearity() != "tanh")
    fail(what + ": Unknown nonlinearity: " + o.nonlinearity());
  int64_t gates = (kind_ == "LSTMCell" ? 4 : kind_ == "GRUCell" ? 3 : 1) * o.hidden_size();
  register_parameter("weight_ih", {gates, o.input_size()}, Init::FanInUniform);
  register_parameter("weight_hh", {gates, o.hidden_size()}, Init::FanInUniform);
  if (o.bias()) {
    register_parameter("bias_ih", {gates}, Init::FanInUniform);
    register_parameter("bias_hh", {gates}, Init::FanInUniform);
  }
}

std::vector<Tensor> RecurrentCell::call(const Tensor& input, const std::vector<Tensor>& states, SourceLoc loc) {
  auto& trace = detail::Trace::active(type_name(), loc);
  const std::string& path = trace.path_of(*this, loc);
  std::string what = detail::describe(*this, path);
  const RNNCellOptions& o = options_;
  trace.check_value(input, what, loc);
  detail::require_float32(input, what, loc);
  const Shape& xs = input.sizes();
  if ((xs.size() != 1 && xs.size() != 2) || xs.back() != o.input_size())
    fail(loc, what + ": Expected input to be 1-D or 2-D with input_size " + std::to_string(o.input_size()) +
                  " features, got " + shape_rules::str(xs));
  Shape state = xs.size() == 2 ? Shape{xs[0], o.hidden_size()} : Shape{o.hidden_size()};
  std::vector<Tensor> inputs = {input};
  for (const Tensor& s : states) {
    trace.check_value(s, what, loc);
    detail::require_float32(s, what, loc);
    if (s.sizes() != state)
      fail(loc, what + ": hidden state " + shape_rules::str(s.sizes()) + " should be " + shape_rules::str(state));
    inputs.push_back(s);
  }
  std::vector<std::pair<Shape, Dtype>> outputs = {{state, Dtype::Float32}};
  if (kind_ == "LSTMCell") outputs.push_back({state, Dtype::Float32});
  return detail::record_module(trace, path, inputs, outputs, loc);
}

std::optional<OptionList> RecurrentCell::layer_options() const {
  const RNNCellOptions& o = options_;
  OptionList list = {{"input_size", o.input_size()}, {"hidden_size", o.hidden_size()}, {"bias", o.bias()}};
  if (kind_ == "RNNCell") list.push_back({"nonlinearity", o.nonlinearity()});
  return list;
}

Tensor RNNCellImpl::forward(const Tensor& input, const Tensor& hx, SourceLoc loc) {
  return call(input, hx.defined() ? std::vector<Tensor>{hx} : std::vector<Tensor>{}, loc)[0];
}

std::tuple<Tensor, Tensor> LSTMCellImpl::forward(const Tensor& input,
                                                 const std::optional<std::tuple<Tensor, Tensor>>& hx, SourceLoc loc) {
  std::vector<Tensor> states;
  if (hx) states = {std::get<0>(*hx), std::get<1>(*hx)};
  std::vector<Tensor> out = call(input, states, loc);
  return {out[0], out[1]};
}

Tensor GRUCellImpl::forward(const Tensor& input, const Tensor& hx, SourceLoc loc) {
  return call(input, hx.defined() ? std::vector<Tensor>{hx} : std::vector<Tensor>{}, loc)[0];
}

}  // namespace kiln::nn
