#pragma once

#include <string>
#include <vector>

#include "kiln/module.h"
#include "kiln/nn/conv.h"  // ExpandingArray

namespace kiln {

/// F.pad's constant mode (torch::kConstant in libtorch); kReflect,
/// kReplicate and kCircular are conv.h's.
struct kConstantT {};
inline constexpr kConstantT kConstant{};

namespace nn {

/// Options of nn.ReflectionPad{D}d(padding) / nn.ReplicationPad{D}d(padding)
/// with libtorch's names: ReflectionPad2dOptions({1, 2, 0, 3}). `padding` is
/// one int for every side or 2 * D ints in torch's order, the last
/// dimension's pair first: (left, right, top, bottom, front, back).
template <size_t D>
struct ReflectionPadOptions {
  ReflectionPadOptions(ExpandingArray<D * 2> padding) : padding_(std::move(padding)) {}  // NOLINT
  KILN_ARG(ExpandingArray<D * 2>, padding);
};
template <size_t D>
struct ReplicationPadOptions {
  ReplicationPadOptions(ExpandingArray<D * 2> padding) : padding_(std::move(padding)) {}  // NOLINT
  KILN_ARG(ExpandingArray<D * 2>, padding);
};
/// nn.ConstantPad{D}d(padding, value): ConstantPad1dOptions(2, 0.5).
template <size_t D>
struct ConstantPadOptions {
  ConstantPadOptions(ExpandingArray<D * 2> padding, double value) : padding_(std::move(padding)), value_(value) {}
  KILN_ARG(ExpandingArray<D * 2>, padding);
  KILN_ARG(double, value);
};
/// nn.ZeroPad{D}d(padding) (ZeroPad1d/3d are torch >= 2.1's; the same as
/// ConstantPad{D}d(padding, 0)).
template <size_t D>
struct ZeroPadOptions {
  ZeroPadOptions(ExpandingArray<D * 2> padding) : padding_(std::move(padding)) {}  // NOLINT
  KILN_ARG(ExpandingArray<D * 2>, padding);
};
using ZeroPad1dOptions = ZeroPadOptions<1>;
using ZeroPad2dOptions = ZeroPadOptions<2>;
using ZeroPad3dOptions = ZeroPadOptions<3>;
using ReflectionPad1dOptions = ReflectionPadOptions<1>;
using ReflectionPad2dOptions = ReflectionPadOptions<2>;
using ReflectionPad3dOptions = ReflectionPadOptions<3>;
using ReplicationPad1dOptions = ReplicationPadOptions<1>;
using ReplicationPad2dOptions = ReplicationPadOptions<2>;
using ReplicationPad3dOptions = ReplicationPadOptions<3>;
using ConstantPad1dOptions = ConstantPadOptions<1>;
using ConstantPad2dOptions = ConstantPadOptions<2>;
using ConstantPad3dOptions = ConstantPadOptions<3>;

/// What every padding layer shares: torch's F.pad over the last `dims`
/// dimensions with `mode` "constant", "reflect" or "replicate".
class PadModule : public Module {
 public:
  /// Precondition: float32 input; constant: at least `dims` dimensions
  /// (negative padding crops); reflect / replicate: `dims` + 1 (unbatched)
  /// or `dims` + 2 dimensions, padding >= 0, reflect: padding < the size and
  /// at most 64 per side (the importer's bound).
  Tensor forward(const Tensor& input, SourceLoc loc = SourceLoc::current());
  std::optional<OptionList> layer_options() const override;

 protected:
  PadModule(std::string type, size_t dims, std::vector<int64_t> padding, std::string mode, double value);

 private:
  size_t dims_;
  std::vector<int64_t> padding_;
  std::string mode_;
  double value_;
};

/// Pads the last D dimensions by reflecting the input at its edges (the
/// edge itself not repeated), like torch.nn.ReflectionPad{D}d.
template <size_t D>
class ReflectionPadImpl : public PadModule {
 public:
  explicit ReflectionPadImpl(const ReflectionPadOptions<D>& options)
      : PadModule("ReflectionPad" + std::to_string(D) + "d", D, options.padding().vec(), "reflect", 0.0),
        options_(options) {}
  const ReflectionPadOptions<D>& options() const { return options_; }

 private:
  ReflectionPadOptions<D> options_;
};

/// Pads the last D dimensions by repeating the edge values, like
/// torch.nn.ReplicationPad{D}d.
template <size_t D>
class ReplicationPadImpl : public PadModule {
 public:
  explicit ReplicationPadImpl(const ReplicationPadOptions<D>& options)
      : PadModule("ReplicationPad" + std::to_string(D) + "d", D, options.padding().vec(), "replicate", 0.0),
        options_(options) {}
  const ReplicationPadOptions<D>& options() const { return options_; }

 private:
  ReplicationPadOptions<D> options_;
};

/// Pads the last D dimensions with `value` (negative padding crops), like
/// torch.nn.ConstantPad{D}d.
template <size_t D>
class ConstantPadImpl : public PadModule {
 public:
  explicit ConstantPadImpl(const ConstantPadOptions<D>& options)
      : PadModule("ConstantPad" + std::to_string(D) + "d", D, options.padding().vec(), "constant", options.value()),
        options_(options) {}
  const ConstantPadOptions<D>& options() const { return options_; }

 private:
  ConstantPadOptions<D> options_;
};

class ReflectionPad1dImpl : public ReflectionPadImpl<1> {
 public:
  using ReflectionPadImpl<1>::ReflectionPadImpl;
  ReflectionPad1dImpl(ExpandingArray<2> padding) : ReflectionPadImpl<1>(ReflectionPad1dOptions(std::move(padding))) {}
};
KILN_MODULE(ReflectionPad1d);
class ReflectionPad2dImpl : public ReflectionPadImpl<2> {
 public:
  using ReflectionPadImpl<2>::ReflectionPadImpl;
  ReflectionPad2dImpl(ExpandingArray<4> padding) : ReflectionPadImpl<2>(ReflectionPad2dOptions(std::move(padding))) {}
};
KILN_MODULE(ReflectionPad2d);
class ReflectionPad3dImpl : public ReflectionPadImpl<3> {
 public:
  using ReflectionPadImpl<3>::ReflectionPadImpl;
  ReflectionPad3dImpl(ExpandingArray<6> padding) : ReflectionPadImpl<3>(ReflectionPad3dOptions(std::move(padding))) {}
};
KILN_MODULE(ReflectionPad3d);
class ReplicationPad1dImpl : public ReplicationPadImpl<1> {
 public:
  using ReplicationPadImpl<1>::ReplicationPadImpl;
  ReplicationPad1dImpl(ExpandingArray<2> padding) : ReplicationPadImpl<1>(ReplicationPad1dOptions(std::move(padding))) {}
};
KILN_MODULE(ReplicationPad1d);
class ReplicationPad2dImpl : public ReplicationPadImpl<2> {
 public:
  using ReplicationPadImpl<2>::ReplicationPadImpl;
  ReplicationPad2dImpl(ExpandingArray<4> padding) : ReplicationPadImpl<2>(ReplicationPad2dOptions(std::move(padding))) {}
};
KILN_MODULE(ReplicationPad2d);
class ReplicationPad3dImpl : public ReplicationPadImpl<3> {
 public:
  using ReplicationPadImpl<3>::ReplicationPadImpl;
  ReplicationPad3dImpl(ExpandingArray<6> padding) : ReplicationPadImpl<3>(ReplicationPad3dOptions(std::move(padding))) {}
};
KILN_MODULE(ReplicationPad3d);
class ConstantPad1dImpl : public ConstantPadImpl<1> {
 public:
  using ConstantPadImpl<1>::ConstantPadImpl;
  ConstantPad1dImpl(ExpandingArray<2> padding, double value) : ConstantPadImpl<1>(ConstantPad1dOptions(std::move(padding), value)) {}
};
KILN_MODULE(ConstantPad1d);
class ConstantPad2dImpl : public ConstantPadImpl<2> {
 public:
  using ConstantPadImpl<2>::ConstantPadImpl;
  ConstantPad2dImpl(ExpandingArray<4> padding, double value) : ConstantPadImpl<2>(ConstantPad2dOptions(std::move(padding), value)) {}
};
KILN_MODULE(ConstantPad2d);
class ConstantPad3dImpl : public ConstantPadImpl<3> {
 public:
  using ConstantPadImpl<3>::ConstantPadImpl;
  ConstantPad3dImpl(ExpandingArray<6> padding, double value) : ConstantPadImpl<3>(ConstantPad3dOptions(std::move(padding), value)) {}
};
KILN_MODULE(ConstantPad3d);

/// Pads the last D dimensions with zeros (negative padding crops), like
/// torch.nn.ZeroPad{D}d.
template <size_t D>
class ZeroPadImpl : public PadModule {
 public:
  explicit ZeroPadImpl(const ZeroPadOptions<D>& options)
      : PadModule("ZeroPad" + std::to_string(D) + "d", D, options.padding().vec(), "constant", 0.0),
        options_(options) {}
  ZeroPadImpl(ExpandingArray<D * 2> padding) : ZeroPadImpl(ZeroPadOptions<D>(std::move(padding))) {}  // NOLINT
  const ZeroPadOptions<D>& options() const { return options_; }

 private:
  ZeroPadOptions<D> options_;
};
class ZeroPad1dImpl : public ZeroPadImpl<1> {
 public:
  using ZeroPadImpl<1>::ZeroPadImpl;
};
KILN_MODULE(ZeroPad1d);
class ZeroPad2dImpl : public ZeroPadImpl<2> {
 public:
  using ZeroPadImpl<2>::ZeroPadImpl;
};
KILN_MODULE(ZeroPad2d);
class ZeroPad3dImpl : public ZeroPadImpl<3> {
 public:
  using ZeroPadImpl<3>::ZeroPadImpl;
};
KILN_MODULE(ZeroPad3d);

namespace functional {

/// F.pad's mode: kConstant, kReflect, kReplicate or kCircular.
class PadMode {
 public:
  PadMode(kConstantT) : name_("constant") {}    // NOLINT
  PadMode(kReflectT) : name_("reflect") {}      // NOLINT
  PadMode(kReplicateT) : name_("replicate") {}  // NOLINT
  PadMode(kCircularT) : name_("circular") {}    // NOLINT
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

/// Options of F.pad(input, pad, mode='constant', value=0) with libtorch's
/// names: PadFuncOptions({1, 2}).mode(kConstant).value(0.5).
struct PadFuncOptions {
  PadFuncOptions(std::vector<int64_t> pad) : pad_(std::move(pad)) {}  // NOLINT
  KILN_ARG(std::vector<int64_t>, pad);
  KILN_ARG(PadMode, mode) = kConstant;
  KILN_ARG(double, value) = 0.0;
};

/// F.pad in constant mode, recorded as graph function "constant_pad_nd"
/// (torch.constant_pad_nd, what F.pad calls): pads the last pad.size() / 2
/// dimensions, the last one's (lo, hi) first; negative values crop.
/// Throws Error for the other modes (use ReflectionPad{D}d /
/// ReplicationPad{D}d; torch reaches them through private aten calls), an
/// odd pad length, more pairs than dimensions, or a size cropped to 0.
Tensor pad(const Tensor& input, const PadFuncOptions& options, SourceLoc loc = SourceLoc::current());

}  // namespace functional
}  // namespace nn
}  // namespace kiln
