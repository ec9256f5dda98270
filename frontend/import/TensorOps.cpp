// Graph functions over dimensions: torch.sum, mean, amax, amin, permute,
// transpose, t, reshape, squeeze, unsqueeze, narrow, slicing (libtorch's
// Tensor::slice), split, chunk, cat, stack, index_select, gather and matmul.
// Each is built from existing nn ops (reshape, permute, slice, concat,
// matmul, mul, sum, gather), so gradients and lowerings come with them; the shape rules are
// ir/TensorShapeRules.h, shared with the DSL.
#include "frontend/import/Index.h"

#include "ir/NNBuilders.h"
#include "ir/TensorShapeRules.h"

using namespace mlir;

namespace kiln::import {

namespace rules = shape_rules;

/// Most tensors a list function (cat, stack) takes in one node.
static constexpr unsigned kMaxListInputs = 64;

static rules::Shape shapeVec(Value v) {
  auto s = nn::shapeOf(v);
  return rules::Shape(s.begin(), s.end());
}

/// `x` reshaped to `shape` (no op when it has that shape already).
static Value reshape(BuildContext &c, Value x, const rules::Shape &shape) {
  return nn::reshapeTo(c.builder(), c.loc(), x, nn::f32Tensor(c.builder().getContext(), shape));
}

/// The shape a rule gives, or the call's error.
static rules::Shape orFail(BuildContext &c, rules::Inferred r) {
  if (!r.ok())
    c.fail(r.error);
  return r.shape;
}

static Value sliceOf(BuildContext &c, Value x, const rules::SliceBounds &s) {
  if (!s.ok())
    c.fail(s.error);
  OpBuilder &b = c.builder();
  return c.create<nn::SliceOp>(x, b.getDenseI64ArrayAttr(s.start),
                               b.getDenseI64ArrayAttr(s.end),
                               b.getDenseI64ArrayAttr(s.step));
}

/// The pieces of `x` along `dim` with the given sizes (split, chunk).
static SmallVector<Value> pieces(BuildContext &c, Value x, int64_t dim,
                                 const rules::Shape &sizes) {
  rules::Shape in = shapeVec(x);
  int64_t d = *rules::wrapDim(dim, in.size());
  SmallVector<Value> out;
  int64_t at = 0;
  for (int64_t size : sizes) {
    rules::SliceBounds s{rules::Shape(in.size(), 0), in, rules::Shape(in.size(), 1), ""};
    s.start[d] = at;
    s.end[d] = at + size;
    at += size;
    out.push_back(sliceOf(c, x, s));
  }
  return out;
}

/// torch.matmul(a, b). A 1-D lhs is a row, a 1-D rhs a column (the added
/// dimension is dropped again). With a 2-D rhs the lhs's batch dimensions
/// fold into its rows: one nn.matmul. With batch dimensions on the rhs,
/// both operands are broadcast to the common batch shape (torch's batch
/// broadcasting; nn.broadcast_to's gradient sums back) and multiplied by
/// one batched nn.matmul.
static Value matmul(BuildContext &c) {
  Value a = c.operands()[0], b = c.operands()[1];
  rules::Shape out = orFail(c, rules::matmul(shapeVec(a), shapeVec(b)));
  rules::Shape as = shapeVec(a), bs = shapeVec(b);
  if (as.size() == 1)
    as.insert(as.begin(), 1);
  if (bs.size() == 1)
    bs.push_back(1);
  int64_t k = as.back();
  if (bs.size() == 2) {
    Value rows = reshape(c, a, {rules::numel(as) / k, k});
    Value product = c.create<nn::MatmulOp>(rows, reshape(c, b, bs), false, false);
    return reshape(c, product, out);
  }
  auto batchOf = [](const rules::Shape &s) {
    return SmallVector<int64_t>(s.begin(), s.end() - 2);
  };
  std::optional<SmallVector<int64_t>> batch = nn::broadcastShapes(batchOf(as), batchOf(bs));
  if (!batch) // rules::matmul has checked the batch dimensions
    c.fail("matmul: batch dimensions do not broadcast");
  auto toBatch = [&](Value x, const rules::Shape &s) -> Value {
    Value matrix = reshape(c, x, s);
    SmallVector<int64_t> full = *batch;
    full.append({s[s.size() - 2], s.back()});
    if (ArrayRef<int64_t>(s) == ArrayRef<int64_t>(full))
      return matrix;
    return c.create<nn::BroadcastToOp>(nn::f32Tensor(c.builder().getContext(), full), matrix);
  };
  Value product = c.create<nn::MatmulOp>(toBatch(a, as), toBatch(b, bs), false, false);
  return reshape(c, product, out);
}

/// torch.gather(input, dim, index): nn.gather, dim wrapped.
static Value gather(BuildContext &c, Value x, int64_t dim, Value index) {
  rules::Shape in = shapeVec(x);
  orFail(c, rules::gather(in, dim, shapeVec(index)));
  int64_t d = *rules::wrapDim(dim, in.size());
  return c.create<nn::GatherOp>(x, index, c.builder().getI64IntegerAttr(d));
}

Value indexSelectTensor(BuildContext &c, Value x, int64_t dim, Value index) {
  rules::Shape in = shapeVec(x);
  rules::Shape out = orFail(c, rules::indexSelectTensor(in, dim, shapeVec(index)));
  int64_t d = *rules::wrapDim(dim, in.size());
  rules::Shape spread(in.size(), 1);
  spread[d] = out[d];
  MLIRContext *ctx = c.builder().getContext();
  auto i64 = [&](const rules::Shape &s) {
    return RankedTensorType::get(s, IntegerType::get(ctx, 64));
  };
  Value flat = nn::reshapeTo(c.builder(), c.loc(), index, i64(spread));
  if (spread != out)
    flat = c.create<nn::BroadcastToOp>(i64(out), flat);
  return c.create<nn::GatherOp>(x, flat, c.builder().getI64IntegerAttr(d));
}

/// torch.index_select(input, dim, index) with a constant index: the runs of
/// the index that step evenly (3, 5, 7 or 4, 4, 4 is not one: steps are
/// >= 1) become one strided slice each, joined by one concat; repeated
/// indices sum their gradients through the slices' adjoints.
static Value indexSelect(BuildContext &c) {
  const Options &o = c.options();
  Value x = c.operands()[0];
  if (c.operands().size() == 2) {
    if (!o.isNone("index"))
      c.failAt(o.pathOf("index"), "the index is the second input here: the index option "
                                  "must be null");
    return indexSelectTensor(c, x, o.getInt("dim"), c.operands()[1]);
  }
  if (o.isNone("index"))
    c.failAt(o.pathOf("index"), "index_select needs the index: a list of ints here, or an "
                                "int64 tensor as the second input");
  rules::Shape in = shapeVec(x), index = o.getInts("index");
  int64_t dim = o.getInt("dim");
  orFail(c, rules::indexSelect(in, dim, index));
  int64_t d = *rules::wrapDim(dim, in.size());
  SmallVector<Value> parts;
  for (size_t i = 0; i < index.size();) {
    size_t j = i + 1;
    int64_t step = j < index.size() ? index[j] - index[i] : 1;
    if (step < 1)
      step = 1;
    else
      while (j < index.size() && index[j] - index[j - 1] == step)
        ++j;
    rules::SliceBounds s{rules::Shape(in.size(), 0), in, rules::Shape(in.size(), 1), ""};
    s.start[d] = index[i];
    s.end[d] = index[j - 1] + 1;
    s.step[d] = step;
    parts.push_back(sliceOf(c, x, s));
    i = j;
  }
  if (parts.size() == 1)
    return parts.front();
  return c.create<nn::ConcatOp>(ValueRange(parts), d);
}

static void registerShapeFunctions(Registry &r) {
  Entry transpose{"transpose", EntryKind::Function, "nn.permute"};
  transpose.options = {intOption("dim0"), intOption("dim1")};
  transpose.build = [](BuildContext &c) {
    Value x = c.operands()[0];
    rules::Shape perm = orFail(c, rules::transposeDims(shapeVec(x), c.options().getInt("dim0"),
                                                       c.options().getInt("dim1")));
    return c.create<nn::PermuteOp>(x, c.builder().getDenseI64ArrayAttr(perm));
  };
  transpose.example = {{"options", {{"dim0", 0}, {"dim1", -1}}}, {"input", {2, 4}}};
  r.add(std::move(transpose));

  // torch.t: transpose of a 1-D or 2-D tensor (a 1-D one is itself).
  Entry t{"t", EntryKind::Function, "nn.permute"};
  t.build = [](BuildContext &c) {
    Value x = c.operands()[0];
    rules::Shape in = shapeVec(x);
    if (in.size() > 2)
      c.fail("t() expects a tensor with <= 2 dimensions, but self is " +
             std::to_string(in.size()) + "D");
    rules::Shape perm = in.size() == 2 ? rules::Shape{1, 0} : rules::Shape(in.size(), 0);
    return c.create<nn::PermuteOp>(x, c.builder().getDenseI64ArrayAttr(perm));
  };
  t.example = {{"input", {2, 4}}};
  r.add(std::move(t));

  // torch.reshape(input, shape); Tensor.view is the same for Kiln's
  // value-semantics tensors (the DSL records x.view(...) as reshape).
  Entry reshapeEntry{"reshape", EntryKind::Function, "nn.reshape"};
  reshapeEntry.options = {intListOption("shape")};
  reshapeEntry.build = [](BuildContext &c) {
    Value x = c.operands()[0];
    return c.create<nn::ReshapeOp>(
        nn::f32Tensor(c.builder().getContext(),
                      orFail(c, rules::reshape(shapeVec(x), c.options().getInts("shape")))),
        x);
  };
  reshapeEntry.example = {{"options", {{"shape", {4, -1}}}}, {"input", {2, 4}}};
  r.add(std::move(reshapeEntry));

  Entry squeeze{"squeeze", EntryKind::Function, "nn.reshape"};
  squeeze.options = {intOption("dim").orNone()};
  squeeze.build = [](BuildContext &c) {
    Value x = c.operands()[0];
    std::optional<int64_t> dim;
    if (!c.options().isNone("dim"))
      dim = c.options().getInt("dim");
    return c.create<nn::ReshapeOp>(
        nn::f32Tensor(c.builder().getContext(), orFail(c, rules::squeeze(shapeVec(x), dim))), x);
  };
  squeeze.example = {{"options", {{"dim", nullptr}}}, {"input", {2, 1, 4}}};
  r.add(std::move(squeeze));

  Entry unsqueeze{"unsqueeze", EntryKind::Function, "nn.reshape"};
  unsqueeze.options = {intOption("dim")};
  unsqueeze.build = [](BuildContext &c) {
    Value x = c.operands()[0];
    return c.create<nn::ReshapeOp>(
        nn::f32Tensor(c.builder().getContext(),
                      orFail(c, rules::unsqueeze(shapeVec(x), c.options().getInt("dim")))),
        x);
  };
  unsqueeze.example = {{"options", {{"dim", -1}}}, {"input", {2, 4}}};
  r.add(std::move(unsqueeze));

  // x[..., start:end:step] along `dim` (libtorch's Tensor::slice; Python
  // has no torch.slice function). Bounds as Python: None for an end,
  // negative from the end, clamped.
  Entry slice{"slice", EntryKind::Function, "nn.slice"};
  slice.options = {intOption("dim", 0), intOption("start").orNone(),
                   intOption("end").orNone(), intOption("step", 1)};
  slice.build = [](BuildContext &c) {
    const Options &o = c.options();
    Value x = c.operands()[0];
    auto bound = [&](const char *name) {
      return o.isNone(name) ? std::nullopt : std::optional<int64_t>(o.getInt(name));
    };
    return sliceOf(c, x, rules::pythonSlice(shapeVec(x), o.getInt("dim"), bound("start"),
                                            bound("end"), o.getInt("step")));
  };
  slice.example = {{"options", {{"dim", 1}, {"start", -3}, {"end", nullptr}, {"step", 2}}},
                   {"input", {2, 4}}};
  r.add(std::move(slice));

  // torch.split(tensor, split_size_or_sections, dim): an int is the size
  // of each piece (the last one smaller), a list the sizes. One output per
  // piece.
  Entry split{"split", EntryKind::Function, "nn.slice"};
  split.options = {intListOption("split_size_or_sections"), intOption("dim", 0)};
  split.buildOutputs = [](BuildContext &c) {
    const Options &o = c.options();
    Value x = c.operands()[0];
    std::optional<int64_t> size;
    rules::Shape sections = o.getInts("split_size_or_sections");
    if (o.raw().at("split_size_or_sections").is_number())
      size = sections.front();
    int64_t dim = o.getInt("dim");
    return pieces(c, x, dim, orFail(c, rules::splitSizes(shapeVec(x), dim, size, sections)));
  };
  split.example = {{"options", {{"split_size_or_sections", 2}, {"dim", -1}}},
                   {"input", {2, 4}}, {"outputs", 2}};
  r.add(std::move(split));

  Entry chunk{"chunk", EntryKind::Function, "nn.slice"};
  chunk.options = {intOption("chunks"), intOption("dim", 0)};
  chunk.buildOutputs = [](BuildContext &c) {
    const Options &o = c.options();
    Value x = c.operands()[0];
    int64_t dim = o.getInt("dim");
    return pieces(c, x, dim, orFail(c, rules::chunkSizes(shapeVec(x), o.getInt("chunks"), dim)));
  };
  chunk.example = {{"options", {{"chunks", 2}, {"dim", 1}}}, {"input", {2, 4}}, {"outputs", 2}};
  r.add(std::move(chunk));

  // torch.stack(tensors, dim): each tensor gets a size-1 dimension at `dim`,
  // then one concat.
  Entry stack{"stack", EntryKind::Function, "nn.concat"};
  stack.numInputs = kMaxListInputs;
  stack.numOptionalInputs = kMaxListInputs - 1;
  stack.options = {intOption("dim", 0)};
  stack.build = [](BuildContext &c) {
    int64_t dim = c.options().getInt("dim");
    std::vector<rules::Shape> shapes;
    for (Value v : c.operands())
      shapes.push_back(shapeVec(v));
    orFail(c, rules::stack(shapes, dim));
    rules::Shape one = rules::unsqueeze(shapes.front(), dim).shape;
    SmallVector<Value> parts;
    for (Value v : c.operands())
      parts.push_back(reshape(c, v, one));
    return c.create<nn::ConcatOp>(ValueRange(parts), dim);
  };
  stack.example = {{"options", {{"dim", -1}}}, {"input", {2, 4}}};
  r.add(std::move(stack));

  // torch.index_select(input, dim, index): the index as a constant option
  // (a list of ints; null otherwise) or as an int64 second input (a model
  // input or indices, range-checked by the runtime).
  Entry indexSelectEntry{"index_select", EntryKind::Function,
                         "nn.slice (constant index) or nn.gather (int64 index input)"};
  indexSelectEntry.options = {intOption("dim"), intListOption("index").orNone()};
  indexSelectEntry.numInputs = 2;
  indexSelectEntry.numOptionalInputs = 1;
  indexSelectEntry.indexInputs = {1};
  indexSelectEntry.build = indexSelect;
  indexSelectEntry.example = {{"options", {{"dim", 1}, {"index", {3, 0, 0, 2}}}},
                              {"input", {2, 4}}};
  r.add(std::move(indexSelectEntry));

  // torch.gather(input, dim, index, sparse_grad=False): index an int64
  // input of the same rank.
  Entry gatherEntry{"gather", EntryKind::Function, "nn.gather"};
  gatherEntry.options = {intOption("dim"), boolOption("sparse_grad", false).noEffect()};
  gatherEntry.numInputs = 2;
  gatherEntry.indexInputs = {1};
  gatherEntry.build = [](BuildContext &c) {
    return gather(c, c.operands()[0], c.options().getInt("dim"), c.operands()[1]);
  };
  gatherEntry.example = {{"options", {{"dim", 1}}}, {"input", {2, 4}}, {"index", {2, 3}}};
  r.add(std::move(gatherEntry));

  // torch.detach: the value without its gradient.
  Entry detach{"detach", EntryKind::Function, "nn.detach"};
  detach.build = [](BuildContext &c) { return c.create<nn::DetachOp>(c.operands()[0]); };
  detach.example = {{"input", {2, 4}}};
  r.add(std::move(detach));

  Entry matmulEntry{"matmul", EntryKind::Function, "nn.matmul"};
  matmulEntry.numInputs = 2;
  matmulEntry.build = matmul;
  matmulEntry.example = {{"input", {4, 4}}};
  r.add(std::move(matmulEntry));
}

template <typename Op> static Entry reduction(const char *name, const char *op) {
  Entry e{name, EntryKind::Function, op};
  // torch.sum(input, dim, keepdim=False); no dim (or []) reduces everything.
  e.options = {intListOption("dim", std::vector<int64_t>{}),
               boolOption("keepdim", false)};
  e.build = [](BuildContext &c) {
    const Options &o = c.options();
    OpBuilder &b = c.builder();
    return c.create<Op>(c.operands()[0], b.getDenseI64ArrayAttr(o.getInts("dim")),
                        o.getBool("keepdim") ? b.getUnitAttr() : UnitAttr());
  };
  e.example = {{"options", {{"dim", {1}}}}, {"input", {2, 4}}};
  return e;
}

void registerTensorFunctions(Registry &r) {
  r.add(reduction<nn::SumOp>("sum", "nn.sum"));
  r.add(reduction<nn::MeanOp>("mean", "nn.mean"));
  r.add(reduction<nn::AmaxOp>("amax", "nn.amax"));
  r.add(reduction<nn::AminOp>("amin", "nn.amin"));

  // torch.argmax(input, dim=None, keepdim=False): int64 indices (a model
  // output, or an index input such as gather's); not differentiable.
  Entry argmax{"argmax", EntryKind::Function, "nn.argmax"};
  argmax.options = {intOption("dim").orNone(), boolOption("keepdim", false)};
  argmax.build = [](BuildContext &c) {
    const Options &o = c.options();
    OpBuilder &b = c.builder();
    IntegerAttr dim = o.isNone("dim") ? IntegerAttr() : b.getI64IntegerAttr(o.getInt("dim"));
    return c.create<nn::ArgmaxOp>(c.operands()[0], dim,
                                  o.getBool("keepdim") ? b.getUnitAttr() : UnitAttr());
  };
  argmax.example = {{"options", {{"dim", 1}}}, {"input", {2, 4}}};
  r.add(std::move(argmax));

  Entry permute{"permute", EntryKind::Function, "nn.permute"};
  permute.options = {intListOption("dims")};
  permute.build = [](BuildContext &c) {
    return c.create<nn::PermuteOp>(
        c.operands()[0], c.builder().getDenseI64ArrayAttr(c.options().getInts("dims")));
  };
  permute.example = {{"options", {{"dims", {1, 0}}}}, {"input", {2, 4}}};
  r.add(std::move(permute));

  // torch.narrow(input, dim, start, length) -> nn.slice with the bounds
  // normalised by the shared rule (negative dim and start resolved).
  Entry narrow{"narrow", EntryKind::Function, "nn.slice"};
  narrow.options = {intOption("dim"), intOption("start"),
                    intOption("length").atLeast(0)};
  narrow.build = [](BuildContext &c) {
    const Options &o = c.options();
    Value x = c.operands()[0];
    auto shape = cast<RankedTensorType>(x.getType()).getShape();
    shape_rules::SliceBounds s =
        shape_rules::narrow(shape_rules::Shape(shape.begin(), shape.end()),
                            o.getInt("dim"), o.getInt("start"), o.getInt("length"));
    if (!s.ok())
      c.fail(s.error);
    OpBuilder &b = c.builder();
    return c.create<nn::SliceOp>(x, b.getDenseI64ArrayAttr(s.start),
                                 b.getDenseI64ArrayAttr(s.end),
                                 b.getDenseI64ArrayAttr(s.step));
  };
  narrow.example = {{"options", {{"dim", 1}, {"start", 1}, {"length", 2}}},
                    {"input", {2, 4}}};
  r.add(std::move(narrow));

  // torch.cat([a, b, ...], dim): a node lists the tensors as its inputs. The
  // DSL writes a chain of two-input nodes; canonicalization merges the
  // chain into one nn.concat.
  Entry cat{"cat", EntryKind::Function, "nn.concat"};
  cat.numInputs = kMaxListInputs;
  cat.numOptionalInputs = kMaxListInputs - 1;
  cat.options = {intOption("dim", 0)};
  cat.build = [](BuildContext &c) {
    return c.create<nn::ConcatOp>(ValueRange(c.operands()),
                                  c.options().getInt("dim"));
  };
  cat.example = {{"options", {{"dim", -1}}}, {"input", {2, 4}}};
  r.add(std::move(cat));

  registerShapeFunctions(r);
}

} // namespace kiln::import
