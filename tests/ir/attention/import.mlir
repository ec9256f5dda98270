// RUN: kilnc %S/Inputs/mha_kdim_bias_kv.json --emit=nn | FileCheck %s --check-prefix=MHA
// RUN: kilnc %S/Inputs/transformer_tiny.json --emit=nn | FileCheck %s --check-prefix=TR

// What the importer declares for nn.MultiheadAttention and the transformer
// layers (frontend/import/Attention.cpp, Transformer.cpp): torch's
// state_dict names and order, and torch's initialisations.

// MultiheadAttention(4, 2, kdim=6, vdim=6, add_bias_kv=True): separate
// projections xavier_uniform_ (sqrt(6 / (4 + 4)), sqrt(6 / (4 + 6))), the
// packed bias zeros, bias_k / bias_v xavier_normal_ of [1, 1, 4] (std
// sqrt(2 / (4 + 4))), out_proj's weight as a Linear's (1 / sqrt(4)) and its
// bias zeros.
// MHA-LABEL: func.func @forward(
// MHA-SAME: {nn.init = #nn.init<uniform -0.8660254037844386, 0.8660254037844386>, nn.name = "attn.q_proj_weight"
// MHA-SAME: {nn.init = #nn.init<uniform -0.7745966692414834, 0.7745966692414834>, nn.name = "attn.k_proj_weight"
// MHA-SAME: {nn.init = #nn.init<uniform -0.7745966692414834, 0.7745966692414834>, nn.name = "attn.v_proj_weight"
// MHA-SAME: {nn.init = #nn.init<zeros>, nn.name = "attn.in_proj_bias"
// MHA-SAME: {nn.init = #nn.init<normal 0.0, 0.5>, nn.name = "attn.bias_k"
// MHA-SAME: {nn.init = #nn.init<normal 0.0, 0.5>, nn.name = "attn.bias_v"
// MHA-SAME: {nn.init = #nn.init<uniform -0.5, 0.5>, nn.name = "attn.out_proj.weight"
// MHA-SAME: {nn.init = #nn.init<zeros>, nn.name = "attn.out_proj.bias"
// The scores as [N, H, L, S'] (S' = 5 keys + bias_k), a softmax over the
// keys, the weights averaged over the heads: [N, L, S'].
// MHA: nn.concat
// MHA: nn.amax
// MHA: nn.exp
// MHA: return {{.+}} : tensor<3x2x4xf32>, tensor<2x3x6xf32>

// nn.Transformer re-draws every matrix xavier_uniform_ (_reset_parameters):
// out_proj.weight [4, 4] sqrt(6 / 8), linear1.weight [6, 4] sqrt(6 / 10)
// instead of a Linear's; vectors keep their layer's initialisation.
// TR-LABEL: func.func @forward(
// TR-SAME: {nn.init = #nn.init<uniform -0.6123724356957945, 0.6123724356957945>, nn.name = "t.encoder.layers.0.self_attn.in_proj_weight"
// TR-SAME: {nn.init = #nn.init<zeros>, nn.name = "t.encoder.layers.0.self_attn.in_proj_bias"
// TR-SAME: {nn.init = #nn.init<uniform -0.8660254037844386, 0.8660254037844386>, nn.name = "t.encoder.layers.0.self_attn.out_proj.weight"
// TR-SAME: {nn.init = #nn.init<uniform -0.7745966692414834, 0.7745966692414834>, nn.name = "t.encoder.layers.0.linear1.weight"
// TR-SAME: {nn.init = #nn.init<uniform -0.5, 0.5>, nn.name = "t.encoder.layers.0.linear1.bias"
// TR-SAME: {nn.init = #nn.init<ones>, nn.name = "t.encoder.layers.0.norm1.weight"
// TR-SAME: nn.name = "t.encoder.norm.weight"
// TR-SAME: nn.name = "t.decoder.layers.0.self_attn.in_proj_weight"
// TR-SAME: {nn.init = #nn.init<uniform -0.6123724356957945, 0.6123724356957945>, nn.name = "t.decoder.layers.0.multihead_attn.in_proj_weight"
// TR-SAME: nn.name = "t.decoder.layers.0.norm3.bias"
// TR-SAME: nn.name = "t.decoder.norm.bias"
