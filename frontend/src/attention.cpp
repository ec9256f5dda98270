// nn.MultiheadAttention in the DSL: options, parameters in torch's
// state_dict order, the shape rule, and the node it records (the forward
// arguments that are not tensors as the node's options; kilnc's importer,
// frontend/import/Attention.cpp, builds the math).
#include "kiln/nn/attention.h"

#include "ir/ShapeRules.h"
#include "shapes.h"

namespace kiln::nn {

using detail::fail;

MultiheadAttentionImpl::MultiheadAttentionImpl(const MultiheadAttentionOptions& o)
    : Module("MultiheadAttention"), options_(o) {
  int64_t e = o.embed_dim(), h = o.num_heads();
  int64_t kdim = o.kdim().value_or(e), vdim = o.vdim().value_or(e);
  std::string what = "MultiheadAttention(" + std::to_string(e) + ", " + std::to_string(h) + ")";
  if (e < 1 || h < 1 || kdim < 1 || vdim < 1)
    fail(what + ": embed_dim, num_heads, kdim and vdim must be >= 1");
  if (e % h != 0) fail(what + ": embed_dim must be divisible by num_heads");
  if (!(o.dropout() >= 0.0 && o.dropout() <= 1.0))
    fail(what + ": dropout probability has to be between 0 and 1, but got " + std::to_string(o.dropout()));
  if (kdim == e && vdim == e) {
    register_parameter("in_proj_weight", {3 * e, e}, Init::XavierUniform);
  } else {
    register_parameter("q_proj_weight", {e, e}, Init::XavierUniform);
    register_parameter("k_proj_weight", {e, kdim}, Init::XavierUniform);
    register_parameter("v_proj_weight", {e, vdim}, Init::XavierUniform);
  }
  if (o.bias()) register_parameter("in_proj_bias", {3 * e}, Init::Zeros);
  if (o.add_bias_kv()) {
    register_parameter("bias_k", {1, 1, e}, Init::XavierNormal);
    register_parameter("bias_v", {1, 1, e}, Init::XavierNormal);
  }
  // torch zeroes out_proj's bias (_reset_parameters); the compiler knows.
  out_proj = register_module("out_proj", Linear(LinearOptions(e, e).bias(o.bias())));
}

std::tuple<Tensor, Tensor> MultiheadAttentionImpl::forward(const Tensor& query, const Tensor& key,
                                                           const Tensor& value, const Tensor& key_padding_mask,
                                                           bool need_weights, const Tensor& attn_mask,
                                                           bool average_attn_weights, SourceLoc loc) {
  auto& trace = detail::Trace::active(type_name(), loc);
  const std::string& path = trace.path_of(*this, loc);
  std::string what = detail::describe(*this, path);
  for (const Tensor* t : {&query, &key, &value}) {
    trace.check_value(*t, what, loc);
    detail::require_float32(*t, what, loc);
  }
  for (const Tensor* t : {&key_padding_mask, &attn_mask}) {
    if (!t->defined()) continue;
    trace.check_value(*t, what, loc);
    if (t->dtype() == Dtype::Int64)
      fail(loc, what + ": a mask must be bool or float32, got int64 tensor '" + t->name() + "'");
  }
  const MultiheadAttentionOptions& o = options_;
  int64_t e = o.embed_dim(), h = o.num_heads();
  int64_t kdim = o.kdim().value_or(e), vdim = o.vdim().value_or(e);
  const Shape &qs = query.sizes(), &ks = key.sizes(), &vs = value.sizes();
  if (qs.size() != 2 && qs.size() != 3)
    fail(loc, what + ": query should be unbatched 2-D or batched 3-D, got " + shape_rules::str(qs));
  bool batched = qs.size() == 3;
  if (ks.size() != qs.size() || vs.size() != qs.size())
    fail(loc, what + ": key " + shape_rules::str(ks) + " and value " + shape_rules::str(vs) +
                  " must have the query's rank (" + shape_rules::str(qs) + ")");
  // Sequence-first views of the sizes: [length, batch, features].
  auto seq_first = [&](const Shape& s) -> Shape {
    if (!batched) return {s[0], 1, s[1]};
    return o.batch_first() ? Shape{s[1], s[0], s[2]} : s;
  };
  Shape q = seq_first(qs), k = seq_first(ks), v = seq_first(vs);
  int64_t l = q[0], n = q[1], s = k[0];
  if (q[2] != e)
    fail(loc, what + ": was expecting embedding dimension of " + std::to_string(e) + ", but got query " +
                  shape_rules::str(qs));
  if (k[1] != n || v[0] != s || v[1] != n || k[2] != kdim || v[2] != vdim)
    fail(loc, what + ": key " + shape_rules::str(ks) + " and value " + shape_rules::str(vs) +
                  " must share the query's batch size and one sequence length, with kdim " +
                  std::to_string(kdim) + " and vdim " + std::to_string(vdim) + " features");
  if (key_padding_mask.defined()) {
    Shape want = batched ? Shape{n, s} : Shape{s};
    if (key_padding_mask.sizes() != want)
      fail(loc, what + ": expecting key_padding_mask shape of " + shape_rules::str(want) + ", but got " +
                    shape_rules::str(key_padding_mask.sizes()));
  }
  if (attn_mask.defined()) {
    Shape want2{l, s}, want3{batched ? n * h : h, l, s};
    if (attn_mask.sizes() != want2 && attn_mask.sizes() != want3)
      fail(loc, what + ": attn_mask must be " + shape_rules::str(want2) + " or " + shape_rules::str(want3) +
                    ", got " + shape_rules::str(attn_mask.sizes()));
  }
  if (key_padding_mask.defined() && attn_mask.defined() && key_padding_mask.dtype() != Dtype::Bool)
    fail(loc, what + ": a float key_padding_mask cannot be combined with an attn_mask (torch masks the "
                     "attn_mask with it: give a bool key_padding_mask)");

  std::vector<Tensor> inputs = {query, key, value};
  OptionList call = {{"key_padding_mask", key_padding_mask.defined()},
                     {"need_weights", need_weights},
                     {"attn_mask", attn_mask.defined()},
                     {"average_attn_weights", average_attn_weights}};
  if (key_padding_mask.defined()) inputs.push_back(key_padding_mask);
  if (attn_mask.defined()) inputs.push_back(attn_mask);
  std::vector<std::pair<Shape, Dtype>> outputs = {{qs, Dtype::Float32}};
  if (need_weights) {
    int64_t keys = s + (o.add_bias_kv() ? 1 : 0) + (o.add_zero_attn() ? 1 : 0);
    Shape w = average_attn_weights ? Shape{n, l, keys} : Shape{n, h, l, keys};
    if (!batched) w.erase(w.begin());
    outputs.push_back({w, Dtype::Float32});
  }
  std::vector<Tensor> out = detail::record_module(trace, path, inputs, std::move(call), outputs, loc);
  return {out[0], need_weights ? out[1] : Tensor()};
}

std::optional<OptionList> MultiheadAttentionImpl::layer_options() const {
  const MultiheadAttentionOptions& o = options_;
  auto optional = [](const std::optional<int64_t>& v) -> OptionValue {
    if (v) return *v;
    return nullptr;
  };
  return OptionList{{"embed_dim", o.embed_dim()},       {"num_heads", o.num_heads()},
                    {"dropout", o.dropout()},           {"bias", o.bias()},
                    {"add_bias_kv", o.add_bias_kv()},   {"add_zero_attn", o.add_zero_attn()},
                    {"kdim", optional(o.kdim())},       {"vdim", optional(o.vdim())},
                    {"batch_first", o.batch_first()}};
}

}  // namespace kiln::nn
