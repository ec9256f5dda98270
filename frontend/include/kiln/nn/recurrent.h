#pragma once

#include <optional>
#include <string>
#include <tuple>

#include "kiln/module.h"
#include "kiln/nn/utils/rnn.h"

namespace kiln::nn {

/// Options of nn.RNN / nn.LSTM / nn.GRU(input_size, hidden_size,
/// num_layers=1, nonlinearity="tanh" (RNN only), bias=True,
/// batch_first=False, dropout=0, bidirectional=False, proj_size=0 (LSTM
/// only)). One struct for the three, as their libtorch options share names.
struct RNNOptions {
  RNNOptions(int64_t input_size, int64_t hidden_size) : input_size_(input_size), hidden_size_(hidden_size) {}
  KILN_ARG(int64_t, input_size);
  KILN_ARG(int64_t, hidden_size);
  KILN_ARG(int64_t, num_layers) = 1;
  KILN_ARG(std::string, nonlinearity) = "tanh";
  KILN_ARG(bool, bias) = true;
  KILN_ARG(bool, batch_first) = false;
  KILN_ARG(double, dropout) = 0.0;
  KILN_ARG(bool, bidirectional) = false;
  KILN_ARG(int64_t, proj_size) = 0;
};
using LSTMOptions = RNNOptions;
using GRUOptions = RNNOptions;

/// What RNN, LSTM and GRU share: parameters "weight_ih_l{k}[_reverse]",
/// "weight_hh_l{k}...", "bias_ih_l{k}...", "bias_hh_l{k}...",
/// ("weight_hr_l{k}..." with proj_size) in torch's order; the model file
/// records one node whose outputs are the output and the final states.
class RecurrentModule : public Module {
 public:
  const RNNOptions& options() const { return options_; }
  std::optional<OptionList> layer_options() const override;

 protected:
  /// `kind` is "RNN", "LSTM" or "GRU". Throws Error on torch's constructor
  /// errors (sizes, dropout range, proj_size for LSTM only and below
  /// hidden_size, nonlinearity for RNN only).
  RecurrentModule(std::string kind, const RNNOptions& options);
  /// Records a call on `input` with the given states (none, or h_0 / h_0
  /// and c_0); returns output then the final states.
  std::vector<Tensor> call(const Tensor& input, const std::vector<Tensor>& states, SourceLoc loc);
  /// The same on a packed sequence (its data [T, N, input_size] and
  /// lengths: the node's first two inputs); output is its packed data
  /// [T, N, directions * hidden], zeros past each length, and h_n holds
  /// each sequence's last step.
  std::vector<Tensor> call(const utils::rnn::PackedSequence& input, const std::vector<Tensor>& states,
                           SourceLoc loc);

 private:
  /// Records the node: `inputs` ([data, lengths] packed, else [input])
  /// then the states, checked against the sizes T and N.
  std::vector<Tensor> record(std::vector<Tensor> inputs, const std::vector<Tensor>& states, bool packed,
                             SourceLoc loc);
  std::string kind_;
  RNNOptions options_;
};

/// torch.nn.RNN: input [T, N, input_size] ([N, T, ...] batch_first, [T,
/// input_size] unbatched), h_0 [num_layers * directions, N, hidden_size]
/// (optional) -> (output [T, N, directions * hidden_size], h_n).
class RNNImpl : public RecurrentModule {
 public:
  RNNImpl(int64_t input_size, int64_t hidden_size) : RNNImpl(RNNOptions(input_size, hidden_size)) {}
  explicit RNNImpl(const RNNOptions& options) : RecurrentModule("RNN", options) {}
  std::tuple<Tensor, Tensor> forward(const Tensor& input, const Tensor& hx = {},
                                     SourceLoc loc = SourceLoc::current());
  /// On a packed sequence (torch.nn.utils.rnn): (packed output, h_n).
  std::tuple<utils::rnn::PackedSequence, Tensor> forward(const utils::rnn::PackedSequence& input,
                                                         const Tensor& hx = {},
                                                         SourceLoc loc = SourceLoc::current());
};
KILN_MODULE(RNN);

/// torch.nn.LSTM: like RNN with the state (h_0, c_0) -> (output, (h_n,
/// c_n)); h has proj_size features when proj_size > 0.
class LSTMImpl : public RecurrentModule {
 public:
  LSTMImpl(int64_t input_size, int64_t hidden_size) : LSTMImpl(LSTMOptions(input_size, hidden_size)) {}
  explicit LSTMImpl(const LSTMOptions& options) : RecurrentModule("LSTM", options) {}
  std::tuple<Tensor, std::tuple<Tensor, Tensor>> forward(
      const Tensor& input, const std::optional<std::tuple<Tensor, Tensor>>& hx = std::nullopt,
      SourceLoc loc = SourceLoc::current());
  /// On a packed sequence: (packed output, (h_n, c_n)).
  std::tuple<utils::rnn::PackedSequence, std::tuple<Tensor, Tensor>> forward(
      const utils::rnn::PackedSequence& input,
      const std::optional<std::tuple<Tensor, Tensor>>& hx = std::nullopt,
      SourceLoc loc = SourceLoc::current());
};
KILN_MODULE(LSTM);

/// torch.nn.GRU: like RNN.
class GRUImpl : public RecurrentModule {
 public:
  GRUImpl(int64_t input_size, int64_t hidden_size) : GRUImpl(GRUOptions(input_size, hidden_size)) {}
  explicit GRUImpl(const GRUOptions& options) : RecurrentModule("GRU", options) {}
  std::tuple<Tensor, Tensor> forward(const Tensor& input, const Tensor& hx = {},
                                     SourceLoc loc = SourceLoc::current());
  /// On a packed sequence: (packed output, h_n).
  std::tuple<utils::rnn::PackedSequence, Tensor> forward(const utils::rnn::PackedSequence& input,
                                                         const Tensor& hx = {},
                                                         SourceLoc loc = SourceLoc::current());
};
KILN_MODULE(GRU);

/// Options of nn.RNNCell / nn.LSTMCell / nn.GRUCell(input_size,
/// hidden_size, bias=True, nonlinearity="tanh" (RNNCell only)).
struct RNNCellOptions {
  RNNCellOptions(int64_t input_size, int64_t hidden_size) : input_size_(input_size), hidden_size_(hidden_size) {}
  KILN_ARG(int64_t, input_size);
  KILN_ARG(int64_t, hidden_size);
  KILN_ARG(bool, bias) = true;
  KILN_ARG(std::string, nonlinearity) = "tanh";
};
using LSTMCellOptions = RNNCellOptions;
using GRUCellOptions = RNNCellOptions;

/// What the cells share: "weight_ih", "weight_hh", "bias_ih", "bias_hh".
class RecurrentCell : public Module {
 public:
  const RNNCellOptions& options() const { return options_; }
  std::optional<OptionList> layer_options() const override;

 protected:
  RecurrentCell(std::string kind, const RNNCellOptions& options);
  /// input [N, input_size] or [input_size]; states as h (and c).
  std::vector<Tensor> call(const Tensor& input, const std::vector<Tensor>& states, SourceLoc loc);

 private:
  std::string kind_;
  RNNCellOptions options_;
};

/// torch.nn.RNNCell: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu).
class RNNCellImpl : public RecurrentCell {
 public:
  RNNCellImpl(int64_t input_size, int64_t hidden_size) : RNNCellImpl(RNNCellOptions(input_size, hidden_size)) {}
  explicit RNNCellImpl(const RNNCellOptions& options) : RecurrentCell("RNNCell", options) {}
  Tensor forward(const Tensor& input, const Tensor& hx = {}, SourceLoc loc = SourceLoc::current());
};
KILN_MODULE(RNNCell);

/// torch.nn.LSTMCell: (h, c) -> (h', c').
class LSTMCellImpl : public RecurrentCell {
 public:
  LSTMCellImpl(int64_t input_size, int64_t hidden_size) : LSTMCellImpl(LSTMCellOptions(input_size, hidden_size)) {}
  explicit LSTMCellImpl(const LSTMCellOptions& options) : RecurrentCell("LSTMCell", options) {}
  std::tuple<Tensor, Tensor> forward(const Tensor& input,
                                     const std::optional<std::tuple<Tensor, Tensor>>& hx = std::nullopt,
                                     SourceLoc loc = SourceLoc::current());
};
KILN_MODULE(LSTMCell);

/// torch.nn.GRUCell.
class GRUCellImpl : public RecurrentCell {
 public:
  GRUCellImpl(int64_t input_size, int64_t hidden_size) : GRUCellImpl(GRUCellOptions(input_size, hidden_size)) {}
  explicit GRUCellImpl(const GRUCellOptions& options) : RecurrentCell("GRUCell", options) {}
  Tensor forward(const Tensor& input, const Tensor& hx = {}, SourceLoc loc = SourceLoc::current());
};
KILN_MODULE(GRUCell);

}  // namespace kiln::nn
