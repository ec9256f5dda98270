#pragma once

#include <optional>
#include <string>

#include "kiln/tensor.h"

/// How a module's own parameter starts: torch.nn.init's initializers
/// (`kiln::nn::init::normal(0, 0.02)` for `nn.init.normal_(p, 0, 0.02)`).
/// The model file holds numbers only (zeros, ones, constant, uniform,
/// normal); the shape-dependent ones (xavier_*, kaiming_*) are reduced to
/// their bounds from the parameter's shape when the model is saved, with
/// torch's fan and gain formulas.
namespace kiln::nn::init {

struct Spec {
  enum Kind {
    Zeros, Ones, Constant, Uniform, Normal,
    XavierUniform, XavierNormal, KaimingUniform, KaimingNormal
  };
  Kind kind = Zeros;
  /// Constant: the value; Uniform: [a, b); Normal: mean a, std b; Xavier*:
  /// gain a; Kaiming*: torch's `a` (leaky_relu's negative slope) in a.
  double a = 0, b = 0;
  /// Kaiming*: "fan_in" or "fan_out", and torch's `nonlinearity`.
  std::string mode = "fan_in", nonlinearity = "leaky_relu";
};

Spec zeros();
Spec ones();
Spec constant(double value);
/// U(a, b), torch's uniform_(a=0, b=1).
Spec uniform(double a = 0, double b = 1);
/// N(mean, std^2), torch's normal_(mean=0, std=1) (torch.randn: the default).
Spec normal(double mean = 0, double std = 1);
/// U(+-gain * sqrt(6 / (fan_in + fan_out))).
Spec xavier_uniform(double gain = 1);
/// N(0, gain^2 * 2 / (fan_in + fan_out)).
Spec xavier_normal(double gain = 1);
/// U(+-gain * sqrt(3 / fan)), gain = calculate_gain(nonlinearity, a).
Spec kaiming_uniform(double a = 0, std::string mode = "fan_in",
                     std::string nonlinearity = "leaky_relu");
/// N(0, gain^2 / fan).
Spec kaiming_normal(double a = 0, std::string mode = "fan_in",
                    std::string nonlinearity = "leaky_relu");

/// torch.nn.init.calculate_gain: linear, conv1d/2d/3d, conv_transpose1d/2d/3d
/// and sigmoid 1, tanh 5/3, relu sqrt(2), leaky_relu sqrt(2 / (1 + slope^2))
/// (slope: `param`, 0.01 without one, as torch), selu 3/4. Throws Error for
/// another name.
double calculate_gain(const std::string& nonlinearity, std::optional<double> param = std::nullopt);

/// `spec` reduced to the model file's kinds (Zeros, Ones, Constant, Uniform,
/// Normal) for a parameter of `shape`. Throws Error (naming `what`) when a
/// fan-based initializer meets fewer than two dimensions, as torch does, or
/// a bound is not finite.
Spec resolve(const Spec& spec, const Shape& shape, const std::string& what);

}  // namespace kiln::nn::init
