// Multi-head attention as the attention and transformer families build it
// (Attention.cpp, Transformer.cpp): torch 1.13's
// F.multi_head_attention_forward decomposed into primitive nn ops.
#ifndef KILN_FRONTEND_IMPORT_ATTENTION_H
#define KILN_FRONTEND_IMPORT_ATTENTION_H

#include "frontend/import/Registry.h"

namespace kiln::import {

/// nn.MultiheadAttention's constructor options.
struct AttentionSpec {
  int64_t embedDim = 0, numHeads = 1, kdim = 0, vdim = 0;
  double dropout = 0.0;
  bool bias = true, addBiasKv = false, addZeroAttn = false, batchFirst = false;

  /// From a MultiheadAttention entry's options (kdim / vdim None: embed_dim).
  static AttentionSpec of(const Options &o);
};

/// Fails at `path` (the option num_heads) unless the heads split embed_dim.
void checkAttentionHeads(const AttentionSpec &spec, const std::string &path);

/// Declares the attention's parameters with `prefix` ("" or "self_attn."),
/// in torch's state_dict order and with torch's initialisations.
void declareAttention(LayerDecl &decl, const AttentionSpec &spec, const std::string &prefix);

/// The attention of `query` over `key` and `value` with the parameters
/// declared under `prefix`: [output] or [output, weights]. `padding`
/// (key_padding_mask) and `mask` (attn_mask) may be null, bool or f32.
/// When query, key and value are one value the in-projection is one
/// product (torch's _in_projection_packed).
llvm::SmallVector<mlir::Value> multiheadAttention(BuildContext &c, const AttentionSpec &spec,
                                                  const std::string &prefix, mlir::Value query,
                                                  mlir::Value key, mlir::Value value,
                                                  mlir::Value padding, mlir::Value mask,
                                                  bool needWeights, bool averageWeights);

} // namespace kiln::import

#endif // KILN_FRONTEND_IMPORT_ATTENTION_H
