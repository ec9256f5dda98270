// The `sparse` family of the inventory: nn.Embedding and F.embedding, rows
// of the weight read at int64 indices (a model input, range-checked by the
// runtime) with one nn.gather; torch's padding_idx and scale_grad_by_freq
// change only the gradient, so they are built with nn.detach around the
// same forward value. nn.EmbeddingBag and F.embedding_bag reduce those rows
// per bag through a bag matrix (see embeddingBag).
#include "frontend/import/Activation.h"
#include "frontend/import/Constants.h"
#include "frontend/import/Index.h"

#include "ir/NNBuilders.h"

#include <cmath>
#include <optional>

using namespace mlir;

namespace kiln::import {

/// torch's padding_idx: negative counts from the end; must name a row.
static std::optional<int64_t> paddingIndex(BuildContext &c, int64_t rows) {
  const Options &o = c.options();
  if (o.isNone("padding_idx"))
    return std::nullopt;
  int64_t p = o.getInt("padding_idx");
  if (p < -rows || p >= rows)
    c.failAt(o.pathOf("padding_idx"), "Padding_idx must be within num_embeddings (got " +
                                          std::to_string(p) + " for " + std::to_string(rows) +
                                          " rows)");
  return p < 0 ? p + rows : p;
}

/// torch renormalises the weight's rows in place during forward when
/// max_norm is set: a forward that writes a parameter, which Kiln's does not.
static void rejectMaxNorm(BuildContext &c) {
  const Options &o = c.options();
  if (!o.isNone("max_norm"))
    c.failAt(o.pathOf("max_norm"),
             "max_norm is not supported: torch renormalises the weight's rows in place "
             "during forward, and Kiln's forward never writes parameters (use null)");
}

/// How often each of the `rows` rows occurs in the int64 index `flat`
/// ([n]): f32 [rows].
static Value rowCounts(BuildContext &c, Value flat, int64_t rows) {
  int64_t n = nn::shapeOf(flat)[0];
  return c.create<nn::GatherBackwardOp>(nn::f32Tensor(c.builder().getContext(), {rows}),
                                        f32Constant(c, {n}, std::vector<float>(n, 1.0f)), flat,
                                        c.builder().getI64IntegerAttr(0));
}

/// sparse=True: torch's gradient of the weight is a sparse tensor whose
/// entries are the rows `flat` reads, padding_idx's left out (its
/// embedding_sparse_backward drops them), whatever their values: counts
/// [rows, 1] for nn-build-train-step (BuildContext::sparseGradientRows).
/// The lookup's readers are the users `weight` gained since
/// `earlierReaders`.
static void recordSparseRows(BuildContext &c, Value weight,
                             ArrayRef<Operation *> earlierReaders, Value flat, int64_t rows,
                             std::optional<int64_t> pad) {
  MLIRContext *ctx = c.builder().getContext();
  Value counts = rowCounts(c, flat, rows);
  if (pad) {
    std::vector<float> keep(rows, 1.0f);
    keep[*pad] = 0.0f;
    counts = c.create<nn::MulOp>(counts, f32Constant(c, {rows}, keep));
  }
  SmallVector<Operation *> readers;
  for (Operation *user : weight.getUsers())
    if (!llvm::is_contained(earlierReaders, user))
      readers.push_back(user);
  c.sparseGradientRows(weight, nn::reshapeTo(c.builder(), c.loc(), counts,
                                             nn::f32Tensor(ctx, {rows, 1})),
                       readers);
}

/// weight[index] for an int64 index of any shape: [*index, D].
/// `freezePaddingRow`: padding_idx's row gets no gradient (nn.Embedding);
/// EmbeddingBag passes false, its bag weights already leave that row out.
static Value embedding(BuildContext &c, Value index, Value weight,
                       bool freezePaddingRow = true) {
  auto w = nn::shapeOf(weight);
  if (w.size() != 2)
    c.fail("the weight must be 2-D [num_embeddings, embedding_dim], got " + nn::shapeStr(w));
  int64_t rows = w[0], n = 1;
  for (int64_t d : nn::shapeOf(index))
    n *= d;
  MLIRContext *ctx = c.builder().getContext();
  Value flat = nn::reshapeTo(c.builder(), c.loc(), index,
                             RankedTensorType::get({n}, IntegerType::get(ctx, 64)));
  rejectMaxNorm(c);
  std::optional<int64_t> pad = paddingIndex(c, rows);
  // sparse=True in the loss function: the lookup's rows for the optimizer.
  const bool sparse = c.options().getBool("sparse") && c.tracksSparseGradients();
  if (sparse && c.options().getBool("scale_grad_by_freq"))
    c.failAt(c.options().pathOf("sparse"),
             "embedding_backward: scale_grad_by_freq not supported with sparse gradients "
             "(torch's backward refuses it; use sparse=False)");
  Value original = weight;
  SmallVector<Operation *> earlierReaders;
  if (sparse)
    earlierReaders.assign(original.user_begin(), original.user_end());
  if (pad && freezePaddingRow) {
    // The padding row gets no gradient: w * keep + detach(w) * (1 - keep),
    // keep = 0 at that row (the value stays w exactly).
    std::vector<float> keep(rows, 1.0f), drop(rows, 0.0f);
    keep[*pad] = 0.0f;
    drop[*pad] = 1.0f;
    weight = c.create<nn::AddOp>(
        c.create<nn::MulOp>(weight, f32Constant(c, {rows, 1}, keep)),
        c.create<nn::MulOp>(c.create<nn::DetachOp>(weight), f32Constant(c, {rows, 1}, drop)));
  }
  Value rowsRead = indexSelectTensor(c, weight, 0, flat); // [n, D]
  if (c.options().getBool("scale_grad_by_freq")) {
    // Each row's gradient divided by how often its index occurs in this
    // call: g + (g - detach(g)) / count[index] - (g - detach(g)), i.e.
    // detach(g) + (g - detach(g)) / count[index], whose value is g.
    Value counts = rowCounts(c, flat, rows);
    Value perRow = nn::reshapeTo(
        c.builder(), c.loc(),
        c.create<nn::GatherOp>(counts, flat, c.builder().getI64IntegerAttr(0)),
        nn::f32Tensor(ctx, {n, 1}));
    Value fixed = c.create<nn::DetachOp>(rowsRead);
    rowsRead = c.create<nn::AddOp>(
        fixed, c.create<nn::DivOp>(c.create<nn::SubOp>(rowsRead, fixed), perRow));
  }
  if (sparse)
    recordSparseRows(c, original, earlierReaders, flat, rows, pad);
  SmallVector<int64_t> out(nn::shapeOf(index));
  out.push_back(w[1]);
  return nn::reshapeTo(c.builder(), c.loc(), rowsRead, nn::f32Tensor(ctx, out));
}

/// Options torch's nn.Embedding and F.embedding share.
static std::vector<OptionSpec> embeddingOptions() {
  return {intOption("padding_idx").orNone(), floatOption("max_norm").orNone(),
          floatOption("norm_type", 2.0), boolOption("scale_grad_by_freq", false),
          boolOption("sparse", false)};
}


//===----------------------------------------------------------------------===//
// EmbeddingBag
//===----------------------------------------------------------------------===//

/// The i64 tensor type of `shape`.
static RankedTensorType i64Tensor(BuildContext &c, ArrayRef<int64_t> shape) {
  return RankedTensorType::get(shape, IntegerType::get(c.builder().getContext(), 64));
}

/// torch's "offsets[0] has to be 0" and its refusal of decreasing offsets
/// (its lookup fails on them): a value check of `starts` ([count, 1], the
/// offsets as f32), failing at offset 0 when it is not 0 and at offset b
/// when it is below offset b - 1. The runtime refuses such a call naming
/// the offset (BuildContext::checkValues).
static void checkOffsets(BuildContext &c, Ew &m, Value starts, int64_t count) {
  using nn::ComparePredicate;
  Value previous = m.k(0.0);
  if (count > 1) {
    OpBuilder &b = c.builder();
    Value head = c.create<nn::SliceOp>(starts, b.getDenseI64ArrayAttr({0, 0}),
                                       b.getDenseI64ArrayAttr({count - 1, 1}),
                                       b.getDenseI64ArrayAttr({1, 1}));
    previous = c.create<nn::ConcatOp>(
        ValueRange{f32Constant(c, {1, 1}, {0.0f}), head}, int64_t{0});
  }
  std::vector<float> firstRow(count, 0.0f);
  firstRow[0] = 1.0f;
  Value first = m.cmp(ComparePredicate::gt, f32Constant(c, {count, 1}, firstRow), m.k(0.5));
  Value nonZeroStart = m.where(m.cmp(ComparePredicate::gt, starts, m.k(0)), m.k(1), m.k(0));
  Value decreasing = m.where(m.cmp(ComparePredicate::lt, starts, previous), m.k(1), m.k(0));
  c.checkValues("EmbeddingBag.offsets", starts, m.where(first, nonZeroStart, decreasing));
}

/// The [B, N] bag matrix of a 1-D input of N elements: M[b, i] = 1 when
/// offsets[b] <= i < end of bag b (offsets[b + 1]; N for the last bag
/// unless include_last_offset, where offsets[B] ends it). The offsets reach
/// f32 through a gather from 0..N, so the runtime's index check refuses an
/// offset outside [0, N] (torch: "offsets[-1] can not be greater than
/// input's length") before any kernel runs.
static Value bagMatrix(BuildContext &c, Value offsets, int64_t n, bool includeLast) {
  int64_t count = nn::shapeOf(offsets)[0];
  int64_t bags = includeLast ? count - 1 : count;
  if (bags < 1)
    c.fail("include_last_offset needs at least two offsets (one bag), got " +
           std::to_string(count));
  Ew m{c};
  Value starts = nn::reshapeTo(c.builder(), c.loc(),
                               indexSelectTensor(c, iota(c, {n + 1}, n + 1), 0, offsets),
                               nn::f32Tensor(c.builder().getContext(), {count, 1}));
  checkOffsets(c, m, starts, count);
  // G[b, i] = 1 where i >= offsets[b]: bag b is G[b] - G[b + 1].
  Value g = m.where(m.cmp(nn::ComparePredicate::ge, iota(c, {1, n}, n), starts), m.k(1.0),
                    m.k(0.0));
  auto rows = [&](int64_t begin, int64_t end) {
    OpBuilder &b = c.builder();
    return c.create<nn::SliceOp>(g, b.getDenseI64ArrayAttr({begin, 0}),
                                 b.getDenseI64ArrayAttr({end, n}),
                                 b.getDenseI64ArrayAttr({1, 1}));
  };
  if (includeLast)
    return m.sub(rows(0, bags), rows(1, bags + 1));
  if (bags == 1)
    return g;
  SmallVector<Value> shifted{rows(1, bags),
                             f32Constant(c, {1, n}, std::vector<float>(n, 0.0f))};
  Value next = c.create<nn::ConcatOp>(ValueRange(shifted), 0);
  return m.sub(g, next);
}

/// torch.nn.functional.embedding_bag(input, weight, offsets, ...,
/// per_sample_weights): bags of weight rows reduced by sum, mean or max
/// -> [B, D]. Bag b of a 1-D input is input[offsets[b] : end of bag b]; a
/// 2-D input [B, L] is B bags of L. Elements equal to padding_idx belong
/// to no bag (a mean divides by the others; an empty bag gives zeros).
/// Either form becomes a bag matrix W [B, N] (element i's weight in bag b:
/// 1 or per_sample_weights[i], 0 outside the bag and at padding_idx) over
/// E = weight[input] [N, D] (one nn.gather): sum = W.E, mean = sum / count,
/// max = amax over E masked per bag. Gradients come from those ops' rules;
/// they equal torch's for every option but one: with scale_grad_by_freq
/// torch 1.13's CPU kernel divides a row's gradient by the count of another
/// index (docs/design.md), where Kiln divides by that row's own count, as
/// nn.Embedding and torch's documentation do.
static Value embeddingBag(BuildContext &c, Value input, Value weight, Value offsets,
                          Value perSampleWeights) {
  const Options &o = c.options();
  MLIRContext *ctx = c.builder().getContext();
  Ew m{c};
  auto in = nn::shapeOf(input);
  auto w = nn::shapeOf(weight);
  if (w.size() != 2)
    c.fail("the weight must be 2-D [num_embeddings, embedding_dim], got " + nn::shapeStr(w));
  if (in.size() != 1 && in.size() != 2)
    c.fail("input has to be 1D or 2D Tensor, but got Tensor of dimension " +
           std::to_string(in.size()));
  if (in.size() == 2 && offsets)
    c.fail("if input is 2D, then offsets has to be None, as input is treated is a "
           "mini-batch of fixed length sequences");
  if (in.size() == 1 && !offsets)
    c.fail("offsets has to be a 1D Tensor but got None (a 1-D input needs the offsets "
           "of its bags as the next input)");
  if (offsets && nn::shapeOf(offsets).size() != 1)
    c.fail("offsets has to be a 1D Tensor, got shape " + nn::shapeStr(nn::shapeOf(offsets)));
  const std::string mode = o.getString("mode");
  if (perSampleWeights) {
    if (mode != "sum")
      c.failAt(o.pathOf("mode"), "embedding_bag: per_sample_weights was not None. "
                                 "per_sample_weights is only supported for mode='sum' (got "
                                 "mode='" + mode + "')");
    if (nn::shapeOf(perSampleWeights) != in)
      c.fail("embedding_bag: If per_sample_weights (" +
             nn::shapeStr(nn::shapeOf(perSampleWeights)) +
             ") is not None, then it must have the same shape as the input (" +
             nn::shapeStr(in) + ")");
  }
  if (mode == "max" && o.getBool("sparse"))
    c.failAt(o.pathOf("sparse"), "max mode does not support sparse weights");
  if (mode == "max" && o.getBool("scale_grad_by_freq"))
    c.failAt(o.pathOf("scale_grad_by_freq"),
             "max mode does not support scaling the gradient by the frequency");

  int64_t rows = w[0], dim = w[1];
  int64_t n = in.size() == 1 ? in[0] : in[0] * in[1];
  Value flat = nn::reshapeTo(c.builder(), c.loc(), input, i64Tensor(c, {n}));
  Value e = embedding(c, flat, weight, /*freezePaddingRow=*/false); // [N, D]

  // Each element's weight in its bag: [B, N] for a 1-D input, [B, L, 1]
  // for a 2-D one (its bags are rows: no matrix needed).
  Value bagWeights = in.size() == 1 ? bagMatrix(c, offsets, n, o.getBool("include_last_offset"))
                                    : Value();
  SmallVector<int64_t> elementShape =
      in.size() == 1 ? SmallVector<int64_t>{1, n} : SmallVector<int64_t>{in[0], in[1], 1};
  auto perElement = [&](Value v) {
    return nn::reshapeTo(c.builder(), c.loc(), v, nn::f32Tensor(ctx, elementShape));
  };
  Value keep;
  if (std::optional<int64_t> pad = paddingIndex(c, rows)) {
    std::vector<float> table(rows, 1.0f);
    table[*pad] = 0.0f;
    keep = perElement(indexSelectTensor(c, f32Constant(c, {rows}, table), 0, flat));
  }
  if (in.size() == 1)
    bagWeights = keep ? m.mul(bagWeights, keep) : bagWeights;
  else
    bagWeights = keep ? keep : f32Constant(c, elementShape, std::vector<float>(n, 1.0f));
  // [B, 1]: the elements of each bag (a 2-D input's weights are [B, L, 1]).
  Value counts = c.create<nn::SumOp>(bagWeights, c.builder().getDenseI64ArrayAttr({1}),
                                     in.size() == 1 ? c.builder().getUnitAttr() : UnitAttr());
  int64_t bags = nn::shapeOf(counts)[0];

  if (mode == "max") {
    // Outside its bag an element reads -inf; an empty bag gives 0, as torch.
    Value rowsRead = in.size() == 1
                         ? nn::reshapeTo(c.builder(), c.loc(), e, nn::f32Tensor(ctx, {1, n, dim}))
                         : nn::reshapeTo(c.builder(), c.loc(), e,
                                         nn::f32Tensor(ctx, {in[0], in[1], dim}));
    Value member = in.size() == 1
                       ? nn::reshapeTo(c.builder(), c.loc(), bagWeights,
                                       nn::f32Tensor(ctx, {bags, n, 1}))
                       : bagWeights;
    Value masked = m.where(m.cmp(nn::ComparePredicate::gt, member, m.k(0.0)), rowsRead,
                           m.k(-INFINITY));
    Value best = c.create<nn::AmaxOp>(masked, c.builder().getDenseI64ArrayAttr({1}), UnitAttr());
    return m.where(m.cmp(nn::ComparePredicate::gt, counts, m.k(0.0)), best, m.k(0.0));
  }
  if (perSampleWeights)
    bagWeights = m.mul(bagWeights, perElement(perSampleWeights));
  Value sum;
  if (in.size() == 1) {
    sum = c.create<nn::MatmulOp>(bagWeights, e, false, false);
  } else {
    Value rowsRead = nn::reshapeTo(c.builder(), c.loc(), e,
                                   nn::f32Tensor(ctx, {in[0], in[1], dim}));
    sum = c.create<nn::SumOp>(m.mul(rowsRead, bagWeights),
                              c.builder().getDenseI64ArrayAttr({1}), UnitAttr());
  }
  if (mode == "sum")
    return sum;
  return m.div(sum, c.create<nn::MaximumOp>(counts, m.k(1.0)));
}

/// Options torch's nn.EmbeddingBag and F.embedding_bag share.
static std::vector<OptionSpec> embeddingBagOptions() {
  return {floatOption("max_norm").orNone(),
          floatOption("norm_type", 2.0),
          boolOption("scale_grad_by_freq", false),
          choiceOption("mode", "mean", {"sum", "mean", "max"}),
          boolOption("sparse", false),
          boolOption("include_last_offset", false),
          intOption("padding_idx").orNone()};
}

static void registerEmbeddingBag(Registry &r) {
  Entry layer{"nn.EmbeddingBag", EntryKind::Layer,
              "nn.gather + nn.matmul with a bag matrix (max: nn.where, nn.amax)"};
  layer.options = {intOption("num_embeddings").atLeast(1),
                   intOption("embedding_dim").atLeast(1)};
  for (OptionSpec &s : embeddingBagOptions())
    layer.options.push_back(std::move(s));
  // forward(input, offsets=None, per_sample_weights=None).
  layer.numInputs = 3;
  layer.numOptionalInputs = 2;
  layer.indexInputs = {0, 1};
  layer.declare = [](LayerDecl &decl) {
    const Options &o = decl.options();
    decl.addParameter("weight", {o.getInt("num_embeddings"), o.getInt("embedding_dim")},
                      Init{Init::Normal, 0.0, 1.0});
  };
  layer.build = [](BuildContext &c) {
    ValueRange v = c.operands();
    return embeddingBag(c, v[0], c.parameter("weight"), v.size() > 1 ? v[1] : Value(),
                        v.size() > 2 ? v[2] : Value());
  };
  layer.example = {{"options", {{"num_embeddings", 10}, {"embedding_dim", 3}}},
                   {"input", {2, 4}},
                   {"index", {2, 4}}};
  r.add(std::move(layer));

  // F.embedding_bag(input, weight, offsets=None, ..., per_sample_weights=None).
  Entry function{"embedding_bag", EntryKind::Function,
                 "nn.gather + nn.matmul with a bag matrix (max: nn.where, nn.amax)"};
  function.options = embeddingBagOptions();
  function.numInputs = 4;
  function.numOptionalInputs = 2;
  function.indexInputs = {0, 2};
  function.build = [](BuildContext &c) {
    ValueRange v = c.operands();
    return embeddingBag(c, v[0], v[1], v.size() > 2 ? v[2] : Value(),
                        v.size() > 3 ? v[3] : Value());
  };
  function.example = {{"options", json::object()}, {"input", {10, 3}}, {"index", {2, 4}}};
  r.add(std::move(function));
}

void registerSparseFamily(Registry &r) {
  registerEmbeddingBag(r);
  Entry layer{"nn.Embedding", EntryKind::Layer,
              "nn.gather (padding_idx, scale_grad_by_freq: nn.detach around it)"};
  layer.options = {intOption("num_embeddings").atLeast(1),
                   intOption("embedding_dim").atLeast(1)};
  for (OptionSpec &s : embeddingOptions())
    layer.options.push_back(std::move(s));
  layer.indexInputs = {0};
  layer.declare = [](LayerDecl &decl) {
    const Options &o = decl.options();
    // torch: normal_(0, 1), then the padding row zeroed (Kiln's initializer
    // draws that row too; docs/design.md).
    decl.addParameter("weight", {o.getInt("num_embeddings"), o.getInt("embedding_dim")},
                      Init{Init::Normal, 0.0, 1.0});
  };
  layer.build = [](BuildContext &c) {
    return embedding(c, c.operands()[0], c.parameter("weight"));
  };
  layer.example = {{"options", {{"num_embeddings", 10}, {"embedding_dim", 3}}},
                   {"input", {2, 4}},
                   {"index", {2, 4}}};
  r.add(std::move(layer));

  // F.embedding(input, weight, ...): the weight is the second input.
  Entry function{"embedding", EntryKind::Function, "nn.gather"};
  function.options = embeddingOptions();
  function.numInputs = 2;
  function.indexInputs = {0};
  function.build = [](BuildContext &c) {
    return embedding(c, c.operands()[0], c.operands()[1]);
  };
  function.example = {{"options", json::object()}, {"input", {10, 3}}, {"index", {2, 4}}};
  r.add(std::move(function));
}

} // namespace kiln::import
