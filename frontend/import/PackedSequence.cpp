// torch.nn.utils.rnn: pack_padded_sequence, pad_packed_sequence,
// pad_sequence, pack_sequence, unpack_sequence, unpad_sequence, as graph
// functions ("utils.rnn.<name>" in a model file). A packed sequence is two
// values, its data in the padded time-major layout and its int64 lengths
// (PackedSequence.h says why); RNN / LSTM / GRU take the pair as their
// first two inputs (Recurrent.cpp).
//
// torch checks the lengths when packing and raises; so does Kiln, at
// compile time for constant lengths and at run time for an int64 input
// (BuildContext::checkValues: the runtime refuses the call naming the
// first bad length).
#include "frontend/import/PackedSequence.h"

#include "frontend/import/Activation.h"
#include "frontend/import/Constants.h"

#include "ir/NNBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;

namespace kiln::import {

using nn::ComparePredicate;

bool isPackedLengths(ValueRange operands, size_t index) {
  return operands.size() > index &&
         cast<RankedTensorType>(operands[index].getType()).getElementType().isInteger(64);
}

Value packedLengthsColumn(BuildContext &c, Value lengths, int64_t steps) {
  int64_t batch = nn::shapeOf(lengths)[0];
  Value table = iota(c, {steps + 1}, steps + 1);
  Value asFloat = c.create<nn::GatherOp>(table, lengths, c.builder().getI64IntegerAttr(0));
  return c.create<nn::ReshapeOp>(nn::f32Tensor(c.builder().getContext(), {batch, 1}), asFloat);
}

Value sliceAlong(BuildContext &c, Value x, int64_t dim, int64_t from, int64_t to) {
  auto shape = nn::shapeOf(x);
  SmallVector<int64_t> start(shape.size(), 0), end(shape.begin(), shape.end()),
      step(shape.size(), 1);
  start[dim] = from;
  end[dim] = to;
  OpBuilder &b = c.builder();
  return c.create<nn::SliceOp>(x, b.getDenseI64ArrayAttr(start), b.getDenseI64ArrayAttr(end),
                               b.getDenseI64ArrayAttr(step));
}

Value packedStepValid(BuildContext &c, Value lengthsColumn, int64_t t) {
  Ew m{c};
  return m.cmp(ComparePredicate::gt, lengthsColumn, m.k(static_cast<double>(t)));
}

namespace {

/// The largest number of sequences one call of pad_sequence / pack_sequence
/// lists (as torch.cat's inputs).
constexpr unsigned kMaxSequences = 64;

Value reshape(BuildContext &c, Value x, ArrayRef<int64_t> shape) {
  return c.create<nn::ReshapeOp>(nn::f32Tensor(c.builder().getContext(), shape), x);
}

/// Swaps the first two dimensions (batch first <-> time first).
Value swapLeading(BuildContext &c, Value x) {
  SmallVector<int64_t> perm;
  for (int64_t d = 0; d < static_cast<int64_t>(nn::shapeOf(x).size()); ++d)
    perm.push_back(d == 0 ? 1 : d == 1 ? 0 : d);
  return c.create<nn::PermuteOp>(x, c.builder().getDenseI64ArrayAttr(perm));
}

/// `value` broadcast to `shape`.
Value filled(BuildContext &c, ArrayRef<int64_t> shape, double value) {
  return c.create<nn::BroadcastToOp>(nn::f32Tensor(c.builder().getContext(), shape),
                                     nn::scalarConstant(c.builder(), c.loc(), value));
}

/// Bool [T, B, 1, ...] (rank `rank`): step t is inside sequence b.
Value validSteps(BuildContext &c, Value lengthsColumn, int64_t steps, size_t rank) {
  int64_t batch = nn::shapeOf(lengthsColumn)[0];
  SmallVector<int64_t> lengthsShape(rank, 1), stepsShape(rank, 1);
  lengthsShape[1] = batch;
  stepsShape[0] = steps;
  Ew m{c};
  return m.cmp(ComparePredicate::gt, reshape(c, lengthsColumn, lengthsShape),
               iota(c, stepsShape, steps));
}

/// An int64 constant [n].
Value i64Constant(BuildContext &c, ArrayRef<int64_t> values) {
  auto type = RankedTensorType::get({static_cast<int64_t>(values.size())},
                                    c.builder().getI64Type());
  return c.builder().create<arith::ConstantOp>(c.loc(), DenseElementsAttr::get(type, values));
}

std::string listStr(ArrayRef<int64_t> values) {
  std::string s = "[";
  for (size_t i = 0; i < values.size(); ++i)
    s += (i ? ", " : "") + std::to_string(values[i]);
  return s + "]";
}

/// torch's checks of lengths known when compiling: one per sequence, each
/// in [1, steps], decreasing with enforce_sorted.
void checkConstantLengths(BuildContext &c, ArrayRef<int64_t> lengths, int64_t batch,
                          int64_t steps, bool enforceSorted, const std::string &what) {
  if (static_cast<int64_t>(lengths.size()) != batch)
    c.fail(what + ": expected one length per sequence (" + std::to_string(batch) + "), got " +
           std::to_string(lengths.size()) + " lengths " + listStr(lengths));
  for (size_t i = 0; i < lengths.size(); ++i) {
    if (lengths[i] < 1)
      c.fail(what + ": Length of all samples has to be greater than 0, but found an element in "
                    "'lengths' that is <= 0 (lengths[" + std::to_string(i) + "] = " +
             std::to_string(lengths[i]) + ")");
    if (lengths[i] > steps)
      c.fail(what + ": lengths[" + std::to_string(i) + "] = " + std::to_string(lengths[i]) +
             " is longer than the padded input's " + std::to_string(steps) + " steps");
    if (enforceSorted && i > 0 && lengths[i] > lengths[i - 1])
      c.fail(what + ": `lengths` array must be sorted in decreasing order when `enforce_sorted` "
                    "is True (got " + listStr(lengths) +
             "). You can pass `enforce_sorted=False` to sidestep this requirement");
  }
}

/// The runtime checks of an int64 lengths input (column: its f32 [B, 1]
/// form, already limited to [0, steps]): every length at least 1, and
/// decreasing with enforce_sorted.
void checkLengthsInput(BuildContext &c, Value column, bool enforceSorted) {
  Ew m{c};
  c.checkValues("pack_padded_sequence.lengths", column,
                m.where(m.cmp(ComparePredicate::lt, column, m.k(0.5)), m.k(1), m.k(0)));
  int64_t batch = nn::shapeOf(column)[0];
  if (!enforceSorted || batch < 2)
    return;
  // previous[b] = column[b - 1]; the first has nothing before it (+inf).
  Value previous = c.create<nn::ConcatOp>(
      ValueRange{filled(c, {1, 1}, std::numeric_limits<double>::infinity()),
                 sliceAlong(c, column, 0, 0, batch - 1)},
      int64_t{0});
  c.checkValues("pack_padded_sequence.sorted", column,
                m.where(m.cmp(ComparePredicate::gt, column, previous), m.k(1), m.k(0)));
}

/// The values of constant lengths (pack_sequence's, or
/// pack_padded_sequence's `lengths` option), or fails: the outputs of
/// unpack_sequence / unpad_sequence have one shape per length.
std::vector<int64_t> constantLengths(BuildContext &c, Value lengths, const std::string &what) {
  DenseIntElementsAttr values;
  if (auto constant = lengths.getDefiningOp<arith::ConstantOp>())
    values = dyn_cast<DenseIntElementsAttr>(constant.getValue());
  if (!values)
    c.fail(what + " needs lengths known when compiling (pack_sequence's, "
                  "pack_padded_sequence's `lengths` option, or unpad_sequence's own): each "
                  "output's shape is its "
                  "sequence's length, and a model's shapes are fixed at compile time");
  std::vector<int64_t> out;
  for (const APInt &v : values.getValues<APInt>())
    out.push_back(v.getSExtValue());
  return out;
}

/// The shared checks of a packed sequence's two values: data [T, B, *]
/// float32 and lengths int64 [B]. Returns (T, B).
std::pair<int64_t, int64_t> packedShape(BuildContext &c, Value data, Value lengths,
                                        const std::string &what) {
  auto ds = nn::shapeOf(data);
  if (ds.size() < 2)
    c.fail(what + ": a packed sequence's data is [T, B, *] (at least 2 dimensions), got " +
           nn::shapeStr(ds));
  auto ls = nn::shapeOf(lengths);
  if (ls.size() != 1 || ls[0] != ds[1])
    c.fail(what + ": a packed sequence's lengths are int64 [B] = [" + std::to_string(ds[1]) +
           "], got " + nn::shapeStr(ls) + " (pass the data and lengths that "
                                         "pack_padded_sequence or pack_sequence gives)");
  return {ds[0], ds[1]};
}

//===----------------------------------------------------------------------===//
// pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True)
//===----------------------------------------------------------------------===//

SmallVector<Value> packPadded(BuildContext &c) {
  const Options &o = c.options();
  const std::string what = "pack_padded_sequence";
  bool batchFirst = o.getBool("batch_first"), enforceSorted = o.getBool("enforce_sorted");
  ValueRange ops = c.operands();
  Value x = ops[0];
  auto xs = nn::shapeOf(x);
  if (xs.size() < 2)
    c.fail(what + ": input must have at least 2 dimensions (" +
           std::string(batchFirst ? "B, T" : "T, B") + ", *), got " + nn::shapeStr(xs));
  if (batchFirst)
    x = swapLeading(c, x);
  int64_t steps = nn::shapeOf(x)[0], batch = nn::shapeOf(x)[1];
  Value lengths, column;
  if (ops.size() == 2) {
    if (!o.isNone("lengths"))
      c.fail(what + ": the lengths are given twice (an int64 input and the `lengths` option)");
    lengths = ops[1];
    auto ls = nn::shapeOf(lengths);
    if (ls.size() != 1 || ls[0] != batch)
      c.fail(what + ": lengths must be 1-D with one length per sequence ([" +
             std::to_string(batch) + "]), got " + nn::shapeStr(ls));
    column = packedLengthsColumn(c, lengths, steps);
    checkLengthsInput(c, column, enforceSorted);
  } else {
    if (o.isNone("lengths"))
      c.fail(what + " needs the lengths: an int64 second input, or the `lengths` option");
    std::vector<int64_t> given = o.getInts("lengths");
    checkConstantLengths(c, given, batch, steps, enforceSorted, what);
    lengths = i64Constant(c, given);
    std::vector<float> asFloat(given.begin(), given.end());
    column = f32Constant(c, {batch, 1}, asFloat);
  }
  Ew m{c};
  Value data = m.where(validSteps(c, column, steps, nn::shapeOf(x).size()), x, m.k(0));
  return {data, lengths};
}

//===----------------------------------------------------------------------===//
// pad_packed_sequence(sequence, batch_first=False, padding_value=0.0,
//                     total_length=None) -> (padded, lengths)
//===----------------------------------------------------------------------===//

SmallVector<Value> padPacked(BuildContext &c) {
  const Options &o = c.options();
  const std::string what = "pad_packed_sequence";
  Value data = c.operands()[0], lengths = c.operands()[1];
  auto [steps, batch] = packedShape(c, data, lengths, what);
  auto ds = nn::shapeOf(data);
  Value column = packedLengthsColumn(c, lengths, steps);
  Ew m{c};
  Value out = m.where(validSteps(c, column, steps, ds.size()), data,
                      m.k(o.getFloat("padding_value")));
  OpBuilder &b = c.builder();
  if (o.isNone("total_length")) {
    // torch pads to the longest sequence, a length known at run time only:
    // the compiled T steps must be it.
    Value longest = c.create<nn::AmaxOp>(column, b.getDenseI64ArrayAttr({}), UnitAttr());
    c.checkValues("pad_packed_sequence.longest", longest,
                  m.where(m.cmp(ComparePredicate::lt, longest, m.k(static_cast<double>(steps))),
                          m.k(1), m.k(0)));
  } else {
    int64_t total = o.getInt("total_length");
    if (total < steps) {
      c.checkValues("pad_packed_sequence.total_length", column,
                    m.where(m.cmp(ComparePredicate::gt, column, m.k(static_cast<double>(total))),
                            m.k(1), m.k(0)));
      out = sliceAlong(c, out, 0, 0, total);
    } else if (total > steps) {
      SmallVector<int64_t> rest(ds.begin(), ds.end());
      rest[0] = total - steps;
      out = c.create<nn::ConcatOp>(
          ValueRange{out, filled(c, rest, o.getFloat("padding_value"))}, int64_t{0});
    }
  }
  if (o.getBool("batch_first"))
    out = swapLeading(c, out);
  return {out, lengths};
}

//===----------------------------------------------------------------------===//
// pad_sequence(sequences, batch_first=False, padding_value=0.0)
//===----------------------------------------------------------------------===//

/// The sequences [L_i, *] padded to the longest and stacked: [L, n, *]
/// ([n, L, *] batch first).
Value padSequences(BuildContext &c, ValueRange sequences, bool batchFirst, double padding,
                   const std::string &what) {
  auto first = nn::shapeOf(sequences[0]);
  if (first.empty())
    c.fail(what + ": each sequence needs at least 1 dimension (its length), got a scalar");
  SmallVector<int64_t> trailing(first.begin() + 1, first.end());
  int64_t longest = 0;
  for (size_t i = 0; i < sequences.size(); ++i) {
    auto s = nn::shapeOf(sequences[i]);
    if (s.empty() || SmallVector<int64_t>(s.begin() + 1, s.end()) != trailing)
      c.fail(what + ": every sequence must be [L, *] with the first's trailing dimensions " +
             nn::shapeStr(trailing) + "; sequence " + std::to_string(i) + " is " +
             nn::shapeStr(s));
    longest = std::max(longest, s[0]);
  }
  SmallVector<Value> parts;
  for (Value s : sequences) {
    int64_t length = nn::shapeOf(s)[0];
    if (length < longest) {
      SmallVector<int64_t> rest = {longest - length};
      rest.append(trailing);
      s = c.create<nn::ConcatOp>(ValueRange{s, filled(c, rest, padding)}, int64_t{0});
    }
    SmallVector<int64_t> one = batchFirst ? SmallVector<int64_t>{1, longest}
                                          : SmallVector<int64_t>{longest, 1};
    one.append(trailing);
    parts.push_back(reshape(c, s, one));
  }
  return parts.size() == 1 ? parts[0]
                           : c.create<nn::ConcatOp>(ValueRange(parts), int64_t{batchFirst ? 0 : 1});
}

//===----------------------------------------------------------------------===//
// pack_sequence(sequences, enforce_sorted=True)
//===----------------------------------------------------------------------===//

SmallVector<Value> packSequences(BuildContext &c) {
  const std::string what = "pack_sequence";
  ValueRange sequences = c.operands();
  std::vector<int64_t> lengths;
  for (Value s : sequences)
    lengths.push_back(nn::shapeOf(s).empty() ? 0 : nn::shapeOf(s)[0]);
  Value data = padSequences(c, sequences, false, 0.0, what);
  checkConstantLengths(c, lengths, static_cast<int64_t>(lengths.size()), nn::shapeOf(data)[0],
                       c.options().getBool("enforce_sorted"), what);
  return {data, i64Constant(c, lengths)};
}

//===----------------------------------------------------------------------===//
// unpack_sequence(packed) / unpad_sequence(padded, lengths, batch_first=False)
//===----------------------------------------------------------------------===//

/// Sequence b of time-major `padded` [T, B, *], cut to `length` steps.
Value cutSequence(BuildContext &c, Value padded, int64_t b, int64_t length) {
  auto s = nn::shapeOf(padded);
  Value column = sliceAlong(c, sliceAlong(c, padded, 1, b, b + 1), 0, 0, length);
  SmallVector<int64_t> shape = {length};
  shape.append(s.begin() + 2, s.end());
  return reshape(c, column, shape);
}

SmallVector<Value> unpack(BuildContext &c) {
  const std::string what = "unpack_sequence";
  Value data = c.operands()[0], lengths = c.operands()[1];
  auto [steps, batch] = packedShape(c, data, lengths, what);
  std::vector<int64_t> given = constantLengths(c, lengths, what);
  checkConstantLengths(c, given, batch, steps, false, what);
  SmallVector<Value> out;
  for (int64_t b = 0; b < batch; ++b)
    out.push_back(cutSequence(c, data, b, given[b]));
  return out;
}

SmallVector<Value> unpad(BuildContext &c) {
  const std::string what = "unpad_sequence";
  const Options &o = c.options();
  Value padded = c.operands()[0];
  if (nn::shapeOf(padded).size() < 2)
    c.fail(what + ": padded_sequences must have at least 2 dimensions, got " +
           nn::shapeStr(nn::shapeOf(padded)));
  if (o.getBool("batch_first"))
    padded = swapLeading(c, padded);
  // The lengths: an int64 input known when compiling, or the option.
  std::vector<int64_t> given;
  int64_t steps = nn::shapeOf(padded)[0], batch = nn::shapeOf(padded)[1];
  if (c.operands().size() == 2) {
    if (!o.isNone("lengths"))
      c.fail(what + ": the lengths are given twice (an int64 input and the `lengths` option)");
    packedShape(c, padded, c.operands()[1], what);
    given = constantLengths(c, c.operands()[1], what);
  } else if (o.isNone("lengths")) {
    c.fail(what + " needs the lengths: an int64 second input, or the `lengths` option");
  } else {
    given = o.getInts("lengths");
  }
  checkConstantLengths(c, given, batch, steps, false, what);
  SmallVector<Value> out;
  for (int64_t b = 0; b < batch; ++b)
    out.push_back(cutSequence(c, padded, b, given[b]));
  return out;
}

/// A model whose graph packs x [5, 2, 3] with lengths [4, 2] (constant) or
/// with the int64 model input `n`, then runs `tail` (nodes reading "data"
/// and "lengths"; the model's output is "y").
json exampleModel(const json &tail, bool lengthsInput) {
  json inputs = json::array({{{"name", "x"}, {"shape", {5, 2, 3}}, {"dtype", "float32"}}});
  json pack = {{"function", "utils.rnn.pack_padded_sequence"},
               {"options", json::object()},
               {"inputs", {"h"}},
               {"outputs", {"data", "lengths"}}};
  if (lengthsInput) {
    inputs.push_back({{"name", "n"}, {"shape", {2}}, {"dtype", "int64"}});
    pack["inputs"].push_back("n");
  } else {
    pack["options"]["lengths"] = {4, 2};
  }
  json graph = json::array({{{"function", "neg"}, {"options", json::object()},
                             {"inputs", {"x"}}, {"outputs", {"h"}}},
                            pack});
  for (const json &node : tail)
    graph.push_back(node);
  return {{"format", "kiln-model"},
          {"version", 1},
          {"name", "m"},
          {"inputs", inputs},
          {"module", {{"type", "Sequential"}, {"children", json::array()}}},
          {"graph", graph},
          {"outputs", {"y"}}};
}

/// A model calling `function` (with `options`) on two sequences, [3, 2]
/// and [1, 2], its first output the model's.
json twoSequencesModel(const std::string &function, const json &options, int outputs) {
  json inputs = json::array({{{"name", "a"}, {"shape", {3, 2}}, {"dtype", "float32"}},
                             {{"name", "b"}, {"shape", {1, 2}}, {"dtype", "float32"}}});
  json outs = json::array({"y"});
  for (int i = 1; i < outputs; ++i)
    outs.push_back("y" + std::to_string(i));
  json graph = json::array({{{"function", "neg"}, {"options", json::object()},
                             {"inputs", {"a"}}, {"outputs", {"ha"}}},
                            {{"function", "neg"}, {"options", json::object()},
                             {"inputs", {"b"}}, {"outputs", {"hb"}}},
                            {{"function", function}, {"options", options},
                             {"inputs", {"ha", "hb"}}, {"outputs", outs}}});
  return {{"format", "kiln-model"},
          {"version", 1},
          {"name", "m"},
          {"inputs", inputs},
          {"module", {{"type", "Sequential"}, {"children", json::array()}}},
          {"graph", graph},
          {"outputs", {"y"}}};
}

} // namespace

void registerPackedSequenceFamily(Registry &r) {
  Entry pack{"nn.utils.rnn.pack_padded_sequence", EntryKind::Function,
             "nn.where (data kept time-major [T, B, *], zeros past each length; the lengths "
             "checked)"};
  pack.options = {boolOption("batch_first", false), boolOption("enforce_sorted", true),
                  intListOption("lengths").orNone()};
  pack.numInputs = 2;
  pack.numOptionalInputs = 1;
  pack.indexInputs = {1};
  pack.buildOutputs = packPadded;
  pack.example = {{"model", exampleModel(json::array({{{"function", "neg"},
                                                        {"options", json::object()},
                                                        {"inputs", {"data"}},
                                                        {"outputs", {"y"}}}}),
                                         true)}};
  r.add(std::move(pack));

  Entry pad{"nn.utils.rnn.pad_packed_sequence", EntryKind::Function,
            "nn.where (padding_value past each length; total_length by nn.slice or nn.concat)"};
  pad.options = {boolOption("batch_first", false), floatOption("padding_value", 0.0),
                 intOption("total_length").atLeast(1).orNone()};
  pad.numInputs = 2;
  pad.indexInputs = {1};
  pad.buildOutputs = padPacked;
  pad.example = {{"model", exampleModel(json::array({{{"function", "utils.rnn.pad_packed_sequence"},
                                                       {"options", {{"total_length", 6}}},
                                                       {"inputs", {"data", "lengths"}},
                                                       {"outputs", {"y", "yl"}}}}),
                                        false)}};
  r.add(std::move(pad));

  Entry padSeq{"nn.utils.rnn.pad_sequence", EntryKind::Function,
               "nn.concat (each sequence padded to the longest, then stacked)"};
  padSeq.options = {boolOption("batch_first", false), floatOption("padding_value", 0.0)};
  padSeq.numInputs = kMaxSequences;
  padSeq.numOptionalInputs = kMaxSequences - 1;
  padSeq.build = [](BuildContext &c) {
    return padSequences(c, c.operands(), c.options().getBool("batch_first"),
                        c.options().getFloat("padding_value"), "pad_sequence");
  };
  padSeq.example = {
      {"model", twoSequencesModel("utils.rnn.pad_sequence", {{"batch_first", true}}, 1)}};
  r.add(std::move(padSeq));

  Entry packSeq{"nn.utils.rnn.pack_sequence", EntryKind::Function,
                "nn.concat (pad_sequence; the lengths a constant)"};
  packSeq.options = {boolOption("enforce_sorted", true)};
  packSeq.numInputs = kMaxSequences;
  packSeq.numOptionalInputs = kMaxSequences - 1;
  packSeq.buildOutputs = packSequences;
  packSeq.example = {{"model", twoSequencesModel("utils.rnn.pack_sequence", json::object(), 2)}};
  r.add(std::move(packSeq));

  Entry unpackSeq{"nn.utils.rnn.unpack_sequence", EntryKind::Function,
                  "nn.slice (one output per sequence; lengths known when compiling)"};
  unpackSeq.numInputs = 2;
  unpackSeq.indexInputs = {1};
  unpackSeq.buildOutputs = unpack;
  unpackSeq.example = {{"model", exampleModel(json::array({{{"function", "utils.rnn.unpack_sequence"},
                                                             {"options", json::object()},
                                                             {"inputs", {"data", "lengths"}},
                                                             {"outputs", {"y", "y1"}}}}),
                                              false)}};
  r.add(std::move(unpackSeq));

  Entry unpadSeq{"nn.utils.rnn.unpad_sequence", EntryKind::Function,
                 "nn.slice (one output per sequence; lengths known when compiling)"};
  unpadSeq.options = {boolOption("batch_first", false), intListOption("lengths").orNone()};
  unpadSeq.numInputs = 2;
  unpadSeq.numOptionalInputs = 1;
  unpadSeq.indexInputs = {1};
  unpadSeq.buildOutputs = unpad;
  unpadSeq.example = {{"model", exampleModel(json::array({{{"function", "utils.rnn.unpad_sequence"},
                                                            {"options", json::object()},
                                                            {"inputs", {"h", "lengths"}},
                                                            {"outputs", {"y", "y1"}}}}),
                                             false)}};
  r.add(std::move(unpadSeq));
}

} // namespace kiln::import
