/* torch.optim.LBFGS (1.13) as an optimizer driver (KILN_OPTIMIZER_LBFGS).
 *
 * Why the runtime runs it: one LBFGS step calls its closure (loss and
 * gradients) a data-dependent number of times: up to max_iter iterations,
 * each with a fixed step or a strong-Wolfe line search that brackets and
 * zooms. The compiled part is the closure itself, the model's gradients
 * kernel; what is left are O(N) vector operations on the flat parameters
 * and O(history * N) for the two-loop recursion, memory-bound loops that a
 * compiled version would not make faster. The driver works on host memory:
 * the instance's own buffers on the CPU device; on a device without host
 * memory (CUDA) host copies of torch's state for the step, the flat
 * gradient copied back after each evaluation, and each parameter update a
 * copy there and back (O(N) per evaluation beside a whole forward and
 * backward).
 *
 * Numerics follow torch's step operation for operation: what torch keeps in
 * float32 tensors (directions, gradients, dot products, ys, ro, H_diag, the
 * first step's 1 / |g|_1) is rounded to float here, what it keeps in Python
 * floats (the losses, lr, the line search's step lengths) stays double.
 * Dot products and sums accumulate in double (torch's BLAS accumulates in
 * float, in another order): a difference in the last bits that parity
 * tests allow for. */
#include "instance.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace kiln::rt {
namespace {

double dot(const float *a, const float *b, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i)
    s += static_cast<double>(a[i]) * b[i];
  return s;
}

/* torch's a.dot(b): a float32 scalar. */
float fdot(const float *a, const float *b, int64_t n) {
  return static_cast<float>(dot(a, b, n));
}

float abs_max(const float *a, int64_t n) {
  float m = 0;
  for (int64_t i = 0; i < n; ++i)
    m = std::max(m, std::fabs(a[i]));
  return m;
}

/* x.add_(y, alpha=a) for float32 x, y: torch's vectorized kernel is a fused
 * multiply-add with alpha rounded to float. */
void axpy(float *x, float a, const float *y, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    x[i] = std::fma(a, y[i], x[i]);
}

/* torch's _cubic_interpolate: the minimiser of the cubic through (x1, f1)
 * and (x2, f2) with slopes g1, g2, clamped to the bounds (default: the
 * interval); the bounds' midpoint when the cubic has no real minimum. The
 * slopes are float32 tensors in torch, which makes d1, d2 and the
 * minimiser float32 arithmetic; the positions and losses are Python
 * floats. */
double cubic_interpolate(double x1, double f1, float g1, double x2, double f2, float g2,
                         const double *bounds = nullptr) {
  double lo = x1 <= x2 ? x1 : x2, hi = x1 <= x2 ? x2 : x1;
  if (bounds) {
    lo = bounds[0];
    hi = bounds[1];
  }
  const float d1 = (g1 + g2) - static_cast<float>(3 * (f1 - f2) / (x1 - x2));
  const float d2_square = d1 * d1 - g1 * g2;
  if (d2_square >= 0) {
    const float d2 = std::sqrt(d2_square);
    const float min_pos =
        x1 <= x2 ? static_cast<float>(x2) - static_cast<float>(x2 - x1) *
                                                ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
                 : static_cast<float>(x1) - static_cast<float>(x1 - x2) *
                                                ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
    // min(max(min_pos, lo), hi) as Python evaluates it: max keeps its
    // first argument unless a later one is greater, min unless smaller.
    const double clamped = lo > min_pos ? lo : static_cast<double>(min_pos);
    return hi < clamped ? hi : clamped;
  }
  return (lo + hi) / 2;
}

/* The sufficient-decrease (Armijo) test f_new > f + c1 t gtd, in float32
 * as torch evaluates it with gtd a float32 tensor. */
bool above_armijo(double f_new, double f, double c1, double t, float gtd) {
  const float rhs = static_cast<float>(f) + static_cast<float>(c1 * t) * gtd;
  return static_cast<float>(f_new) > rhs;
}

/* The curvature test |gtd_new| <= -c2 gtd, float32 like torch's. */
bool curvature_ok(float gtd_new, double c2, float gtd) {
  return std::fabs(gtd_new) <= static_cast<float>(-c2) * gtd;
}

/* One LBFGS step over an instance: its parameters as one flat vector (in
 * parameter order, as torch's _gather_flat_grad concatenates them), its
 * closure, and torch's state tensors. */
class Lbfgs {
public:
  Lbfgs(kiln_model *m, const void *const *inputs, const void *target, bool device_pointers)
      : m(m), spec(spec_of(m)), l(spec.lbfgs), n(l.numel), inputs(inputs), target(target),
        device_pointers(device_pointers) {}

  Error step(float *out_loss) {
    // torch's state in place on the host, else host copies written back
    // after a step that succeeded.
    std::vector<std::vector<float>> copies;
    for (int i = 0; i < LbfgsSpec::kNumStates; ++i) {
      state[i] = static_cast<float *>(host_current(m, l.state[i]));
      if (state[i])
        continue;
      copies.emplace_back(static_cast<size_t>(spec.tensors[l.state[i]].numel));
      if (Error e = read_tensor_of(m, l.state[i], copies.back().data()))
        return e;
      state[i] = copies.back().data();
    }
    const double lr = group_lr(m, 0);

    // A later evaluation can fail only where a value check depends on the
    // parameters the step tries (BCELoss's input being a model output):
    // keep what the step changes, to undo it then. The first evaluation
    // refuses a bad batch before anything changed.
    if (!spec.checks.empty())
      if (Error e = take_snapshot(m, &snapshot))
        return e;
    float orig_loss = 0;
    if (Error e = run_gradients(m, inputs, target, "kiln_model_train_step", &orig_loss,
                                device_pointers))
      return e;
    *out_loss = orig_loss; // this process's, as torch's step returns the closure's
    std::vector<float> flat_grad(n);
    Error failed = gather_grad(flat_grad.data());
    if (!failed)
      failed = average(&orig_loss, flat_grad.data());
    if (!failed)
      failed = run(orig_loss, flat_grad, lr);
    if (failed) {
      if (!snapshot.tensors.empty())
        (void)restore_snapshot(m, snapshot); // the first error is the one to report
      return failed;
    }
    for (int i = 0; i < LbfgsSpec::kNumStates; ++i)
      if (!host_current(m, l.state[i]))
        if (Error e = write_tensor_of(m, l.state[i], state[i]))
          return e;
    int64_t step = 0;
    if (Error e = read_tensor_of(m, spec.step, &step))
      return e;
    ++step;
    return write_tensor_of(m, spec.step, &step);
  }

private:
  /* torch's step after the first closure call, on torch's state (the
   * instance's buffers: `state`). */
  Error run(float orig_loss, std::vector<float> &flat_grad, double lr) {
    float *d = state[LbfgsSpec::kD], *old_dirs = state[LbfgsSpec::kOldDirs],
          *old_stps = state[LbfgsSpec::kOldStps], *ro = state[LbfgsSpec::kRo],
          *prev_flat_grad = state[LbfgsSpec::kPrevFlatGrad];
    float &num_old_f = *state[LbfgsSpec::kNumOld], &h_diag = *state[LbfgsSpec::kHDiag],
          &prev_loss = *state[LbfgsSpec::kPrevLoss], &n_iter_total = *state[LbfgsSpec::kNIter],
          &func_evals = *state[LbfgsSpec::kFuncEvals], &t_state = *state[LbfgsSpec::kT];
    double loss = orig_loss;
    int64_t current_evals = 1;
    func_evals += 1;
    if (abs_max(flat_grad.data(), n) <= static_cast<float>(l.tolerance_grad))
      return {}; // optimal: torch returns before touching the rest of its state
    double t = t_state;
    int64_t num_old = static_cast<int64_t>(num_old_f);
    std::vector<float> y(n), s(n), al(static_cast<size_t>(l.history_size));
    bool opt_cond = false;
    for (int64_t n_iter = 1; n_iter <= l.max_iter; ++n_iter) {
      n_iter_total += 1;
      // The descent direction.
      if (n_iter_total == 1) {
        for (int64_t i = 0; i < n; ++i)
          d[i] = -flat_grad[i];
        num_old = 0;
        h_diag = 1;
      } else {
        const float tf = static_cast<float>(t);
        for (int64_t i = 0; i < n; ++i) {
          y[i] = flat_grad[i] - prev_flat_grad[i];
          s[i] = d[i] * tf;
        }
        const float ys = fdot(y.data(), s.data(), n);
        if (ys > 1e-10f) {
          if (num_old == l.history_size) { // drop the oldest pair
            std::memmove(old_dirs, old_dirs + n, sizeof(float) * n * (num_old - 1));
            std::memmove(old_stps, old_stps + n, sizeof(float) * n * (num_old - 1));
            std::memmove(ro, ro + 1, sizeof(float) * (num_old - 1));
            --num_old;
          }
          std::memcpy(old_dirs + num_old * n, y.data(), sizeof(float) * n);
          std::memcpy(old_stps + num_old * n, s.data(), sizeof(float) * n);
          ro[num_old] = 1.0f / ys;
          ++num_old;
          h_diag = ys / fdot(y.data(), y.data(), n);
        }
        // The two-loop recursion, in d (torch's q, then r).
        for (int64_t i = 0; i < n; ++i)
          d[i] = -flat_grad[i];
        for (int64_t i = num_old - 1; i >= 0; --i) {
          al[i] = fdot(old_stps + i * n, d, n) * ro[i];
          axpy(d, -al[i], old_dirs + i * n, n);
        }
        for (int64_t i = 0; i < n; ++i)
          d[i] *= h_diag;
        for (int64_t i = 0; i < num_old; ++i) {
          const float be_i = fdot(old_dirs + i * n, d, n) * ro[i];
          axpy(d, al[i] - be_i, old_stps + i * n, n);
        }
      }
      std::memcpy(prev_flat_grad, flat_grad.data(), sizeof(float) * n);
      prev_loss = static_cast<float>(loss);

      // The step length: the first iteration ever scales by 1 / |g|_1.
      if (n_iter_total == 1) {
        double sum = 0;
        for (int64_t i = 0; i < n; ++i)
          sum += std::fabs(flat_grad[i]);
        const float inv = 1.0f / static_cast<float>(sum);
        t = inv < 1.0f ? static_cast<double>(inv * static_cast<float>(lr)) : lr;
      } else {
        t = lr;
      }
      const float gtd = fdot(flat_grad.data(), d, n);
      if (gtd > static_cast<float>(-l.tolerance_change))
        break;

      int64_t ls_func_evals = 0;
      if (l.strong_wolfe) {
        std::vector<float> x_init;
        if (Error e = params(&x_init))
          return e;
        if (Error e = strong_wolfe(x_init, t, d, loss, flat_grad, gtd, &ls_func_evals))
          return e;
        if (Error e = add_grad(t, d))
          return e;
        opt_cond = abs_max(flat_grad.data(), n) <= static_cast<float>(l.tolerance_grad);
      } else {
        if (Error e = add_grad(t, d))
          return e;
        if (n_iter != l.max_iter) {
          float f = 0;
          if (Error e = evaluate(&f, flat_grad.data()))
            return e;
          loss = f;
          opt_cond = abs_max(flat_grad.data(), n) <= static_cast<float>(l.tolerance_grad);
          ls_func_evals = 1;
        }
      }
      current_evals += ls_func_evals;
      func_evals += static_cast<float>(ls_func_evals);

      if (n_iter == l.max_iter || current_evals >= l.max_eval || opt_cond)
        break;
      const float tf = static_cast<float>(t);
      float change = 0;
      for (int64_t i = 0; i < n; ++i)
        change = std::max(change, std::fabs(d[i] * tf));
      if (change <= static_cast<float>(l.tolerance_change))
        break;
      if (std::fabs(loss - static_cast<double>(prev_loss)) < l.tolerance_change)
        break;
    }
    t_state = static_cast<float>(t);
    num_old_f = static_cast<float>(num_old);
    return {};
  }

  /* torch's _strong_wolfe from parameters x along d, starting at step t with
   * loss f, gradient g and directional derivative gtd; leaves the
   * parameters at x and returns the chosen t, its loss and gradient. */
  Error strong_wolfe(const std::vector<float> &x, double &t, const float *d, double &f,
                     std::vector<float> &g, float gtd, int64_t *evals) {
    const double c1 = 1e-4, c2 = 0.9;
    const int max_ls = 25;
    const float d_norm = abs_max(d, n);
    std::vector<float> g_new(n);
    double f_new = 0;
    if (Error e = directional_evaluate(x, t, d, &f_new, g_new.data()))
      return e;
    *evals = 1;
    float gtd_new = fdot(g_new.data(), d, n);

    double t_prev = 0, f_prev = f;
    std::vector<float> g_prev = g;
    float gtd_prev = gtd;
    bool done = false;
    int ls_iter = 0;
    double bracket[2] = {0, 0}, bracket_f[2] = {0, 0};
    float bracket_gtd[2] = {0, 0};
    std::vector<float> bracket_g[2];
    int bracket_size = 0;
    while (ls_iter < max_ls) {
      if (above_armijo(f_new, f, c1, t, gtd) || (ls_iter > 1 && f_new >= f_prev)) {
        bracket_size = 2;
        set_bracket(bracket, bracket_f, bracket_gtd, bracket_g, t_prev, f_prev, gtd_prev,
                    g_prev, t, f_new, gtd_new, g_new);
        break;
      }
      if (curvature_ok(gtd_new, c2, gtd)) {
        bracket_size = 1;
        bracket[0] = t;
        bracket_f[0] = f_new;
        bracket_g[0] = g_new;
        done = true;
        break;
      }
      if (gtd_new >= 0) {
        bracket_size = 2;
        set_bracket(bracket, bracket_f, bracket_gtd, bracket_g, t_prev, f_prev, gtd_prev,
                    g_prev, t, f_new, gtd_new, g_new);
        break;
      }
      // Extrapolate by cubic interpolation within [t + 0.01 (t - t_prev), 10 t].
      const double bounds[2] = {t + 0.01 * (t - t_prev), t * 10};
      const double tmp = t;
      t = cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds);
      t_prev = tmp;
      f_prev = f_new;
      g_prev = g_new;
      gtd_prev = gtd_new;
      if (Error e = directional_evaluate(x, t, d, &f_new, g_new.data()))
        return e;
      ++*evals;
      gtd_new = fdot(g_new.data(), d, n);
      ++ls_iter;
    }
    if (ls_iter == max_ls) { // no bracket found: [0, t]
      bracket_size = 2;
      bracket[0] = 0;
      bracket[1] = t;
      bracket_f[0] = f;
      bracket_f[1] = f_new;
      bracket_g[0] = g;
      bracket_g[1] = g_new;
      // torch leaves bracket_gtd unset here; the zoom below never reads it
      // because ls_iter == max_ls ends it at once.
    }

    // Zoom: shrink the bracket until a point satisfies the Wolfe conditions.
    bool insuf_progress = false;
    int low = 0, high = 1;
    if (bracket_size == 2 && !(bracket_f[0] <= bracket_f[1])) {
      low = 1;
      high = 0;
    }
    while (!done && ls_iter < max_ls) {
      if (std::fabs(bracket[1] - bracket[0]) * d_norm < l.tolerance_change)
        break;
      t = cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1],
                            bracket_gtd[1]);
      const double hi = std::max(bracket[0], bracket[1]), lo = std::min(bracket[0], bracket[1]);
      const double eps = 0.1 * (hi - lo);
      if (std::min(hi - t, t - lo) < eps) {
        if (insuf_progress || t >= hi || t <= lo) {
          t = std::fabs(t - hi) < std::fabs(t - lo) ? hi - eps : lo + eps;
          insuf_progress = false;
        } else {
          insuf_progress = true;
        }
      } else {
        insuf_progress = false;
      }
      if (Error e = directional_evaluate(x, t, d, &f_new, g_new.data()))
        return e;
      ++*evals;
      gtd_new = fdot(g_new.data(), d, n);
      ++ls_iter;
      if (above_armijo(f_new, f, c1, t, gtd) || f_new >= bracket_f[low]) {
        bracket[high] = t;
        bracket_f[high] = f_new;
        bracket_g[high] = g_new;
        bracket_gtd[high] = gtd_new;
        if (bracket_f[0] <= bracket_f[1]) {
          low = 0;
          high = 1;
        } else {
          low = 1;
          high = 0;
        }
      } else {
        if (curvature_ok(gtd_new, c2, gtd)) {
          done = true;
        } else if (gtd_new * (bracket[high] - bracket[low]) >= 0) {
          bracket[high] = bracket[low];
          bracket_f[high] = bracket_f[low];
          bracket_g[high] = bracket_g[low];
          bracket_gtd[high] = bracket_gtd[low];
        }
        bracket[low] = t;
        bracket_f[low] = f_new;
        bracket_g[low] = g_new;
        bracket_gtd[low] = gtd_new;
      }
    }
    t = bracket[low];
    f = bracket_f[low];
    g = bracket_g[low];
    return {};
  }

  static void set_bracket(double *bracket, double *bracket_f, float *bracket_gtd,
                          std::vector<float> *bracket_g, double t0, double f0, float gtd0,
                          const std::vector<float> &g0, double t1, double f1, float gtd1,
                          const std::vector<float> &g1) {
    bracket[0] = t0;
    bracket[1] = t1;
    bracket_f[0] = f0;
    bracket_f[1] = f1;
    bracket_gtd[0] = gtd0;
    bracket_gtd[1] = gtd1;
    bracket_g[0] = g0;
    bracket_g[1] = g1;
  }

  /* torch's _directional_evaluate: the loss and gradient at x + t d, then
   * the parameters back at x. */
  Error directional_evaluate(const std::vector<float> &x, double t, const float *d, double *f,
                             float *g) {
    if (Error e = add_grad(t, d))
      return e;
    float loss = 0;
    Error e = evaluate(&loss, g);
    Error restored = set_params(x);
    *f = loss;
    return e ? std::move(e) : std::move(restored);
  }

  /* The closure at the current parameters. */
  Error evaluate(float *loss, float *flat_grad) {
    if (Error e = run_gradients(m, inputs, target, "kiln_model_train_step", loss,
                                device_pointers))
      return e;
    if (Error e = gather_grad(flat_grad))
      return e;
    return average(loss, flat_grad);
  }

  /* A data-parallel build (--data-parallel): the closure's loss and flat
   * gradient averaged over the processes of the attached communicator, in
   * one all-reduce. Every process then takes the same decisions (the
   * line search's, the tolerances') on the same values, and they are
   * those of one process on the whole batch: the mean of the processes'
   * mean losses and its gradient. torch's DDP averages the gradients
   * only, so its processes may disagree on those decisions. Without a
   * communicator of several processes, nothing changes. */
  Error average(float *loss, float *flat_grad) {
    if (!spec.data_parallel)
      return {};
    closure.assign(flat_grad, flat_grad + n);
    closure.push_back(*loss);
    if (Error e = average_over_processes(m, closure.data(), n + 1, "kiln_model_train_step"))
      return e;
    std::copy(closure.begin(), closure.begin() + n, flat_grad);
    *loss = closure[static_cast<size_t>(n)];
    return {};
  }

  Error gather_grad(float *flat) {
    for (size_t p = 0; p < spec.params.size(); ++p) {
      if (Error e = read_gradient(m, static_cast<int>(p), flat))
        return e;
      flat += spec.tensors[spec.params[p]].numel;
    }
    return {};
  }

  /* torch's _add_grad: each parameter += t * its slice of d (in place on
   * the host, else through a host copy). */
  Error add_grad(double t, const float *d) {
    std::vector<float> copy;
    for (int p : spec.params) {
      const int64_t numel = spec.tensors[p].numel;
      auto *x = static_cast<float *>(host_current(m, p));
      if (!x) {
        copy.resize(static_cast<size_t>(numel));
        if (Error e = read_tensor_of(m, p, copy.data()))
          return e;
      }
      axpy(x ? x : copy.data(), static_cast<float>(t), d, numel);
      if (!x)
        if (Error e = write_tensor_of(m, p, copy.data()))
          return e;
      d += numel;
    }
    return {};
  }

  Error params(std::vector<float> *x) {
    x->resize(static_cast<size_t>(n));
    float *out = x->data();
    for (int p : spec.params) {
      if (Error e = read_tensor_of(m, p, out))
        return e;
      out += spec.tensors[p].numel;
    }
    return {};
  }

  Error set_params(const std::vector<float> &x) {
    const float *in = x.data();
    for (int p : spec.params) {
      if (Error e = write_tensor_of(m, p, in))
        return e;
      in += spec.tensors[p].numel;
    }
    return {};
  }

  kiln_model *m;
  const ModelSpec &spec;
  const LbfgsSpec &l;
  const int64_t n;
  const void *const *inputs;
  const void *target;
  const bool device_pointers; // a _device entry point's inputs and target
  float *state[LbfgsSpec::kNumStates] = {};
  Snapshot snapshot;
  std::vector<float> closure; // average()'s all-reduce buffer
};

} // namespace

Error lbfgs_step(kiln_model *model, const void *const *inputs, const void *target,
                 float *loss, bool device_pointers) {
  return Lbfgs(model, inputs, target, device_pointers).step(loss);
}

} // namespace kiln::rt
