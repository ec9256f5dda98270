#pragma once

#include <optional>
#include <tuple>
#include <vector>

#include "kiln/tensor.h"

/// torch.nn.utils.rnn: packed sequences for RNN / LSTM / GRU over batches
/// of sequences of different lengths. Each function records one graph
/// function of the model file ("utils.rnn.<name>").
namespace kiln::nn::utils::rnn {

/// torch.nn.utils.rnn.PackedSequence, as Kiln holds it: data() in the
/// padded time-major layout [T, B, *] with zeros past each sequence's
/// length, and the int64 lengths() [B] in the caller's batch order. torch
/// packs only the valid steps, sorted by length ([sum(lengths), *]); the
/// values at the valid steps are the same, the shapes here stay static, and
/// RNN / LSTM / GRU and pad_packed_sequence read the valid steps only.
class PackedSequence {
 public:
  PackedSequence() = default;
  PackedSequence(Tensor data, Tensor lengths, std::optional<std::vector<int64_t>> known_lengths = std::nullopt)
      : data_(std::move(data)), lengths_(std::move(lengths)), known_lengths_(std::move(known_lengths)) {}
  const Tensor& data() const noexcept { return data_; }
  const Tensor& lengths() const noexcept { return lengths_; }
  /// The lengths when the trace knows them (pack_sequence, or a list given
  /// to pack_padded_sequence); unpack_sequence needs them, since each
  /// sequence's shape is its length.
  const std::optional<std::vector<int64_t>>& known_lengths() const noexcept { return known_lengths_; }

 private:
  Tensor data_, lengths_;
  std::optional<std::vector<int64_t>> known_lengths_;
};

/// pack_padded_sequence(input, lengths, batch_first=false,
/// enforce_sorted=true): input [T, B, *] ([B, T, *] batch first), lengths
/// int64 [B], each in [1, T] (decreasing with enforce_sorted), checked by
/// the compiled model at each call as torch checks them.
PackedSequence pack_padded_sequence(const Tensor& input, const Tensor& lengths, bool batch_first = false,
                                    bool enforce_sorted = true, SourceLoc loc = SourceLoc::current());
/// The same with lengths known when tracing (checked now).
PackedSequence pack_padded_sequence(const Tensor& input, std::vector<int64_t> lengths, bool batch_first = false,
                                    bool enforce_sorted = true, SourceLoc loc = SourceLoc::current());

/// pad_packed_sequence(sequence, batch_first=false, padding_value=0,
/// total_length=None) -> (padded, lengths): padding_value past each
/// length. torch pads to the longest sequence; a compiled model's shapes
/// are fixed, so without total_length the output has the packed data's T
/// steps and each call's longest sequence must be T (the model refuses a
/// call otherwise); with total_length it has total_length steps.
std::tuple<Tensor, Tensor> pad_packed_sequence(const PackedSequence& sequence, bool batch_first = false,
                                               double padding_value = 0.0,
                                               std::optional<int64_t> total_length = std::nullopt,
                                               SourceLoc loc = SourceLoc::current());

/// pad_sequence(sequences, batch_first=false, padding_value=0): sequences
/// [L_i, *] (the same trailing dimensions) padded to the longest L and
/// stacked: [L, n, *] ([n, L, *] batch first).
Tensor pad_sequence(const std::vector<Tensor>& sequences, bool batch_first = false, double padding_value = 0.0,
                    SourceLoc loc = SourceLoc::current());

/// pack_sequence(sequences, enforce_sorted=true): pad_sequence's data and
/// the sequences' lengths (decreasing with enforce_sorted).
PackedSequence pack_sequence(const std::vector<Tensor>& sequences, bool enforce_sorted = true,
                             SourceLoc loc = SourceLoc::current());

/// unpack_sequence(packed): the sequences [L_i, *] again. Needs the lengths
/// known when tracing (pack_sequence's, or a list given to
/// pack_padded_sequence).
std::vector<Tensor> unpack_sequence(const PackedSequence& packed, SourceLoc loc = SourceLoc::current());

/// unpad_sequence(padded_sequences, lengths, batch_first=false): sequence b
/// cut to lengths[b] steps, [lengths[b], *]; the lengths known when tracing.
std::vector<Tensor> unpad_sequence(const Tensor& padded_sequences, std::vector<int64_t> lengths,
                                   bool batch_first = false, SourceLoc loc = SourceLoc::current());

}  // namespace kiln::nn::utils::rnn
