#include "random.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace kiln::rt {
namespace {

uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

} // namespace

Rng::Rng(uint64_t seed, uint64_t domain, uint64_t index) {
  // Chain the three keys through the mixer so that nearby (seed, index)
  // pairs give unrelated states.
  uint64_t key = seed;
  key = splitmix64(&key) ^ domain;
  key = splitmix64(&key) ^ index;
  key = splitmix64(&key);
  for (uint64_t &word : s_)
    word = splitmix64(&key);
}

uint64_t Rng::next() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Rng::uniform01() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

void fill_init(const Init &init, Rng &rng, float *dst, int64_t n) {
  switch (init.kind) {
  case Init::Zeros:
  case Init::Ones: {
    const float value = init.kind == Init::Ones ? 1.0f : 0.0f;
    for (int64_t i = 0; i < n; ++i)
      dst[i] = value;
    return;
  }
  case Init::Constant:
    for (int64_t i = 0; i < n; ++i)
      dst[i] = static_cast<float>(init.a);
    return;
  case Init::Uniform: {
    // Bounds are taken as f32 first so that the result, rounded to f32, can
    // be clamped into [lo, hi) exactly.
    const float lo = static_cast<float>(init.a);
    const float hi = static_cast<float>(init.b);
    const float below_hi =
        lo < hi ? std::nextafter(hi, -std::numeric_limits<float>::infinity())
                : lo;
    for (int64_t i = 0; i < n; ++i) {
      float v = static_cast<float>(lo + (static_cast<double>(hi) - lo) *
                                            rng.uniform01());
      dst[i] = v < hi ? v : below_hi;
    }
    return;
  }
  case Init::NormOf: // made from another tensor (model.cpp)
  case Init::Empty:  // left as it is (model.cpp)
    return;
  case Init::UnitNormal: {
    fill_init(Init{Init::Normal, 0.0, 1.0}, rng, dst, n);
    double sum = 0;
    for (int64_t i = 0; i < n; ++i)
      sum += static_cast<double>(dst[i]) * dst[i];
    const double norm = std::max(std::sqrt(sum), init.a);
    for (int64_t i = 0; i < n; ++i)
      dst[i] = static_cast<float>(dst[i] / norm);
    return;
  }
  case Init::Normal: {
    const double two_pi = 6.283185307179586476925286766559;
    for (int64_t i = 0; i < n; i += 2) {
      const double u1 = 1.0 - rng.uniform01(); // (0, 1]: log(u1) is finite
      const double u2 = rng.uniform01();
      const double r = std::sqrt(-2.0 * std::log(u1));
      dst[i] = static_cast<float>(init.a + init.b * r * std::cos(two_pi * u2));
      if (i + 1 < n)
        dst[i + 1] =
            static_cast<float>(init.a + init.b * r * std::sin(two_pi * u2));
    }
    return;
  }
  }
}

} // namespace kiln::rt
