// kiln_ctc_loss_forward / _backward against an independent oracle: the sum
// over every alignment, enumerated by brute force in double (tiny T and S),
// and its finite-difference derivative. torch's gradient formula is the
// derivative plus exp(log_probs) (kiln/runtime.h); the test subtracts that
// term. Random sizes, lengths (including empty targets, impossible
// alignments, repeated labels) and thread counts.
#include "kiln/runtime.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <vector>

namespace {

struct Case {
  int64_t t, n, c, s, blank;
  bool zero_infinity;
  std::vector<float> lp;  // [T, N, C]
  std::vector<int64_t> targets, il, tl;
  std::vector<int64_t> params() const {
    return {t, n, c, s, blank, zero_infinity ? 1 : 0, 0};
  }
};

Case randomCase(std::mt19937 &rng) {
  auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  Case k;
  k.t = uniform(1, 6);
  k.n = uniform(1, 4);
  k.c = uniform(2, 4);
  k.s = uniform(1, 3);
  k.blank = uniform(0, k.c - 1);
  k.zero_infinity = uniform(0, 1) == 1;
  std::normal_distribution<float> normal;
  k.lp.resize(k.t * k.n * k.c);
  for (float &v : k.lp)
    v = normal(rng) - 1.0f; // not normalised: the formula must not assume it
  for (int64_t i = 0; i < k.n * k.s; ++i) {
    // Labels other than the blank (the enumeration's collapse drops blanks);
    // few classes, so repeats (which need a blank between) occur.
    int64_t label = uniform(0, k.c - 2);
    k.targets.push_back(label >= k.blank ? label + 1 : label);
  }
  for (int64_t b = 0; b < k.n; ++b) {
    k.il.push_back(uniform(1, k.t));
    k.tl.push_back(uniform(0, k.s));
  }
  return k;
}

/* -log sum over alignments pi of length il that collapse to the target
 * (repeats merged, then blanks removed) of exp(sum lp[t, pi_t]). */
double bruteForceNll(const Case &k, const std::vector<double> &lp, int64_t b) {
  int64_t il = k.il[b], tl = k.tl[b];
  std::vector<int64_t> target(k.targets.begin() + b * k.s,
                              k.targets.begin() + b * k.s + tl);
  double total = 0.0;
  std::vector<int64_t> path(il, 0);
  std::function<void(int64_t)> visit = [&](int64_t t) {
    if (t == il) {
      std::vector<int64_t> collapsed;
      for (int64_t i = 0; i < il; ++i)
        if (path[i] != k.blank && (i == 0 || path[i] != path[i - 1]))
          collapsed.push_back(path[i]);
      if (collapsed != target)
        return;
      double logp = 0.0;
      for (int64_t i = 0; i < il; ++i)
        logp += lp[(i * k.n + b) * k.c + path[i]];
      total += std::exp(logp);
      return;
    }
    for (int64_t c = 0; c < k.c; ++c) {
      path[t] = c;
      visit(t + 1);
    }
  };
  visit(0);
  return -std::log(total);
}

TEST(RuntimeCtc, MatchesAlignmentEnumeration) {
  std::mt19937 rng(7);
  for (int i = 0; i < 60; ++i) {
    Case k = randomCase(rng);
    SCOPED_TRACE(testing::Message() << "case " << i << " T " << k.t << " N " << k.n
                                    << " C " << k.c << " S " << k.s << " blank "
                                    << k.blank);
    kiln_set_num_threads(1 + i % 3);
    std::vector<int64_t> params = k.params();
    std::vector<float> loss(k.n, NAN);
    kiln_ctc_loss_forward(params.data(), k.lp.data(), k.targets.data(),
                          k.il.data(), k.tl.data(), loss.data());
    std::vector<double> lp(k.lp.begin(), k.lp.end());
    std::vector<float> grad_loss(k.n);
    for (int64_t b = 0; b < k.n; ++b)
      grad_loss[b] = 0.5f + float(b);
    std::vector<float> grad(k.lp.size(), NAN);
    kiln_ctc_loss_backward(params.data(), k.lp.data(), k.targets.data(),
                           k.il.data(), k.tl.data(), grad_loss.data(),
                           grad.data());
    for (int64_t b = 0; b < k.n; ++b) {
      double want = bruteForceNll(k, lp, b);
      bool impossible = std::isinf(want);
      if (impossible) {
        EXPECT_EQ(loss[b], k.zero_infinity ? 0.0f : INFINITY) << "sample " << b;
      } else {
        EXPECT_NEAR(loss[b], want, 2e-5 * (1 + std::fabs(want))) << "sample " << b;
      }
      for (int64_t t = 0; t < k.t; ++t)
        for (int64_t c = 0; c < k.c; ++c) {
          size_t at = (t * k.n + b) * k.c + c;
          if (t >= k.il[b] || (impossible && k.zero_infinity)) {
            EXPECT_EQ(grad[at], 0.0f) << "t " << t << " sample " << b;
            continue;
          }
          if (impossible)
            continue; // torch's NaN
          std::vector<double> up = lp, down = lp;
          up[at] += 1e-4;
          down[at] -= 1e-4;
          double derivative = (bruteForceNll(k, up, b) - bruteForceNll(k, down, b)) / 2e-4;
          double got = grad[at] / grad_loss[b] - std::exp(double(k.lp[at]));
          EXPECT_NEAR(got, derivative, 1e-3 * (1 + std::fabs(derivative)))
              << "t " << t << " c " << c << " sample " << b;
        }
    }
  }
  kiln_set_num_threads(1);
}

// torch's concatenated 1-D targets (params[6] = 1): each sample's labels
// start where the previous sample's end; the same losses and gradients,
// bit for bit, as the padded [N, S] form of the same labels. Lengths that
// add up to more than the labels (refused by the runtime's value check
// after the kernel) read no label past them (ASan would say).
TEST(RuntimeCtc, ConcatenatedTargetsEqualPadded) {
  std::mt19937 rng(11);
  for (int i = 0; i < 30; ++i) {
    Case k = randomCase(rng);
    std::vector<int64_t> flat;
    for (int64_t b = 0; b < k.n; ++b)
      for (int64_t j = 0; j < k.tl[b]; ++j)
        flat.push_back(k.targets[b * k.s + j]);
    if (flat.empty())
      continue; // S >= 1 labels
    std::vector<int64_t> padded = k.params(), concatenated = padded;
    concatenated[3] = static_cast<int64_t>(flat.size());
    concatenated[6] = 1;
    std::vector<float> a(k.n), b(k.n), grad_loss(k.n, 1.0f);
    std::vector<float> ga(k.lp.size()), gb(k.lp.size());
    kiln_ctc_loss_forward(padded.data(), k.lp.data(), k.targets.data(), k.il.data(),
                          k.tl.data(), a.data());
    kiln_ctc_loss_forward(concatenated.data(), k.lp.data(), flat.data(), k.il.data(),
                          k.tl.data(), b.data());
    kiln_ctc_loss_backward(padded.data(), k.lp.data(), k.targets.data(), k.il.data(),
                           k.tl.data(), grad_loss.data(), ga.data());
    kiln_ctc_loss_backward(concatenated.data(), k.lp.data(), flat.data(), k.il.data(),
                           k.tl.data(), grad_loss.data(), gb.data());
    for (int64_t s = 0; s < k.n; ++s)
      EXPECT_EQ(std::memcmp(&a[s], &b[s], sizeof(float)), 0) << "case " << i << " sample " << s;
    EXPECT_EQ(std::memcmp(ga.data(), gb.data(), ga.size() * sizeof(float)), 0) << "case " << i;
    // Lengths adding up past the labels: no read past them.
    std::vector<int64_t> longer(k.tl.begin(), k.tl.end());
    for (int64_t &l : longer)
      l = concatenated[3];
    std::vector<int64_t> exact(flat.begin(), flat.end());
    kiln_ctc_loss_forward(concatenated.data(), k.lp.data(), exact.data(), k.il.data(),
                          longer.data(), b.data());
  }
}

} // namespace
