#include "kiln/init.h"

#include <cmath>
#include <utility>

#include "kiln/error.h"

namespace kiln::nn::init {

Spec zeros() { return Spec{Spec::Zeros}; }
Spec ones() { return Spec{Spec::Ones}; }
Spec constant(double value) { return Spec{Spec::Constant, value}; }
Spec uniform(double a, double b) { return Spec{Spec::Uniform, a, b}; }
Spec normal(double mean, double std) { return Spec{Spec::Normal, mean, std}; }
Spec xavier_uniform(double gain) { return Spec{Spec::XavierUniform, gain}; }
Spec xavier_normal(double gain) { return Spec{Spec::XavierNormal, gain}; }
Spec kaiming_uniform(double a, std::string mode, std::string nonlinearity) {
  return Spec{Spec::KaimingUniform, a, 0, std::move(mode), std::move(nonlinearity)};
}
Spec kaiming_normal(double a, std::string mode, std::string nonlinearity) {
  return Spec{Spec::KaimingNormal, a, 0, std::move(mode), std::move(nonlinearity)};
}

double calculate_gain(const std::string& nonlinearity, std::optional<double> param) {
  for (const char* linear : {"linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                             "conv_transpose2d", "conv_transpose3d", "sigmoid"}) {
    if (nonlinearity == linear) return 1.0;
  }
  if (nonlinearity == "tanh") return 5.0 / 3.0;
  if (nonlinearity == "relu") return std::sqrt(2.0);
  if (nonlinearity == "leaky_relu") {
    double slope = param.value_or(0.01);
    return std::sqrt(2.0 / (1.0 + slope * slope));
  }
  if (nonlinearity == "selu") return 3.0 / 4.0;
  detail::fail("calculate_gain: unsupported nonlinearity '" + nonlinearity +
               "' (linear, conv1d/2d/3d, conv_transpose1d/2d/3d, sigmoid, tanh, relu, leaky_relu, selu)");
}

namespace {

/// torch's _calculate_fan_in_and_fan_out.
std::pair<double, double> fans(const Shape& shape, const std::string& what) {
  if (shape.size() < 2) {
    detail::fail(what + ": fan in and fan out can not be computed for a parameter with fewer than 2 "
                        "dimensions (shape " + shape_str(shape) + "), as in torch");
  }
  double receptive = 1;
  for (size_t d = 2; d < shape.size(); ++d) receptive *= static_cast<double>(shape[d]);
  return {static_cast<double>(shape[1]) * receptive, static_cast<double>(shape[0]) * receptive};
}

double kaimingStd(const Spec& spec, const Shape& shape, const std::string& what) {
  auto [fan_in, fan_out] = fans(shape, what);
  if (spec.mode != "fan_in" && spec.mode != "fan_out") {
    detail::fail(what + ": kaiming mode '" + spec.mode + "' is not fan_in or fan_out");
  }
  double fan = spec.mode == "fan_in" ? fan_in : fan_out;
  return calculate_gain(spec.nonlinearity, spec.a) / std::sqrt(fan);
}

}  // namespace

Spec resolve(const Spec& spec, const Shape& shape, const std::string& what) {
  Spec out = spec;
  switch (spec.kind) {
    case Spec::Zeros:
    case Spec::Ones:
      return out;
    case Spec::Constant:
      break;
    case Spec::Uniform:
      if (spec.a > spec.b) detail::fail(what + ": uniform's lower bound is above its upper bound");
      break;
    case Spec::Normal:
      if (spec.b < 0) detail::fail(what + ": normal's std must be >= 0");
      break;
    case Spec::XavierUniform:
    case Spec::XavierNormal: {
      if (spec.a < 0) detail::fail(what + ": xavier's gain must be >= 0");
      auto [fan_in, fan_out] = fans(shape, what);
      double std = spec.a * std::sqrt(2.0 / (fan_in + fan_out));
      double bound = std::sqrt(3.0) * std;
      out = spec.kind == Spec::XavierUniform ? uniform(-bound, bound) : normal(0, std);
      break;
    }
    case Spec::KaimingUniform: {
      double bound = std::sqrt(3.0) * kaimingStd(spec, shape, what);
      out = uniform(-bound, bound);
      break;
    }
    case Spec::KaimingNormal:
      out = normal(0, kaimingStd(spec, shape, what));
      break;
  }
  if (!std::isfinite(out.a) || !std::isfinite(out.b)) {
    detail::fail(what + ": the initializer's numbers must be finite");
  }
  return out;
}

}  // namespace kiln::nn::init
