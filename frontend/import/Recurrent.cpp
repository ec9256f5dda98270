// The `recurrent` family: nn.RNN, nn.LSTM, nn.GRU and their cells, as
// torch 1.13's ATen cells (aten/src/ATen/native/RNN.cpp) unrolled over the
// sequence into primitive nn ops, so autodiff (backpropagation through
// time) and both backends need nothing of their own. Per step, with
// gi = x W_ih^T + b_ih and gh = h W_hh^T + b_hh:
//
//   RNN:  h' = tanh(gh + gi) (or relu)
//   LSTM: i, f, g, o = chunks of gh + gi; c' = sigmoid(f) c + sigmoid(i) tanh(g);
//         h' = sigmoid(o) tanh(c'), then h' W_hr^T with proj_size
//   GRU:  r = sigmoid(gh_r + gi_r), z = sigmoid(gh_z + gi_z),
//         n = tanh(gi_n + r gh_n), h' = (h - n) z + n
//
// The full modules project the whole sequence's input once per layer and
// direction (torch's CPU path), run the steps (backwards for the reverse
// direction), concatenate the directions, and apply dropout to each
// layer's output but the last in train mode. The graph grows with the
// sequence length times the layers: fine for the lengths of small models,
// a known cost for long sequences (a loop op would fix it).
#include "frontend/import/Activation.h"
#include "frontend/import/Dropout.h"
#include "frontend/import/PackedSequence.h"

#include "ir/NNBuilders.h"

#include <cmath>

using namespace mlir;

namespace kiln::import {
namespace {

enum class Kind { RnnTanh, RnnRelu, Lstm, Gru };

/// Gates per hidden unit: the rows of W_ih are gates * hidden_size.
int64_t gatesOf(Kind k) { return k == Kind::Lstm ? 4 : k == Kind::Gru ? 3 : 1; }

Kind kindOf(const std::string &torchName, const Options &o) {
  if (torchName.find("LSTM") != std::string::npos)
    return Kind::Lstm;
  if (torchName.find("GRU") != std::string::npos)
    return Kind::Gru;
  return o.getString("nonlinearity") == "relu" ? Kind::RnnRelu : Kind::RnnTanh;
}

/// Primitive ops at the call's location: Ew's elementwise ones (add, sub,
/// mul, tanh, ...) and the layout ones the unrolling needs.
struct Ops : Ew {

  Value reshape(Value x, ArrayRef<int64_t> shape) {
    return c.create<nn::ReshapeOp>(nn::f32Tensor(c.builder().getContext(), shape), x);
  }
  /// x[..., from:to] along dimension `dim`.
  Value slice(Value x, int64_t dim, int64_t from, int64_t to) {
    return sliceAlong(c, x, dim, from, to);
  }
  Value concat(ValueRange parts, int64_t dim) {
    return parts.size() == 1 ? parts[0] : c.create<nn::ConcatOp>(parts, dim);
  }
  Value permute(Value x, ArrayRef<int64_t> perm) {
    return c.create<nn::PermuteOp>(x, c.builder().getDenseI64ArrayAttr(perm));
  }
  Value linear(Value x, Value w, Value b) { return c.create<nn::LinearOp>(x, w, b); }
  Value sigmoid(Value x) { return c.create<nn::SigmoidOp>(x); }
  Value relu(Value x) { return c.create<nn::ReluOp>(x); }
  Value zeros(ArrayRef<int64_t> shape) {
    return c.create<nn::BroadcastToOp>(nn::f32Tensor(c.builder().getContext(), shape),
                                       nn::scalarConstant(c.builder(), c.loc(), 0.0f));
  }
};

/// One cell's weights (biases null without bias; w_hr only with proj_size).
struct CellWeights {
  Value wih, whh, bih, bhh, whr;
};

/// One step: `gi` is the input's projection x W_ih^T + b_ih (precomputed),
/// `h` and `cell` (LSTM) the state. Returns h' and c' (LSTM).
std::pair<Value, Value> step(Ops &m, Kind kind, Value gi, Value h, Value cell,
                             const CellWeights &w) {
  Value gh = m.linear(h, w.whh, w.bhh);
  int64_t last = static_cast<int64_t>(nn::shapeOf(gh).size()) - 1;
  int64_t hidden = nn::shapeOf(gh).back() / gatesOf(kind);
  auto gate = [&](Value v, int64_t k) { return m.slice(v, last, k * hidden, (k + 1) * hidden); };
  switch (kind) {
  case Kind::RnnTanh:
    return {m.tanh(m.add(gh, gi)), Value()};
  case Kind::RnnRelu:
    return {m.relu(m.add(gh, gi)), Value()};
  case Kind::Lstm: {
    Value gates = m.add(gh, gi);
    Value in = m.sigmoid(gate(gates, 0)), forget = m.sigmoid(gate(gates, 1));
    Value candidate = m.tanh(gate(gates, 2)), out = m.sigmoid(gate(gates, 3));
    Value next = m.add(m.mul(forget, cell), m.mul(in, candidate));
    Value hNext = m.mul(out, m.tanh(next));
    if (w.whr)
      hNext = m.linear(hNext, w.whr, Value());
    return {hNext, next};
  }
  case Kind::Gru: {
    Value reset = m.sigmoid(m.add(gate(gh, 0), gate(gi, 0)));
    Value update = m.sigmoid(m.add(gate(gh, 1), gate(gi, 1)));
    Value fresh = m.tanh(m.add(gate(gi, 2), m.mul(gate(gh, 2), reset)));
    return {m.add(m.mul(m.sub(h, fresh), update), fresh), Value()};
  }
  }
  return {};
}

/// Uniform(-1/sqrt(hidden_size), 1/sqrt(hidden_size)): torch's
/// reset_parameters for every weight and bias of the family.
Init stdvInit(int64_t hidden) {
  double bound = 1.0 / std::sqrt(static_cast<double>(hidden));
  return Init::uniform(-bound, bound);
}

//===----------------------------------------------------------------------===//
// Cells: input [N, in] or [in]; state [N, H] or [H]
//===----------------------------------------------------------------------===//

void declareCell(LayerDecl &decl, Kind kind) {
  const Options &o = decl.options();
  int64_t in = o.getInt("input_size"), hidden = o.getInt("hidden_size");
  int64_t gates = gatesOf(kind) * hidden;
  decl.addParameter("weight_ih", {gates, in}, stdvInit(hidden));
  decl.addParameter("weight_hh", {gates, hidden}, stdvInit(hidden));
  if (o.getBool("bias")) {
    decl.addParameter("bias_ih", {gates}, stdvInit(hidden));
    decl.addParameter("bias_hh", {gates}, stdvInit(hidden));
  }
}

SmallVector<Value> buildCell(BuildContext &c, Kind kind) {
  Ops m{{c}};
  const Options &o = c.options();
  int64_t in = o.getInt("input_size"), hidden = o.getInt("hidden_size");
  ValueRange ops = c.operands();
  if (kind == Kind::Lstm && ops.size() == 2)
    c.fail("LSTMCell takes its state as two inputs, h and c (torch's (hx, cx)), or none");
  Value x = ops[0];
  auto xs = nn::shapeOf(x);
  if ((xs.size() != 1 && xs.size() != 2) || xs.back() != in)
    c.fail("Expected input to be 1-D or 2-D with input_size " + std::to_string(in) +
           " features, got input of shape " + nn::shapeStr(xs));
  bool batched = xs.size() == 2;
  int64_t n = batched ? xs[0] : 1;
  SmallVector<int64_t> state = {n, hidden};
  SmallVector<int64_t> wantState = batched ? SmallVector<int64_t>{n, hidden}
                                           : SmallVector<int64_t>{hidden};
  for (size_t i = 1; i < ops.size(); ++i)
    if (nn::shapeOf(ops[i]) != ArrayRef<int64_t>(wantState))
      c.fail("hidden state " + std::to_string(i - 1) + " has shape " +
             nn::shapeStr(nn::shapeOf(ops[i])) + ", expected " + nn::shapeStr(wantState));
  if (!batched)
    x = m.reshape(x, {1, in});
  Value h = ops.size() > 1 ? m.reshape(ops[1], state) : m.zeros(state);
  Value cell = kind == Kind::Lstm ? (ops.size() > 2 ? m.reshape(ops[2], state) : m.zeros(state))
                                  : Value();
  CellWeights w{c.parameter("weight_ih"), c.parameter("weight_hh"), c.parameter("bias_ih"),
                c.parameter("bias_hh"), Value()};
  auto [hNext, cNext] = step(m, kind, m.linear(x, w.wih, w.bih), h, cell, w);
  SmallVector<Value> out = {batched ? hNext : m.reshape(hNext, {hidden})};
  if (kind == Kind::Lstm)
    out.push_back(batched ? cNext : m.reshape(cNext, {hidden}));
  return out;
}

//===----------------------------------------------------------------------===//
// Full modules: input [T, N, in] ([N, T, in] batch_first, [T, in] unbatched)
//===----------------------------------------------------------------------===//

struct RecurrentSpec {
  Kind kind;
  int64_t input = 0, hidden = 0, layers = 1, proj = 0;
  bool bias = true, batchFirst = false, bidirectional = false;
  double dropout = 0.0;

  int64_t directions() const { return bidirectional ? 2 : 1; }
  /// The size of h: proj_size when set (LSTM), else hidden_size.
  int64_t stateSize() const { return proj > 0 ? proj : hidden; }
  int64_t layerInput(int64_t layer) const {
    return layer == 0 ? input : stateSize() * directions();
  }
  static std::string suffix(int64_t layer, int64_t direction) {
    return "_l" + std::to_string(layer) + (direction == 1 ? "_reverse" : "");
  }

  static RecurrentSpec of(const std::string &torchName, const Options &o) {
    RecurrentSpec s;
    s.kind = kindOf(torchName, o);
    s.input = o.getInt("input_size");
    s.hidden = o.getInt("hidden_size");
    s.layers = o.getInt("num_layers");
    s.bias = o.getBool("bias");
    s.batchFirst = o.getBool("batch_first");
    s.dropout = o.getFloat("dropout");
    s.bidirectional = o.getBool("bidirectional");
    s.proj = s.kind == Kind::Lstm ? o.getInt("proj_size") : 0;
    return s;
  }
};

void declareRecurrent(LayerDecl &decl, const std::string &torchName) {
  const Options &o = decl.options();
  RecurrentSpec s = RecurrentSpec::of(torchName, o);
  if (s.kind == Kind::Lstm && s.proj >= s.hidden)
    fail(o.pathOf("proj_size"), "proj_size has to be smaller than hidden_size (proj_size " +
                                    std::to_string(s.proj) + ", hidden_size " +
                                    std::to_string(s.hidden) + ")");
  int64_t gates = gatesOf(s.kind) * s.hidden;
  for (int64_t l = 0; l < s.layers; ++l)
    for (int64_t d = 0; d < s.directions(); ++d) {
      std::string sfx = RecurrentSpec::suffix(l, d);
      decl.addParameter("weight_ih" + sfx, {gates, s.layerInput(l)}, stdvInit(s.hidden));
      decl.addParameter("weight_hh" + sfx, {gates, s.stateSize()}, stdvInit(s.hidden));
      if (s.bias) {
        decl.addParameter("bias_ih" + sfx, {gates}, stdvInit(s.hidden));
        decl.addParameter("bias_hh" + sfx, {gates}, stdvInit(s.hidden));
      }
      if (s.proj > 0)
        decl.addParameter("weight_hr" + sfx, {s.proj, s.hidden}, stdvInit(s.hidden));
    }
}

SmallVector<Value> buildRecurrent(BuildContext &c, const std::string &torchName) {
  Ops m{{c}};
  RecurrentSpec s = RecurrentSpec::of(torchName, c.options());
  bool lstm = s.kind == Kind::Lstm;
  // A packed sequence is two inputs, its time-major data and its int64
  // lengths (PackedSequence.h); the states follow either form.
  ValueRange all = c.operands();
  bool packed = isPackedLengths(all, 1);
  Value lengths = packed ? all[1] : Value();
  SmallVector<Value> ops = {all[0]};
  ops.append(all.begin() + (packed ? 2 : 1), all.end());
  size_t maxStates = lstm ? 2 : 1;
  if (ops.size() > 1 + maxStates)
    c.fail(std::string(lstm ? "LSTM" : s.kind == Kind::Gru ? "GRU" : "RNN") + " takes " +
           (lstm ? "h_0 and c_0" : "h_0") +
           " after its input (a packed sequence: its data and int64 lengths), got " +
           std::to_string(ops.size() - 1) + " more inputs");
  if (lstm && ops.size() == 2)
    c.fail("LSTM takes its state as two inputs, h_0 and c_0 (torch's (h_0, c_0)), or none");
  Value x = ops[0];
  auto xs = nn::shapeOf(x);
  if (packed && (xs.size() != 3 || xs.back() != s.input))
    c.fail("a packed sequence's data must be [T, N, input_size] with input_size " +
           std::to_string(s.input) + " features, got " + nn::shapeStr(xs));
  if ((xs.size() != 2 && xs.size() != 3) || xs.back() != s.input)
    c.fail("input must have 2 (unbatched) or 3 dimensions with input_size " +
           std::to_string(s.input) + " features, got input of shape " + nn::shapeStr(xs));
  bool batched = xs.size() == 3;
  // Sequence-first [T, N, in] from here on (a packed sequence's data is).
  bool permuted = batched && s.batchFirst && !packed;
  if (!batched)
    x = m.reshape(x, {xs[0], 1, xs[1]});
  else if (permuted)
    x = m.permute(x, {1, 0, 2});
  int64_t t = nn::shapeOf(x)[0], n = nn::shapeOf(x)[1];
  if (packed && nn::shapeOf(lengths) != ArrayRef<int64_t>{n})
    c.fail("a packed sequence's lengths are int64 [N] = [" + std::to_string(n) + "], got " +
           nn::shapeStr(nn::shapeOf(lengths)));
  // Packed: the state stops at each sequence's end (then h_n is its last
  // step's, as torch's packed kernels give) and the output is zero past it.
  Value lengthsColumn = packed ? packedLengthsColumn(c, lengths, t) : Value();
  int64_t stacks = s.layers * s.directions();
  auto stateShape = [&](int64_t size) {
    return batched ? SmallVector<int64_t>{stacks, n, size} : SmallVector<int64_t>{stacks, size};
  };
  for (size_t i = 1; i < ops.size(); ++i) {
    int64_t size = i == 1 ? s.stateSize() : s.hidden;
    if (nn::shapeOf(ops[i]) != ArrayRef<int64_t>(stateShape(size)))
      c.fail(std::string(i == 1 ? "h_0" : "c_0") + " has shape " +
             nn::shapeStr(nn::shapeOf(ops[i])) + ", expected " + nn::shapeStr(stateShape(size)));
  }
  auto initial = [&](size_t i, int64_t size) {
    return ops.size() > i ? m.reshape(ops[i], {stacks, n, size}) : m.zeros({stacks, n, size});
  };
  Value h0 = initial(1, s.stateSize());
  Value c0 = lstm ? initial(2, s.hidden) : Value();

  SmallVector<Value> hN, cN;
  Value layerInput = x;
  for (int64_t l = 0; l < s.layers; ++l) {
    SmallVector<Value> directions;
    for (int64_t d = 0; d < s.directions(); ++d) {
      std::string sfx = RecurrentSpec::suffix(l, d);
      CellWeights w{c.parameter("weight_ih" + sfx), c.parameter("weight_hh" + sfx),
                    c.parameter("bias_ih" + sfx), c.parameter("bias_hh" + sfx),
                    c.parameter("weight_hr" + sfx)};
      int64_t index = l * s.directions() + d;
      auto stateAt = [&](Value all, int64_t size) {
        return m.reshape(m.slice(all, 0, index, index + 1), {n, size});
      };
      Value h = stateAt(h0, s.stateSize());
      Value cell = lstm ? stateAt(c0, s.hidden) : Value();
      Value gi = m.linear(layerInput, w.wih, w.bih); // [T, N, gates * H]
      SmallVector<Value> outputs(t);
      for (int64_t i = 0; i < t; ++i) {
        int64_t at = d == 0 ? i : t - 1 - i;
        Value giAt = m.reshape(m.slice(gi, 0, at, at + 1), {n, nn::shapeOf(gi)[2]});
        auto [hNext, cNext] = step(m, s.kind, giAt, h, cell, w);
        Value out = hNext;
        if (packed) {
          Value valid = packedStepValid(c, lengthsColumn, at);
          hNext = m.where(valid, hNext, h);
          cNext = lstm ? m.where(valid, cNext, cell) : Value();
          out = m.where(valid, hNext, m.k(0));
        }
        h = hNext;
        cell = cNext;
        outputs[at] = m.reshape(out, {1, n, s.stateSize()});
      }
      directions.push_back(m.concat(outputs, 0));
      hN.push_back(m.reshape(h, {1, n, s.stateSize()}));
      if (lstm)
        cN.push_back(m.reshape(cell, {1, n, s.hidden}));
    }
    layerInput = m.concat(directions, 2);
    if (l + 1 < s.layers && s.dropout > 0.0) {
      // Drawn in the layout torch's output has (batch first or not; a
      // packed sequence's time-major), so the stream's counters meet the
      // same elements.
      Value v = permuted ? m.permute(layerInput, {1, 0, 2}) : layerInput;
      v = maskedDropout(c, v, nn::shapeOf(v), s.dropout, c.training());
      layerInput = permuted ? m.permute(v, {1, 0, 2}) : v;
    }
  }
  int64_t features = s.stateSize() * s.directions();
  Value output = layerInput;
  if (!batched)
    output = m.reshape(output, {t, features});
  else if (permuted)
    output = m.permute(output, {1, 0, 2});
  auto finalState = [&](SmallVector<Value> &parts, int64_t size) {
    Value all = m.concat(parts, 0);
    return batched ? all : m.reshape(all, {stacks, size});
  };
  SmallVector<Value> results = {output, finalState(hN, s.stateSize())};
  if (lstm)
    results.push_back(finalState(cN, s.hidden));
  return results;
}

std::vector<OptionSpec> recurrentOptions(Kind kind) {
  std::vector<OptionSpec> o = {intOption("input_size").atLeast(1),
                               intOption("hidden_size").atLeast(1),
                               intOption("num_layers", 1).atLeast(1)};
  if (kind != Kind::Lstm && kind != Kind::Gru)
    o.push_back(choiceOption("nonlinearity", "tanh", {"tanh", "relu"}));
  o.push_back(boolOption("bias", true));
  o.push_back(boolOption("batch_first", false));
  o.push_back(floatOption("dropout", 0.0).inRange(0, 1));
  o.push_back(boolOption("bidirectional", false));
  if (kind == Kind::Lstm)
    o.push_back(intOption("proj_size", 0).atLeast(0));
  return o;
}

} // namespace

void registerRecurrentFamily(Registry &r) {
  const char *cellLowering = "nn.linear, nn.sigmoid, nn.tanh, nn.mul, nn.add (decomposed)";
  for (Kind kind : {Kind::RnnTanh, Kind::Lstm, Kind::Gru}) {
    std::string name = kind == Kind::Lstm ? "LSTM" : kind == Kind::Gru ? "GRU" : "RNN";
    unsigned states = kind == Kind::Lstm ? 2 : 1;

    Entry cell{"nn." + name + "Cell", EntryKind::Layer, cellLowering};
    cell.options = {intOption("input_size").atLeast(1), intOption("hidden_size").atLeast(1),
                    boolOption("bias", true)};
    if (kind == Kind::RnnTanh)
      cell.options.push_back(choiceOption("nonlinearity", "tanh", {"tanh", "relu"}));
    // forward(input, hx=None); LSTMCell's hx is (h, c): two inputs.
    cell.numInputs = 1 + states;
    cell.numOptionalInputs = states;
    std::string torchCell = cell.torchName;
    cell.declare = [torchCell](LayerDecl &decl) {
      declareCell(decl, kindOf(torchCell, decl.options()));
    };
    cell.buildOutputs = [torchCell](BuildContext &c) {
      return buildCell(c, kindOf(torchCell, c.options()));
    };
    cell.example = {{"options", {{"input_size", 4}, {"hidden_size", 3}}}, {"input", {2, 4}}};
    if (states == 2)
      cell.example["outputs"] = 2;
    r.add(std::move(cell));

    Entry full{"nn." + name, EntryKind::Layer,
               "nn.linear, nn.sigmoid, nn.tanh, nn.mul, nn.add per step (unrolled over the "
               "sequence; dropout between layers)"};
    full.options = recurrentOptions(kind);
    // forward(input, hx=None) -> (output, h_n) or, for LSTM, (output, (h_n, c_n)):
    // the states are inputs and outputs of their own. A packed input is
    // two (data, then int64 lengths), so the second input is either.
    full.numInputs = 2 + states;
    full.numOptionalInputs = 1 + states;
    full.indexOrFloatInputs = {1};
    std::string torchFull = full.torchName;
    full.declare = [torchFull](LayerDecl &decl) { declareRecurrent(decl, torchFull); };
    full.buildOutputs = [torchFull](BuildContext &c) { return buildRecurrent(c, torchFull); };
    full.example = {{"options", {{"input_size", 4}, {"hidden_size", 3}}},
                    {"input", {5, 2, 4}},
                    {"outputs", 1 + states}};
    r.add(std::move(full));
  }
}

} // namespace kiln::import
