#pragma once

#include <optional>
#include <string>
#include <vector>

#include "kiln/module.h"

namespace kiln::nn {

/// Options of nn.PixelShuffle(upscale_factor).
struct PixelShuffleOptions {
  PixelShuffleOptions(int64_t upscale_factor) : upscale_factor_(upscale_factor) {}  // NOLINT
  KILN_ARG(int64_t, upscale_factor);
};

/// [*, C * r^2, H, W] -> [*, C, H * r, W * r] (torch.nn.PixelShuffle).
class PixelShuffleImpl : public Module {
 public:
  /// Throws Error unless upscale_factor >= 1.
  explicit PixelShuffleImpl(const PixelShuffleOptions& options);
  Tensor forward(const Tensor& input, SourceLoc loc = SourceLoc::current());
  std::optional<OptionList> layer_options() const override;

 private:
  PixelShuffleOptions options_;
};
KILN_MODULE(PixelShuffle);

/// Options of nn.PixelUnshuffle(downscale_factor).
struct PixelUnshuffleOptions {
  PixelUnshuffleOptions(int64_t downscale_factor) : downscale_factor_(downscale_factor) {}  // NOLINT
  KILN_ARG(int64_t, downscale_factor);
};

/// [*, C, H * r, W * r] -> [*, C * r^2, H, W] (torch.nn.PixelUnshuffle).
class PixelUnshuffleImpl : public Module {
 public:
  /// Throws Error unless downscale_factor >= 1.
  explicit PixelUnshuffleImpl(const PixelUnshuffleOptions& options);
  Tensor forward(const Tensor& input, SourceLoc loc = SourceLoc::current());
  std::optional<OptionList> layer_options() const override;

 private:
  PixelUnshuffleOptions options_;
};
KILN_MODULE(PixelUnshuffle);

/// Options of nn.ChannelShuffle(groups).
struct ChannelShuffleOptions {
  ChannelShuffleOptions(int64_t groups) : groups_(groups) {}  // NOLINT
  KILN_ARG(int64_t, groups);
};

/// Splits the channels (dimension 1 of [N, C, *]) into `groups` and
/// interleaves them (torch.nn.ChannelShuffle).
class ChannelShuffleImpl : public Module {
 public:
  /// Throws Error unless groups >= 1.
  explicit ChannelShuffleImpl(const ChannelShuffleOptions& options);
  Tensor forward(const Tensor& input, SourceLoc loc = SourceLoc::current());
  std::optional<OptionList> layer_options() const override;

 private:
  ChannelShuffleOptions options_;
};
KILN_MODULE(ChannelShuffle);

/// Options of nn.Upsample(size=None, scale_factor=None, mode='nearest',
/// align_corners=None, recompute_scale_factor=None), libtorch's names:
/// UpsampleOptions().scale_factor({2.0, 2.0}).mode("bilinear").align_corners(false).
/// size and scale_factor hold one value per spatial dimension; mode is one
/// of "nearest", "linear", "bilinear", "bicubic", "trilinear", "area",
/// "nearest-exact".
struct UpsampleOptions {
  KILN_ARG(std::optional<std::vector<int64_t>>, size);
  KILN_ARG(std::optional<std::vector<double>>, scale_factor);
  KILN_ARG(std::string, mode) = "nearest";
  KILN_ARG(std::optional<bool>, align_corners);
  KILN_ARG(std::optional<bool>, recompute_scale_factor);
};

/// Up- or downsamples the spatial dimensions of [N, C, *spatial] (1 to 3
/// of them) as torch 1.13's F.interpolate, every mode, with its checks
/// (exactly one of size and scale_factor; align_corners only for the
/// interpolating modes; the mode matching the input's rank).
class UpsampleImpl : public Module {
 public:
  explicit UpsampleImpl(const UpsampleOptions& options = {});
  Tensor forward(const Tensor& input, SourceLoc loc = SourceLoc::current());
  std::optional<OptionList> layer_options() const override;

 private:
  UpsampleOptions options_;
};
KILN_MODULE(Upsample);

/// Options of nn.UpsamplingNearest2d / nn.UpsamplingBilinear2d(size=None,
/// scale_factor=None).
struct UpsamplingOptions {
  KILN_ARG(std::optional<std::vector<int64_t>>, size);
  KILN_ARG(std::optional<std::vector<double>>, scale_factor);
};

/// nn.UpsamplingNearest2d: Upsample with mode "nearest".
class UpsamplingNearest2dImpl : public Module {
 public:
  explicit UpsamplingNearest2dImpl(const UpsamplingOptions& options = {});
  Tensor forward(const Tensor& input, SourceLoc loc = SourceLoc::current());
  std::optional<OptionList> layer_options() const override;

 private:
  UpsamplingOptions options_;
};
KILN_MODULE(UpsamplingNearest2d);

/// nn.UpsamplingBilinear2d: Upsample with mode "bilinear" and align_corners.
class UpsamplingBilinear2dImpl : public Module {
 public:
  explicit UpsamplingBilinear2dImpl(const UpsamplingOptions& options = {});
  Tensor forward(const Tensor& input, SourceLoc loc = SourceLoc::current());
  std::optional<OptionList> layer_options() const override;

 private:
  UpsamplingOptions options_;
};
KILN_MODULE(UpsamplingBilinear2d);

namespace functional {
/// Options of F.interpolate: Upsample's and antialias (bilinear and bicubic
/// only, as torch).
struct InterpolateFuncOptions {
  KILN_ARG(std::optional<std::vector<int64_t>>, size);
  KILN_ARG(std::optional<std::vector<double>>, scale_factor);
  KILN_ARG(std::string, mode) = "nearest";
  KILN_ARG(std::optional<bool>, align_corners);
  KILN_ARG(std::optional<bool>, recompute_scale_factor);
  KILN_ARG(bool, antialias) = false;
};
/// torch.nn.functional.interpolate.
Tensor interpolate(const Tensor& input, const InterpolateFuncOptions& options,
                   SourceLoc loc = SourceLoc::current());

/// torch.pixel_shuffle / pixel_unshuffle / channel_shuffle.
Tensor pixel_shuffle(const Tensor& input, int64_t upscale_factor, SourceLoc loc = SourceLoc::current());
Tensor pixel_unshuffle(const Tensor& input, int64_t downscale_factor, SourceLoc loc = SourceLoc::current());
Tensor channel_shuffle(const Tensor& input, int64_t groups, SourceLoc loc = SourceLoc::current());
}  // namespace functional

}  // namespace kiln::nn
