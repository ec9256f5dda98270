/* kiln_ctc_loss_forward / _backward: the CTC loss (torch.nn.CTCLoss) as
 * runtime routines that generated code calls (passes/LowerLosses' CTC
 * patterns emit the nn.library_call).
 *
 * Why a routine and not generated loops: the forward-backward recursions run
 * over time with a data-dependent extent (each sample's input and target
 * length) and read the targets to pick each step's label; linalg has no
 * structured form for that, and the work (T x N x (2 S + 1) log-sum-exps) is
 * small beside the network that produces log_probs.
 *
 * Numerics follow torch 1.13's CPU kernel (aten/src/ATen/native/LossCTC.cpp):
 * float arithmetic, log(exp(a - m) + exp(b - m) + exp(c - m)) + m with m the
 * largest term (0 when all are -inf), the same recursion order, and its
 * gradient formula (the logits' gradient under a log_softmax; see
 * kiln/runtime.h). Samples are independent: they are the parallel tasks, and
 * results do not depend on the number of threads. */
#include "kiln/runtime.h"
#include "workers.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <vector>

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

struct Ctc {
  int64_t t_max, n, c, s_max, blank;
  bool zero_infinity, concatenated;
  const float *lp;
  const int64_t *targets, *input_lengths, *target_lengths;
  const float *grad_loss = nullptr;
  float *out = nullptr;
  std::atomic<int64_t> next{0};
  /* Where sample b's labels start in targets: b * S padded, the sum of the
   * earlier target lengths concatenated. */
  std::vector<int64_t> offset;

  Ctc(const int64_t *p, const float *log_probs, const int64_t *tg,
      const int64_t *il, const int64_t *tl)
      : t_max(p[0]), n(p[1]), c(p[2]), s_max(p[3]), blank(p[4]),
        zero_infinity(p[5] != 0), concatenated(p[6] != 0), lp(log_probs), targets(tg),
        input_lengths(il), target_lengths(tl), offset(n) {
    for (int64_t b = 0, at = 0; b < n; ++b) {
      offset[b] = concatenated ? at : b * s_max;
      at += target_lengths[b];
    }
  }

  /* log_probs[t, b, :]. */
  const float *probs(int64_t t, int64_t b) const { return lp + (t * n + b) * c; }
  /* The extended label l'(s) of sample b: blank at even s. Concatenated
   * labels past S (lengths that add up to more, which the runtime's value
   * check refuses after the kernel) read the last label instead of past
   * the buffer. */
  int64_t label(int64_t b, int64_t s) const {
    if (s % 2 == 0)
      return blank;
    int64_t at = offset[b] + s / 2;
    const int64_t size = concatenated ? s_max : n * s_max;
    return targets[at < size ? at : size - 1];
  }
};

/* log(exp(a) + exp(b) + exp(c)) as torch writes it. */
float log_sum_exp3(float a, float b, float c) {
  float m = std::max(a, std::max(b, c));
  if (m == kNegInf)
    m = 0;
  return std::log(std::exp(a - m) + std::exp(b - m) + std::exp(c - m)) + m;
}

/* alpha [il, 2 tl + 1] of sample b (eq. 6 of Graves et al.); returns the
 * negative log-likelihood. */
float forward_variables(const Ctc &k, int64_t b, float *alpha) {
  int64_t il = k.input_lengths[b], tl = k.target_lengths[b], width = 2 * tl + 1;
  for (int64_t s = 0; s < width; ++s)
    alpha[s] = kNegInf;
  alpha[0] = k.probs(0, b)[k.blank];
  if (tl > 0)
    alpha[1] = k.probs(0, b)[k.label(b, 1)];
  for (int64_t t = 1; t < il; ++t) {
    const float *prev = alpha + (t - 1) * width, *p = k.probs(t, b);
    float *cur = alpha + t * width;
    for (int64_t s = 0; s < width; ++s) {
      float a1 = prev[s];
      float a2 = s > 0 ? prev[s - 1] : kNegInf;
      float a3 = s > 1 && k.label(b, s - 2) != k.label(b, s) ? prev[s - 2] : kNegInf;
      cur[s] = log_sum_exp3(a1, a2, a3) + p[k.label(b, s)];
    }
  }
  const float *last = alpha + (il - 1) * width;
  if (tl == 0)
    return -last[0];
  float l1 = last[2 * tl], l2 = last[2 * tl - 1];
  float m = std::max(l1, l2);
  if (m == kNegInf)
    m = 0;
  return -(std::log(std::exp(l1 - m) + std::exp(l2 - m)) + m);
}

/* One sample's scratch: alpha and beta, [T, 2 S + 1] each. */
struct Scratch {
  std::vector<float> alpha, beta, collected;
};

void forward_task(int64_t, int64_t, void *ctx) {
  Ctc &k = *static_cast<Ctc *>(ctx);
  Scratch scratch;
  scratch.alpha.resize(k.t_max * (2 * k.s_max + 1));
  for (int64_t b = k.next.fetch_add(1); b < k.n; b = k.next.fetch_add(1)) {
    float nll = forward_variables(k, b, scratch.alpha.data());
    k.out[b] = k.zero_infinity && std::isinf(nll) ? 0.0f : nll;
  }
}

void backward_task(int64_t, int64_t, void *ctx) {
  Ctc &k = *static_cast<Ctc *>(ctx);
  Scratch sc;
  sc.alpha.resize(k.t_max * (2 * k.s_max + 1));
  sc.beta.resize(k.t_max * (2 * k.s_max + 1));
  sc.collected.resize(k.t_max * k.c);
  for (int64_t b = k.next.fetch_add(1); b < k.n; b = k.next.fetch_add(1)) {
    int64_t il = k.input_lengths[b], tl = k.target_lengths[b], width = 2 * tl + 1;
    float nll = forward_variables(k, b, sc.alpha.data());
    for (int64_t t = 0; t < k.t_max; ++t)
      std::fill_n(k.out + (t * k.n + b) * k.c, k.c, 0.0f);
    if (k.zero_infinity && std::isinf(nll))
      continue;
    const float *alpha = sc.alpha.data();
    float *beta = sc.beta.data(), *lcab = sc.collected.data();
    std::fill_n(lcab, il * k.c, kNegInf);
    /* log(exp(lcab) + exp(v)) into lcab, as torch accumulates. */
    auto collect = [](float &acc, float v) {
      if (acc == kNegInf) {
        acc = v;
      } else {
        float m = std::max(acc, v);
        acc = std::log(std::exp(acc - m) + std::exp(v - m)) + m;
      }
    };
    float *last = beta + (il - 1) * width;
    std::fill_n(last, width, kNegInf);
    const float *p_last = k.probs(il - 1, b);
    last[2 * tl] = p_last[k.blank];
    lcab[(il - 1) * k.c + k.blank] = alpha[(il - 1) * width + 2 * tl] + last[2 * tl];
    if (tl > 0) {
      int64_t l = k.label(b, 2 * tl - 1);
      last[2 * tl - 1] = p_last[l];
      /* A blank and a label: different entries, no log-add needed. */
      lcab[(il - 1) * k.c + l] = alpha[(il - 1) * width + 2 * tl - 1] + last[2 * tl - 1];
    }
    for (int64_t t = il - 2; t >= 0; --t) {
      const float *next = beta + (t + 1) * width, *p = k.probs(t, b);
      float *cur = beta + t * width;
      for (int64_t s = 2 * tl; s >= 0; --s) {
        int64_t l = k.label(b, s);
        float b1 = next[s];
        float b2 = s < 2 * tl ? next[s + 1] : kNegInf;
        float b3 = s < 2 * tl - 1 && k.label(b, s + 2) != l ? next[s + 2] : kNegInf;
        cur[s] = log_sum_exp3(b1, b2, b3) + p[l];
        collect(lcab[t * k.c + l], alpha[t * width + s] + cur[s]);
      }
    }
    float g = k.grad_loss[b];
    for (int64_t t = 0; t < il; ++t) {
      const float *p = k.probs(t, b);
      float *out = k.out + (t * k.n + b) * k.c;
      for (int64_t c = 0; c < k.c; ++c)
        out[c] = (std::exp(p[c]) - std::exp(lcab[t * k.c + c] + nll - p[c])) * g;
    }
  }
}

void run(Ctc &k, void (*task)(int64_t, int64_t, void *)) { kiln::rt::run_workers(k.n, task, &k); }

} // namespace

extern "C" void kiln_ctc_loss_forward(const int64_t *params,
                                      const float *log_probs,
                                      const int64_t *targets,
                                      const int64_t *input_lengths,
                                      const int64_t *target_lengths,
                                      float *loss) {
  Ctc k(params, log_probs, targets, input_lengths, target_lengths);
  k.out = loss;
  run(k, forward_task);
}

extern "C" void kiln_ctc_loss_backward(const int64_t *params,
                                       const float *log_probs,
                                       const int64_t *targets,
                                       const int64_t *input_lengths,
                                       const int64_t *target_lengths,
                                       const float *grad_loss,
                                       float *grad_log_probs) {
  Ctc k(params, log_probs, targets, input_lengths, target_lengths);
  k.grad_loss = grad_loss;
  k.out = grad_log_probs;
  run(k, backward_task);
}
