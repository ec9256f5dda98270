// The `sparse` family of the inventory: nn.Embedding and F.embedding, rows
// of the weight read at int64 indices (a model input, range-checked by the
// runtime) with one nn.gather; torch's padding_idx and scale_grad_by_freq
// change only the gradient, so they are built with nn.detach around the
// same forward value.
#include "frontend/import/Index.h"

#include "ir/NNBuilders.h"

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

static Value f32Constant(BuildContext &c, ArrayRef<int64_t> shape, ArrayRef<float> values) {
  auto type = nn::f32Tensor(c.builder().getContext(), shape);
  return c.builder().create<arith::ConstantOp>(c.loc(), DenseElementsAttr::get(type, values));
}

/// weight[index] for an int64 index of any shape: [*index, D].
static Value embedding(BuildContext &c, Value index, Value weight) {
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
  if (std::optional<int64_t> pad = paddingIndex(c, rows)) {
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
    Value ones = f32Constant(c, {n}, std::vector<float>(n, 1.0f));
    Value counts = c.create<nn::GatherBackwardOp>(nn::f32Tensor(ctx, {rows}), ones, flat,
                                                  c.builder().getI64IntegerAttr(0));
    Value perRow = nn::reshapeTo(
        c.builder(), c.loc(),
        c.create<nn::GatherOp>(counts, flat, c.builder().getI64IntegerAttr(0)),
        nn::f32Tensor(ctx, {n, 1}));
    Value fixed = c.create<nn::DetachOp>(rowsRead);
    rowsRead = c.create<nn::AddOp>(
        fixed, c.create<nn::DivOp>(c.create<nn::SubOp>(rowsRead, fixed), perRow));
  }
  SmallVector<int64_t> out(nn::shapeOf(index));
  out.push_back(w[1]);
  return nn::reshapeTo(c.builder(), c.loc(), rowsRead, nn::f32Tensor(ctx, out));
}

/// Options torch's nn.Embedding and F.embedding share.
static std::vector<OptionSpec> embeddingOptions() {
  return {intOption("padding_idx").orNone(), floatOption("max_norm").orNone(),
          floatOption("norm_type", 2.0), boolOption("scale_grad_by_freq", false),
          boolOption("sparse", false).noEffect()};
}

void registerSparseFamily(Registry &r) {
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
