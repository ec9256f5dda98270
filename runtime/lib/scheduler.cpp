/* torch.optim.lr_scheduler (1.13) for one parameter group. Each scheduler
 * is a Node acting on a Group, the runtime's copy of what torch's schedulers
 * read and write in optimizer.param_groups[0] (lr, initial_lr, momentum), so
 * that ChainedScheduler and SequentialLR, whose children share that group,
 * follow torch step for step. Numbers are doubles like torch's Python
 * floats, and each formula keeps torch's operation order. */
#include <kiln/scheduler.h>

#include "error.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

using kiln::rt::Error;
using kiln::rt::fail;

namespace {

const double kPi = 3.14159265358979323846;

/* optimizer.param_groups[0] as schedulers see it. */
struct Group {
  double lr = 0;
  double initial_lr = 0;
  bool has_initial_lr = false; // group.setdefault('initial_lr', ...) happened
  double momentum = 0;
  bool momentum_cycled = false; // a CyclicLR / OneCycleLR with cycle_momentum
};

Error bad(const std::string &what) { return fail(KILN_ERROR_INVALID_ARGUMENT, what); }

std::string number(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.17g", v);
  return text;
}

bool integral(double v, double lo) {
  return std::isfinite(v) && v >= lo && v == std::floor(v) && v < 9e15;
}

/* Python's % for a positive divisor: never negative. */
int64_t floor_mod(int64_t a, int64_t b) {
  int64_t r = a % b;
  return r < 0 ? r + b : r;
}

/* Python's a // b for b > 0. */
int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* A scheduler: torch's constructor (construct), step(), step(epoch),
 * ReduceLROnPlateau's step(metrics), and its counters as doubles. */
class Node {
public:
  virtual ~Node() = default;
  virtual Error construct(Group &g) = 0;
  virtual Error step(Group &g) = 0;
  virtual Error step_epoch(Group &, double) {
    return bad("this scheduler has no step(epoch) (ChainedScheduler, SequentialLR)");
  }
  virtual Error step_metric(Group &, double) {
    return bad("only ReduceLROnPlateau is stepped with a metric");
  }
  virtual bool needs_metric() const { return false; }
  virtual void get_state(std::vector<double> &out) const = 0;
  /* Reads this node's part of `in` from `at`. */
  virtual Error set_state(const std::vector<double> &in, size_t &at) = 0;
  /* SequentialLR rewinds its children by one epoch before its own initial
   * step (torch: scheduler.last_epoch -= 1). */
  virtual bool rewindable() const { return false; }
  virtual void rewind() {}
};

Error read_counter(const std::vector<double> &in, size_t &at, double lo, double &out,
                   const char *name) {
  if (at >= in.size())
    return bad("scheduler state is too short");
  if (!integral(in[at], lo))
    return bad(std::string("scheduler state: ") + name + " " + number(in[at]) +
               " must be an integer >= " + number(lo));
  out = in[at++];
  return {};
}

/* The schedulers derived from torch's _LRScheduler. */
class Leaf : public Node {
public:
  Leaf(int32_t kind, std::vector<double> args, kiln_scheduler_fn fn, void *user_data)
      : kind(kind), a(std::move(args)), fn(fn), user_data(user_data) {}

  Error construct(Group &g) override {
    if (kind == KILN_SCHEDULER_CYCLIC) {
      g.lr = a[0]; // group['lr'] = base_lr
      if (a[7] != 0) {
        g.momentum = a[8];
        g.momentum_cycled = true;
      }
    }
    if (kind == KILN_SCHEDULER_ONE_CYCLE) {
      g.initial_lr = a[0] / a[7]; // max_lr / div_factor, overwritten
      g.has_initial_lr = true;
      cycle_initial = g.initial_lr;
      cycle_min = cycle_initial / a[8];
      if (a[4] != 0) {
        g.momentum = a[6];
        g.momentum_cycled = true;
      }
    }
    if (kind == KILN_SCHEDULER_COSINE_ANNEALING_WARM_RESTARTS) {
      t_i = a[0];
      t_cur = -1;
    }
    if (!g.has_initial_lr) {
      g.initial_lr = g.lr;
      g.has_initial_lr = true;
    }
    base = g.initial_lr;
    last_epoch = -1;
    if (Error e = step(g)) // _initial_step
      return e;
    if (kind == KILN_SCHEDULER_CYCLIC)
      base = a[0]; // self.base_lrs = base_lrs, after the initial step
    return {};
  }

  Error step(Group &g) override {
    if (kind == KILN_SCHEDULER_COSINE_ANNEALING_WARM_RESTARTS)
      return warm_restarts_step(g, last_epoch < 0, 0);
    ++last_epoch;
    return get_lr(g);
  }

  Error step_epoch(Group &g, double epoch) override {
    if (kind == KILN_SCHEDULER_COSINE_ANNEALING_WARM_RESTARTS) {
      if (!(std::isfinite(epoch) && epoch >= 0))
        return bad("Expected non-negative epoch, but got " + number(epoch));
      return warm_restarts_step(g, true, epoch);
    }
    if (!integral(epoch, 0))
      return bad("epoch " + number(epoch) +
                 " must be an integer >= 0 (only CosineAnnealingWarmRestarts takes fractional "
                 "epochs)");
    last_epoch = static_cast<int64_t>(epoch);
    return closed_form(g);
  }

  void get_state(std::vector<double> &out) const override {
    out.push_back(static_cast<double>(last_epoch));
    if (kind == KILN_SCHEDULER_COSINE_ANNEALING_WARM_RESTARTS) {
      out.push_back(t_i);
      out.push_back(t_cur);
    }
  }

  Error set_state(const std::vector<double> &in, size_t &at) override {
    double epoch = 0;
    if (Error e = read_counter(in, at, -1, epoch, "last_epoch"))
      return e;
    if (kind == KILN_SCHEDULER_COSINE_ANNEALING_WARM_RESTARTS) {
      double ti = 0;
      if (Error e = read_counter(in, at, 1, ti, "T_i"))
        return e;
      if (at >= in.size() || !std::isfinite(in[at]))
        return bad("scheduler state: T_cur must be finite");
      t_i = ti;
      t_cur = in[at++];
    }
    last_epoch = static_cast<int64_t>(epoch);
    return {};
  }

  bool rewindable() const override { return true; }
  void rewind() override { --last_epoch; }

private:
  Error call(double x, double &out) const {
    out = fn(x, user_data);
    if (!std::isfinite(out))
      return bad("the scheduler's callback returned " + number(out) + " for " + number(x));
    return {};
  }

  /* torch's get_lr at last_epoch (already set): the recursive form from
   * the group's current lr. */
  Error get_lr(Group &g) {
    const int64_t t = last_epoch;
    const double lr = g.lr;
    switch (kind) {
    case KILN_SCHEDULER_STEP: {
      const auto step_size = static_cast<int64_t>(a[0]);
      g.lr = t == 0 || floor_mod(t, step_size) != 0 ? lr : lr * a[1];
      return {};
    }
    case KILN_SCHEDULER_MULTI_STEP: {
      int64_t hits = 0; // Counter(milestones)[t]
      for (size_t i = 1; i < a.size(); ++i)
        hits += static_cast<int64_t>(a[i]) == t;
      g.lr = hits == 0 ? lr : lr * std::pow(a[0], static_cast<double>(hits));
      return {};
    }
    case KILN_SCHEDULER_CONSTANT:
      if (t == 0)
        g.lr = lr * a[0];
      else if (t == static_cast<int64_t>(a[1]))
        g.lr = lr * (1.0 / a[0]);
      return {};
    case KILN_SCHEDULER_LINEAR: {
      const double start = a[0], end = a[1];
      const auto total = static_cast<int64_t>(a[2]);
      if (t == 0)
        g.lr = lr * start;
      else if (t <= total)
        g.lr = lr * (1.0 + (end - start) / (static_cast<double>(total) * start +
                                             static_cast<double>(t - 1) * (end - start)));
      return {};
    }
    case KILN_SCHEDULER_EXPONENTIAL:
      if (t != 0)
        g.lr = lr * a[0];
      return {};
    case KILN_SCHEDULER_COSINE_ANNEALING: {
      const auto t_max = static_cast<int64_t>(a[0]);
      const double eta_min = a[1], tm = a[0];
      if (t == 0)
        return {};
      if (floor_mod(t - 1 - t_max, 2 * t_max) == 0)
        g.lr = lr + (base - eta_min) * (1 - std::cos(kPi / tm)) / 2;
      else
        g.lr = (1 + std::cos(kPi * static_cast<double>(t) / tm)) /
                   (1 + std::cos(kPi * static_cast<double>(t - 1) / tm)) * (lr - eta_min) +
               eta_min;
      return {};
    }
    case KILN_SCHEDULER_POLYNOMIAL: {
      const double total = a[0];
      if (t == 0 || static_cast<double>(t) > total)
        return {};
      const double td = static_cast<double>(t);
      g.lr = lr * std::pow((1.0 - td / total) / (1.0 - (td - 1) / total), a[1]);
      return {};
    }
    case KILN_SCHEDULER_COSINE_ANNEALING_WARM_RESTARTS:
      g.lr = a[2] + (base - a[2]) * (1 + std::cos(kPi * t_cur / t_i)) / 2;
      return {};
    case KILN_SCHEDULER_CYCLIC:
      return cyclic_lr(g);
    case KILN_SCHEDULER_ONE_CYCLE:
      return one_cycle_lr(g);
    case KILN_SCHEDULER_LAMBDA: {
      double f = 0;
      if (Error e = call(static_cast<double>(t), f))
        return e;
      g.lr = base * f;
      return {};
    }
    case KILN_SCHEDULER_MULTIPLICATIVE: {
      if (t <= 0)
        return {};
      double f = 0;
      if (Error e = call(static_cast<double>(t), f))
        return e;
      g.lr = lr * f;
      return {};
    }
    default:
      return bad("unknown scheduler kind");
    }
  }

  /* torch's step(epoch): _get_closed_form_lr where the class has one,
   * else get_lr at that epoch. */
  Error closed_form(Group &g) {
    const int64_t t = last_epoch;
    const double td = static_cast<double>(t);
    switch (kind) {
    case KILN_SCHEDULER_STEP:
      g.lr = base * std::pow(a[1], static_cast<double>(floor_div(t, static_cast<int64_t>(a[0]))));
      return {};
    case KILN_SCHEDULER_MULTI_STEP: {
      int64_t below = 0; // bisect_right(sorted milestones, t)
      for (size_t i = 1; i < a.size(); ++i)
        below += static_cast<int64_t>(a[i]) <= t;
      g.lr = base * std::pow(a[0], static_cast<double>(below));
      return {};
    }
    case KILN_SCHEDULER_CONSTANT:
      g.lr = base * (a[0] + (td >= a[1] ? 1.0 - a[0] : 0.0));
      return {};
    case KILN_SCHEDULER_LINEAR:
      if (a[2] == 0)
        return bad("LinearLR with total_iters 0 has no closed form (torch divides by zero)");
      g.lr = base * (a[0] + (a[1] - a[0]) * std::min(a[2], td) / a[2]);
      return {};
    case KILN_SCHEDULER_EXPONENTIAL:
      g.lr = base * std::pow(a[0], td);
      return {};
    case KILN_SCHEDULER_COSINE_ANNEALING:
      g.lr = a[1] + (base - a[1]) * (1 + std::cos(kPi * td / a[0])) / 2;
      return {};
    case KILN_SCHEDULER_POLYNOMIAL:
      if (a[0] == 0)
        return bad("PolynomialLR with total_iters 0 has no closed form (torch divides by zero)");
      g.lr = base * std::pow(1.0 - std::min(a[0], td) / a[0], a[1]);
      return {};
    default:
      return get_lr(g);
    }
  }

  double scale(double x) const {
    if (fn)
      return fn(x, user_data);
    switch (static_cast<int>(a[4])) {
    case 0:
      return 1.0;
    case 1:
      return 1 / std::pow(2.0, x - 1);
    default:
      return std::pow(a[5], x);
    }
  }

  Error cyclic_lr(Group &g) {
    const double up = a[2], down = a[3], total = up + down, ratio = up / total;
    const double e = static_cast<double>(last_epoch);
    const double cycle = std::floor(1 + e / total);
    const double x = 1. + e / total - cycle;
    const double factor = x <= ratio ? x / ratio : (x - 1) / (ratio - 1);
    // Built-in modes: triangular(2) scale per cycle, exp_range per iteration.
    const bool per_cycle = fn ? a[6] == 0 : a[4] != 2;
    const double s = scale(per_cycle ? cycle : e);
    if (!std::isfinite(s))
      return bad("CyclicLR scale_fn returned " + number(s) + " for " +
                 number(per_cycle ? cycle : e));
    const double lr = base + (a[1] - base) * factor * s;
    if (a[7] != 0)
      g.momentum = a[9] - (a[9] - a[8]) * factor * s;
    g.lr = lr;
    return {};
  }

  static double anneal(bool cos, double start, double end, double pct) {
    if (cos)
      return end + (start - end) / 2.0 * (std::cos(kPi * pct) + 1);
    return (end - start) * pct + start;
  }

  Error one_cycle_lr(Group &g) {
    const double total = a[1], pct_start = a[2];
    const bool cos = a[3] == 0, cycle_momentum = a[4] != 0;
    const double base_m = a[5], max_m = a[6];
    const double step_num = static_cast<double>(last_epoch);
    if (step_num > total)
      return bad("OneCycleLR: tried to step " + number(step_num + 1) +
                 " times; the specified number of total steps is " + number(total));
    struct Phase {
      double end_step, start_lr, end_lr, start_m, end_m;
    };
    std::vector<Phase> phases;
    const double init = cycle_initial, max_lr = a[0], min_lr = cycle_min;
    if (a[9] != 0)
      phases = {{pct_start * total - 1, init, max_lr, max_m, base_m},
                {2 * pct_start * total - 2, max_lr, init, base_m, max_m},
                {total - 1, init, min_lr, max_m, max_m}};
    else
      phases = {{pct_start * total - 1, init, max_lr, max_m, base_m},
                {total - 1, max_lr, min_lr, base_m, max_m}};
    double start_step = 0;
    for (size_t i = 0; i < phases.size(); ++i) {
      const Phase &p = phases[i];
      if (step_num <= p.end_step || i + 1 == phases.size()) {
        if (p.end_step == start_step)
          return bad("OneCycleLR: phase " + std::to_string(i + 1) +
                     " has no steps (total_steps " + number(total) + ", pct_start " +
                     number(pct_start) + "; torch divides by zero)");
        const double pct = (step_num - start_step) / (p.end_step - start_step);
        g.lr = anneal(cos, p.start_lr, p.end_lr, pct);
        if (cycle_momentum)
          g.momentum = anneal(cos, p.start_m, p.end_m, pct);
        return {};
      }
      start_step = p.end_step;
    }
    return {};
  }

  /* CosineAnnealingWarmRestarts.step(epoch), with_epoch false for None. */
  Error warm_restarts_step(Group &g, bool with_epoch, double epoch) {
    const double t_0 = a[0], t_mult = a[1];
    if (!with_epoch) {
      epoch = static_cast<double>(last_epoch + 1);
      t_cur = t_cur + 1;
      if (t_cur >= t_i) {
        t_cur = t_cur - t_i;
        t_i = t_i * t_mult;
      }
    } else if (epoch >= t_0) {
      if (t_mult == 1) {
        t_cur = std::fmod(epoch, t_0);
      } else {
        const double n =
            std::trunc(std::log(epoch / t_0 * (t_mult - 1) + 1) / std::log(t_mult));
        t_cur = epoch - t_0 * (std::pow(t_mult, n) - 1) / (t_mult - 1);
        t_i = t_0 * std::pow(t_mult, n);
      }
    } else {
      t_i = t_0;
      t_cur = epoch;
    }
    last_epoch = static_cast<int64_t>(std::floor(epoch));
    return get_lr(g);
  }

  int32_t kind;
  std::vector<double> a;
  kiln_scheduler_fn fn;
  void *user_data;
  double base = 0;       // self.base_lrs[0]
  int64_t last_epoch = -1;
  double t_i = 0, t_cur = 0;                 // CosineAnnealingWarmRestarts
  double cycle_initial = 0, cycle_min = 0;   // OneCycleLR's group initial_lr, min_lr
};

/* torch.optim.swa_utils.SWALR. Its get_lr reads torch's _step_count (the
 * calls of step(), the initial one included), not last_epoch: SequentialLR
 * rewinds last_epoch only, and its step(0) at a milestone counts as a
 * step. Each step undoes the previous step's mix to recover the lr it
 * started from (the group's lr may have been changed in between, as by a
 * ChainedScheduler sibling), then mixes in swa_lr:
 *   prev = (lr - a' swa) / (1 - a')  (swa when a' = 1),
 *   lr' = swa a + prev (1 - a),
 * a = anneal(clamp(s / max(1, E), 0, 1)), a' the same at s - 1, s the step
 * count - 1 (at least 1 when E = 0), anneal cos (1 - cos(pi t)) / 2 or
 * linear t. */
class Swa : public Node {
public:
  explicit Swa(std::vector<double> args) : a(std::move(args)) {}

  Error construct(Group &g) override {
    if (!g.has_initial_lr) {
      g.initial_lr = g.lr;
      g.has_initial_lr = true;
    }
    last_epoch = -1;
    step_count = 0;
    return step(g); // _initial_step
  }
  Error step(Group &g) override {
    ++last_epoch;
    ++step_count;
    g.lr = get_lr(g.lr);
    return {};
  }
  Error step_epoch(Group &g, double epoch) override {
    if (!integral(epoch, 0))
      return bad("epoch " + number(epoch) +
                 " must be an integer >= 0 (only CosineAnnealingWarmRestarts takes fractional "
                 "epochs)");
    last_epoch = static_cast<int64_t>(epoch); // SWALR has no closed form: get_lr
    ++step_count;
    g.lr = get_lr(g.lr);
    return {};
  }
  void get_state(std::vector<double> &out) const override {
    out.push_back(static_cast<double>(last_epoch));
    out.push_back(static_cast<double>(step_count));
  }
  Error set_state(const std::vector<double> &in, size_t &at) override {
    double epoch = 0, count = 0;
    if (Error e = read_counter(in, at, -1, epoch, "last_epoch"))
      return e;
    if (Error e = read_counter(in, at, 1, count, "step_count"))
      return e;
    last_epoch = static_cast<int64_t>(epoch);
    step_count = static_cast<int64_t>(count);
    return {};
  }
  bool rewindable() const override { return true; }
  void rewind() override { --last_epoch; }

private:
  double anneal(double t) const { return a[2] == 0 ? (1 - std::cos(kPi * t)) / 2 : t; }
  static double clamp01(double t) { return std::max(0.0, std::min(1.0, t)); }

  double get_lr(double lr) const {
    const double swa = a[0];
    const auto epochs = static_cast<int64_t>(a[1]);
    int64_t s = step_count - 1;
    if (epochs == 0)
      s = std::max<int64_t>(1, s);
    const double span = static_cast<double>(std::max<int64_t>(1, epochs));
    const double prev_alpha = anneal(clamp01(static_cast<double>(s - 1) / span));
    const double prev = prev_alpha == 1 ? swa : (lr - prev_alpha * swa) / (1 - prev_alpha);
    const double alpha = anneal(clamp01(static_cast<double>(s) / span));
    return swa * alpha + prev * (1 - alpha);
  }

  std::vector<double> a;
  int64_t last_epoch = -1;
  int64_t step_count = 0;
};

class Plateau : public Node {
public:
  explicit Plateau(std::vector<double> args) : a(std::move(args)) {}

  Error construct(Group &) override {
    last_epoch = 0;
    best = worse();
    bad_epochs = 0;
    cooldown_counter = 0;
    return {};
  }
  Error step(Group &) override {
    return bad("ReduceLROnPlateau is stepped with a metric (kiln_scheduler_step_metric)");
  }
  bool needs_metric() const override { return true; }
  Error step_epoch(Group &, double) override {
    return bad("ReduceLROnPlateau is stepped with a metric (kiln_scheduler_step_metric)");
  }
  Error step_metric(Group &g, double current) override {
    last_epoch += 1;
    if (better(current)) {
      best = current;
      bad_epochs = 0;
    } else {
      bad_epochs += 1;
    }
    if (cooldown_counter > 0) {
      cooldown_counter -= 1;
      bad_epochs = 0; // ignore any bad epochs in cooldown
    }
    if (bad_epochs > a[2]) {
      const double old_lr = g.lr, scaled = old_lr * a[1];
      const double new_lr = a[6] > scaled ? a[6] : scaled; // Python's max(scaled, min_lr)
      if (old_lr - new_lr > a[7])
        g.lr = new_lr;
      cooldown_counter = a[5];
      bad_epochs = 0;
    }
    return {};
  }
  void get_state(std::vector<double> &out) const override {
    out.insert(out.end(), {static_cast<double>(last_epoch), best, bad_epochs, cooldown_counter});
  }
  Error set_state(const std::vector<double> &in, size_t &at) override {
    double epoch = 0, b = 0, n = 0, c = 0;
    if (Error e = read_counter(in, at, 0, epoch, "last_epoch"))
      return e;
    if (at >= in.size() || std::isnan(in[at]))
      return bad("scheduler state: ReduceLROnPlateau best must be a number");
    b = in[at++];
    if (Error e = read_counter(in, at, 0, n, "num_bad_epochs"))
      return e;
    if (Error e = read_counter(in, at, 0, c, "cooldown_counter"))
      return e;
    last_epoch = static_cast<int64_t>(epoch);
    best = b;
    bad_epochs = n;
    cooldown_counter = c;
    return {};
  }

private:
  double worse() const { return a[0] == 0 ? INFINITY : -INFINITY; }
  bool better(double x) const {
    const double threshold = a[3];
    const bool min = a[0] == 0, rel = a[4] == 0;
    if (min && rel)
      return x < best * (1. - threshold);
    if (min)
      return x < best - threshold;
    if (rel)
      return x > best * (threshold + 1.);
    return x > best + threshold;
  }

  std::vector<double> a;
  int64_t last_epoch = 0;
  double best = 0, bad_epochs = 0, cooldown_counter = 0;
};

class Chained : public Node {
public:
  explicit Chained(std::vector<std::unique_ptr<Node>> children) : kids(std::move(children)) {}
  Error construct(Group &g) override {
    for (auto &k : kids)
      if (Error e = k->construct(g))
        return e;
    return {};
  }
  Error step(Group &g) override {
    for (auto &k : kids)
      if (Error e = k->step(g))
        return e;
    return {};
  }
  void get_state(std::vector<double> &out) const override {
    for (auto &k : kids)
      k->get_state(out);
  }
  Error set_state(const std::vector<double> &in, size_t &at) override {
    for (auto &k : kids)
      if (Error e = k->set_state(in, at))
        return e;
    return {};
  }

private:
  std::vector<std::unique_ptr<Node>> kids;
};

class Sequential : public Node {
public:
  Sequential(std::vector<std::unique_ptr<Node>> children, std::vector<int64_t> milestones)
      : kids(std::move(children)), milestones(std::move(milestones)) {}
  Error construct(Group &g) override {
    for (auto &k : kids)
      if (Error e = k->construct(g))
        return e;
    g.lr = g.initial_lr; // reset to the initial lr, undo the children's steps
    for (auto &k : kids)
      k->rewind();
    last_epoch = 0;
    return kids[0]->step(g); // the first scheduler's initial step
  }
  Error step(Group &g) override {
    last_epoch += 1;
    const size_t idx = static_cast<size_t>(
        std::upper_bound(milestones.begin(), milestones.end(), last_epoch) - milestones.begin());
    if (idx > 0 && milestones[idx - 1] == last_epoch)
      return kids[idx]->step_epoch(g, 0);
    return kids[idx]->step(g);
  }
  void get_state(std::vector<double> &out) const override {
    out.push_back(static_cast<double>(last_epoch));
    for (auto &k : kids)
      k->get_state(out);
  }
  Error set_state(const std::vector<double> &in, size_t &at) override {
    double epoch = 0;
    if (Error e = read_counter(in, at, 0, epoch, "last_epoch"))
      return e;
    for (auto &k : kids)
      if (Error e = k->set_state(in, at))
        return e;
    last_epoch = static_cast<int64_t>(epoch);
    return {};
  }

private:
  std::vector<std::unique_ptr<Node>> kids;
  std::vector<int64_t> milestones;
  int64_t last_epoch = 0;
};

const char *kind_name(int32_t kind) {
  static const char *const names[] = {
      "StepLR",      "MultiStepLR",     "ConstantLR",        "LinearLR",
      "ExponentialLR", "CosineAnnealingLR", "PolynomialLR", "CosineAnnealingWarmRestarts",
      "CyclicLR",    "OneCycleLR",      "ReduceLROnPlateau", "LambdaLR",
      "MultiplicativeLR", "ChainedScheduler", "SequentialLR", "SWALR"};
  return kind >= 0 && kind <= KILN_SCHEDULER_SWA ? names[kind] : "?";
}

/* torch's constructor checks, plus the ones torch would fail on later. */
Error check_args(int32_t kind, const std::vector<double> &a) {
  const std::string name = kind_name(kind);
  auto count = [&](size_t n, const char *names) -> Error {
    if (a.size() != n)
      return bad(name + ": expected " + std::to_string(n) + " arguments (" + names + "), got " +
                 std::to_string(a.size()));
    return {};
  };
  auto need = [&](bool ok, const std::string &what, double v) -> Error {
    if (!ok)
      return bad(name + " " + what + " (got " + number(v) + ")");
    return {};
  };
  for (double v : a)
    if (!std::isfinite(v))
      return bad(name + ": arguments must be finite");
  Error e;
  switch (kind) {
  case KILN_SCHEDULER_STEP:
    if ((e = count(2, "step_size, gamma")))
      return e;
    return need(integral(a[0], 1), "step_size must be an integer >= 1", a[0]);
  case KILN_SCHEDULER_MULTI_STEP:
    if (a.empty())
      return bad(name + ": expected gamma and the milestones");
    for (size_t i = 1; i < a.size(); ++i) {
      if ((e = need(integral(a[i], 0), "milestones must be integers >= 0", a[i])))
        return e;
      if (i > 1 && a[i] < a[i - 1])
        return bad(name + " milestones must be non-decreasing (" + number(a[i - 1]) + " then " +
                   number(a[i]) + ")");
    }
    return {};
  case KILN_SCHEDULER_CONSTANT:
    if ((e = count(2, "factor, total_iters")) ||
        (e = need(a[0] > 0 && a[0] <= 1, "factor must be in (0, 1]", a[0])))
      return e;
    return need(integral(a[1], 0), "total_iters must be an integer >= 0", a[1]);
  case KILN_SCHEDULER_LINEAR:
    if ((e = count(3, "start_factor, end_factor, total_iters")) ||
        (e = need(a[0] > 0 && a[0] <= 1, "start_factor must be in (0, 1]", a[0])) ||
        (e = need(a[1] >= 0 && a[1] <= 1, "end_factor must be in [0, 1]", a[1])))
      return e;
    return need(integral(a[2], 0), "total_iters must be an integer >= 0", a[2]);
  case KILN_SCHEDULER_EXPONENTIAL:
    return count(1, "gamma");
  case KILN_SCHEDULER_COSINE_ANNEALING:
    if ((e = count(2, "T_max, eta_min")))
      return e;
    return need(integral(a[0], 1), "T_max must be an integer >= 1", a[0]);
  case KILN_SCHEDULER_POLYNOMIAL:
    if ((e = count(2, "total_iters, power")))
      return e;
    return need(integral(a[0], 0), "total_iters must be an integer >= 0", a[0]);
  case KILN_SCHEDULER_COSINE_ANNEALING_WARM_RESTARTS:
    if ((e = count(3, "T_0, T_mult, eta_min")) ||
        (e = need(integral(a[0], 1), "T_0 must be an integer >= 1", a[0])))
      return e;
    return need(integral(a[1], 1), "T_mult must be an integer >= 1", a[1]);
  case KILN_SCHEDULER_CYCLIC:
    if ((e = count(10, "base_lr, max_lr, step_size_up, step_size_down, mode, gamma, scale_mode, "
                       "cycle_momentum, base_momentum, max_momentum")) ||
        (e = need(a[0] >= 0, "base_lr must be >= 0", a[0])) ||
        (e = need(a[1] >= 0, "max_lr must be >= 0", a[1])) ||
        (e = need(a[2] > 0, "step_size_up must be > 0", a[2])) ||
        (e = need(a[3] >= 0, "step_size_down must be >= 0", a[3])) ||
        (e = need(a[4] == 0 || a[4] == 1 || a[4] == 2,
                  "mode must be 0 (triangular), 1 (triangular2) or 2 (exp_range)", a[4])) ||
        (e = need(a[6] == 0 || a[6] == 1, "scale_mode must be 0 (cycle) or 1 (iterations)",
                  a[6])))
      return e;
    return need(a[7] == 0 || a[7] == 1, "cycle_momentum must be 0 or 1", a[7]);
  case KILN_SCHEDULER_ONE_CYCLE:
    if ((e = count(10, "max_lr, total_steps, pct_start, anneal_strategy, cycle_momentum, "
                       "base_momentum, max_momentum, div_factor, final_div_factor, three_phase")) ||
        (e = need(a[0] >= 0, "max_lr must be >= 0", a[0])) ||
        (e = need(integral(a[1], 1), "total_steps must be an integer >= 1", a[1])) ||
        (e = need(a[2] >= 0 && a[2] <= 1, "pct_start must be in [0, 1]", a[2])) ||
        (e = need(a[3] == 0 || a[3] == 1, "anneal_strategy must be 0 (cos) or 1 (linear)", a[3])) ||
        (e = need(a[4] == 0 || a[4] == 1, "cycle_momentum must be 0 or 1", a[4])) ||
        (e = need(a[7] > 0, "div_factor must be > 0", a[7])) ||
        (e = need(a[8] > 0, "final_div_factor must be > 0", a[8])))
      return e;
    return need(a[9] == 0 || a[9] == 1, "three_phase must be 0 or 1", a[9]);
  case KILN_SCHEDULER_REDUCE_ON_PLATEAU:
    if ((e = count(8, "mode, factor, patience, threshold, threshold_mode, cooldown, min_lr, eps")) ||
        (e = need(a[0] == 0 || a[0] == 1, "mode must be 0 (min) or 1 (max)", a[0])) ||
        (e = need(a[1] < 1, "factor should be < 1.0", a[1])) ||
        (e = need(integral(a[2], 0), "patience must be an integer >= 0", a[2])) ||
        (e = need(a[4] == 0 || a[4] == 1, "threshold_mode must be 0 (rel) or 1 (abs)", a[4])) ||
        (e = need(integral(a[5], 0), "cooldown must be an integer >= 0", a[5])) ||
        (e = need(a[6] >= 0, "min_lr must be >= 0", a[6])))
      return e;
    return need(a[7] >= 0, "eps must be >= 0", a[7]);
  case KILN_SCHEDULER_LAMBDA:
  case KILN_SCHEDULER_MULTIPLICATIVE:
  case KILN_SCHEDULER_CHAINED:
    return count(0, "none");
  case KILN_SCHEDULER_SEQUENTIAL:
    for (size_t i = 0; i < a.size(); ++i) {
      if ((e = need(integral(a[i], 1), "milestones must be integers >= 1", a[i])))
        return e;
      if (i > 0 && a[i] <= a[i - 1])
        return bad(name + " milestones must be increasing (" + number(a[i - 1]) + " then " +
                   number(a[i]) + ")");
    }
    return {};
  case KILN_SCHEDULER_SWA:
    if ((e = count(3, "swa_lr, anneal_epochs, anneal_strategy")) ||
        (e = need(integral(a[1], 0), "anneal_epochs must be an integer >= 0", a[1])))
      return e;
    return need(a[2] == 0 || a[2] == 1, "anneal_strategy must be 0 (cos) or 1 (linear)", a[2]);
  default:
    return bad("unknown scheduler kind " + std::to_string(kind));
  }
}

/* `where`: the spec's path in messages, "spec.children[1]". */
Error build(const kiln_scheduler_spec &spec, const std::string &where, int depth,
            std::unique_ptr<Node> &out) {
  if (depth > 16)
    return bad(where + ": schedulers nested too deep");
  if (spec.num_args < 0 || spec.num_args > 4096 || (spec.num_args > 0 && !spec.args))
    return bad(where + ": args is NULL or num_args out of range");
  if (spec.num_children < 0 || spec.num_children > 4096 ||
      (spec.num_children > 0 && !spec.children))
    return bad(where + ": children is NULL or num_children out of range");
  std::vector<double> a(spec.args, spec.args + spec.num_args);
  if (Error e = check_args(spec.kind, a))
    return bad(where + ": " + e.message);
  const bool combines = spec.kind == KILN_SCHEDULER_CHAINED || spec.kind == KILN_SCHEDULER_SEQUENTIAL;
  const std::string name = kind_name(spec.kind);
  if (!combines && spec.num_children > 0)
    return bad(where + ": " + name + " takes no children");
  if ((spec.kind == KILN_SCHEDULER_LAMBDA || spec.kind == KILN_SCHEDULER_MULTIPLICATIVE) && !spec.fn)
    return bad(where + ": " + name + " needs its lr_lambda as fn");
  if (spec.fn && spec.kind != KILN_SCHEDULER_LAMBDA && spec.kind != KILN_SCHEDULER_MULTIPLICATIVE &&
      spec.kind != KILN_SCHEDULER_CYCLIC)
    return bad(where + ": " + name + " takes no fn");
  if (!combines) {
    if (spec.kind == KILN_SCHEDULER_REDUCE_ON_PLATEAU)
      out = std::make_unique<Plateau>(std::move(a));
    else if (spec.kind == KILN_SCHEDULER_SWA)
      out = std::make_unique<Swa>(std::move(a));
    else
      out = std::make_unique<Leaf>(spec.kind, std::move(a), spec.fn, spec.user_data);
    return {};
  }
  if (spec.num_children == 0)
    return bad(where + ": " + name + " needs at least one scheduler");
  if (spec.kind == KILN_SCHEDULER_SEQUENTIAL &&
      static_cast<size_t>(spec.num_children) != a.size() + 1)
    return bad(where + ": SequentialLR expects one more scheduler than milestones, got " +
               std::to_string(spec.num_children) + " schedulers and " +
               std::to_string(a.size()) + " milestones");
  std::vector<std::unique_ptr<Node>> kids;
  for (int32_t i = 0; i < spec.num_children; ++i) {
    const std::string at = where + ".children[" + std::to_string(i) + "]";
    const int32_t k = spec.children[i].kind;
    if (k == KILN_SCHEDULER_REDUCE_ON_PLATEAU)
      return bad(at + ": ReduceLROnPlateau cannot be combined (its step needs a metric)");
    if (spec.kind == KILN_SCHEDULER_SEQUENTIAL &&
        (k == KILN_SCHEDULER_CHAINED || k == KILN_SCHEDULER_SEQUENTIAL))
      return bad(at + ": SequentialLR cannot contain " + kind_name(k) +
                 " (torch cannot rewind it)");
    std::unique_ptr<Node> kid;
    if (Error e = build(spec.children[i], at, depth + 1, kid))
      return e;
    kids.push_back(std::move(kid));
  }
  if (spec.kind == KILN_SCHEDULER_CHAINED)
    out = std::make_unique<Chained>(std::move(kids));
  else
    out = std::make_unique<Sequential>(std::move(kids),
                                       std::vector<int64_t>(a.begin(), a.end()));
  return {};
}

kiln_status record(const Error &e) { return kiln::rt::set_thread_error(e); }

} // namespace

/* One node tree per parameter group: torch's schedulers compute each
 * group's lr from that group alone (its lr, initial_lr, momentum) and from
 * counters (last_epoch, T_cur, ReduceLROnPlateau's best and bad epochs)
 * that depend only on the calls made, never on an lr; so G trees stepped
 * together are torch's one scheduler over G groups, counters and all. */
struct kiln_scheduler {
  std::vector<Group> groups;
  std::vector<std::unique_ptr<Node>> roots; // roots[g] acts on groups[g]
  size_t state_size = 0;

  /* Per group: its lr and momentum, then its tree's counters. One group
   * gives the one-group layout of before. */
  std::vector<double> state() const {
    std::vector<double> s;
    for (size_t g = 0; g < groups.size(); ++g) {
      s.push_back(groups[g].lr);
      s.push_back(groups[g].momentum);
      roots[g]->get_state(s);
    }
    return s;
  }
  Error restore(const std::vector<double> &s) {
    if (s.size() != state_size)
      return bad("scheduler state has " + std::to_string(s.size()) + " values, this scheduler " +
                 std::to_string(state_size));
    const std::vector<double> before = state();
    std::vector<size_t> starts; // where group g's lr is in s
    size_t at = 0;
    Error e;
    for (size_t g = 0; g < groups.size() && !e; ++g) {
      starts.push_back(at);
      if (!std::isfinite(s[at]) || !std::isfinite(s[at + 1])) {
        e = bad("scheduler state: lr and momentum must be finite");
        break;
      }
      at += 2; // the group's lr and momentum, then its tree's counters
      e = roots[g]->set_state(s, at);
    }
    if (e) {
      size_t back = 0;
      for (size_t g = 0; g < groups.size(); ++g) {
        back += 2;
        (void)roots[g]->set_state(before, back);
      }
      return e;
    }
    for (size_t g = 0; g < groups.size(); ++g) {
      groups[g].lr = s[starts[g]];
      groups[g].momentum = s[starts[g] + 1];
    }
    return {};
  }
  /* Runs one step of every group's tree (f(root, group)); a failed one
   * leaves everything as it was. */
  template <typename F> Error transact(F &&f) {
    const std::vector<double> before = state();
    Error e;
    for (size_t g = 0; g < groups.size() && !e; ++g) {
      e = f(*roots[g], groups[g]);
      if (!e && !std::isfinite(groups[g].lr))
        e = bad("the scheduler computed a non-finite lr " + number(groups[g].lr));
    }
    if (e)
      (void)restore(before);
    return e;
  }
  bool momentum_cycled() const { return groups[0].momentum_cycled; }
};

/* Defined in model.cpp: sets the learning rates kernels read (one per
 * parameter group), exactly, and with momentum_cycled the groups' cycled
 * momenta; records a failure on the instance. Refuses a scheduler whose
 * number of groups is not the model's, and (KILN_ERROR_UNSUPPORTED) one that
 * cycles momentum when the model holds it constant (no KILN_ROLE_MOMENTUM). */
kiln_status kiln_model_store_scheduled_lrs(kiln_model *model, const double *lrs,
                                           const double *momenta, int32_t num_groups,
                                           int momentum_cycled);

extern "C" kiln_status kiln_scheduler_create_groups(const kiln_scheduler_spec *spec,
                                                    const double *base_lrs, int32_t num_groups,
                                                    kiln_scheduler **out) {
  KILN_API_GUARD_BEGIN
  if (!out)
    return record(bad("kiln_scheduler_create: out is NULL"));
  *out = nullptr;
  if (!spec || !base_lrs)
    return record(bad("kiln_scheduler_create: spec or base_lrs is NULL"));
  if (num_groups < 1 || num_groups > (1 << 20))
    return record(bad("kiln_scheduler_create: num_groups " + std::to_string(num_groups) +
                      " out of range [1, 2^20]"));
  auto s = std::make_unique<kiln_scheduler>();
  for (int32_t g = 0; g < num_groups; ++g) {
    const double base_lr = base_lrs[g];
    const std::string which = num_groups > 1 ? " of group " + std::to_string(g) : "";
    if (!std::isfinite(base_lr) || base_lr < 0)
      return record(bad("kiln_scheduler_create: base_lr" + which + " " + number(base_lr) +
                        " must be finite and >= 0"));
    std::unique_ptr<Node> root;
    if (Error e = build(*spec, "spec", 0, root))
      return record(bad("kiln_scheduler_create: " + e.message));
    Group group;
    group.lr = base_lr;
    if (Error e = root->construct(group))
      return record(bad("kiln_scheduler_create: " + e.message));
    if (!std::isfinite(group.lr))
      return record(bad("kiln_scheduler_create: the initial lr" + which + " is not finite"));
    s->groups.push_back(group);
    s->roots.push_back(std::move(root));
  }
  s->state_size = s->state().size();
  *out = s.release();
  return KILN_OK;
  KILN_API_GUARD_END(record)
}

extern "C" kiln_status kiln_scheduler_create_spec(const kiln_scheduler_spec *spec, double base_lr,
                                                  kiln_scheduler **out) {
  return kiln_scheduler_create_groups(spec, &base_lr, 1, out);
}

extern "C" kiln_status kiln_scheduler_create(int32_t kind, double base_lr, const double *args,
                                             int32_t num_args, kiln_scheduler **out) {
  kiln_scheduler_spec spec{kind, args, num_args, nullptr, nullptr, nullptr, 0};
  return kiln_scheduler_create_spec(&spec, base_lr, out);
}

extern "C" void kiln_scheduler_destroy(kiln_scheduler *scheduler) { delete scheduler; }

extern "C" kiln_status kiln_scheduler_step(kiln_scheduler *s) {
  KILN_API_GUARD_BEGIN
  if (!s)
    return record(bad("kiln_scheduler_step: scheduler is NULL"));
  if (Error e = s->transact([&](Node &root, Group &g) { return root.step(g); }))
    return record(bad("kiln_scheduler_step: " + e.message));
  return KILN_OK;
  KILN_API_GUARD_END(record)
}

extern "C" kiln_status kiln_scheduler_step_epoch(kiln_scheduler *s, double epoch) {
  KILN_API_GUARD_BEGIN
  if (!s)
    return record(bad("kiln_scheduler_step_epoch: scheduler is NULL"));
  if (Error e = s->transact([&](Node &root, Group &g) { return root.step_epoch(g, epoch); }))
    return record(bad("kiln_scheduler_step_epoch: " + e.message));
  return KILN_OK;
  KILN_API_GUARD_END(record)
}

extern "C" kiln_status kiln_scheduler_step_metric(kiln_scheduler *s, double metric) {
  KILN_API_GUARD_BEGIN
  if (!s)
    return record(bad("kiln_scheduler_step_metric: scheduler is NULL"));
  if (Error e = s->transact([&](Node &root, Group &g) { return root.step_metric(g, metric); }))
    return record(bad("kiln_scheduler_step_metric: " + e.message));
  return KILN_OK;
  KILN_API_GUARD_END(record)
}

extern "C" kiln_status kiln_scheduler_lr(const kiln_scheduler *s, double *lr) {
  if (!s || !lr)
    return record(bad("kiln_scheduler_lr: NULL argument"));
  *lr = s->groups[0].lr;
  return KILN_OK;
}

extern "C" int32_t kiln_scheduler_num_groups(const kiln_scheduler *s) {
  return s ? static_cast<int32_t>(s->groups.size()) : 0;
}

extern "C" kiln_status kiln_scheduler_group_lr(const kiln_scheduler *s, int32_t group,
                                               double *lr) {
  if (!s || !lr)
    return record(bad("kiln_scheduler_group_lr: NULL argument"));
  if (group < 0 || static_cast<size_t>(group) >= s->groups.size())
    return record(bad("kiln_scheduler_group_lr: group " + std::to_string(group) +
                      " out of range [0, " + std::to_string(s->groups.size()) + ")"));
  *lr = s->groups[static_cast<size_t>(group)].lr;
  return KILN_OK;
}

extern "C" kiln_status kiln_scheduler_momentum(const kiln_scheduler *s, double *momentum) {
  if (!s || !momentum)
    return record(bad("kiln_scheduler_momentum: NULL argument"));
  if (!s->momentum_cycled())
    return record(bad("kiln_scheduler_momentum: no scheduler here cycles momentum"));
  *momentum = s->groups[0].momentum;
  return KILN_OK;
}

extern "C" kiln_status kiln_scheduler_state_size(const kiln_scheduler *s, int32_t *count) {
  if (!s || !count)
    return record(bad("kiln_scheduler_state_size: NULL argument"));
  *count = static_cast<int32_t>(s->state_size);
  return KILN_OK;
}

extern "C" kiln_status kiln_scheduler_get_state(const kiln_scheduler *s, double *state,
                                                int32_t count) {
  KILN_API_GUARD_BEGIN
  if (!s || !state)
    return record(bad("kiln_scheduler_get_state: NULL argument"));
  if (count < 0 || static_cast<size_t>(count) != s->state_size)
    return record(bad("kiln_scheduler_get_state: count " + std::to_string(count) +
                      ", the state has " + std::to_string(s->state_size) + " values"));
  const std::vector<double> v = s->state();
  std::copy(v.begin(), v.end(), state);
  return KILN_OK;
  KILN_API_GUARD_END(record)
}

extern "C" kiln_status kiln_scheduler_set_state(kiln_scheduler *s, const double *state,
                                                int32_t count) {
  KILN_API_GUARD_BEGIN
  if (!s || (!state && count > 0))
    return record(bad("kiln_scheduler_set_state: NULL argument"));
  if (count < 0)
    return record(bad("kiln_scheduler_set_state: negative count"));
  if (Error e = s->restore(std::vector<double>(state, state + count)))
    return record(bad("kiln_scheduler_set_state: " + e.message));
  return KILN_OK;
  KILN_API_GUARD_END(record)
}

extern "C" kiln_status kiln_model_apply_scheduler(kiln_model *model, const kiln_scheduler *s) {
  KILN_API_GUARD_BEGIN
  if (!model || !s)
    return record(bad("kiln_model_apply_scheduler: NULL argument"));
  std::vector<double> lrs, momenta;
  for (const Group &g : s->groups) {
    lrs.push_back(g.lr);
    momenta.push_back(g.momentum);
  }
  return kiln_model_store_scheduled_lrs(model, lrs.data(), momenta.data(),
                                        static_cast<int32_t>(lrs.size()), s->momentum_cycled());
  KILN_API_GUARD_END(record)
}

namespace {
template <typename F> kiln_status model_step(kiln_model *model, kiln_scheduler *s, F &&step) {
  if (!model || !s)
    return record(bad("kiln_model_scheduler_step: NULL argument"));
  // Whatever the model refuses (another number of groups, a cycled
  // momentum it holds constant) is refused before stepping, so a refused
  // scheduler stays where it was; applying the current values again
  // changes nothing else.
  if (kiln_status status = kiln_model_apply_scheduler(model, s))
    return status;
  if (kiln_status status = step())
    return status;
  return kiln_model_apply_scheduler(model, s);
}
} // namespace

extern "C" kiln_status kiln_model_scheduler_step(kiln_model *model, kiln_scheduler *s) {
  return model_step(model, s, [&] { return kiln_scheduler_step(s); });
}

extern "C" kiln_status kiln_model_scheduler_step_epoch(kiln_model *model, kiln_scheduler *s,
                                                       double epoch) {
  return model_step(model, s, [&] { return kiln_scheduler_step_epoch(s, epoch); });
}

extern "C" kiln_status kiln_model_scheduler_step_metric(kiln_model *model, kiln_scheduler *s,
                                                        double metric) {
  return model_step(model, s, [&] { return kiln_scheduler_step_metric(s, metric); });
}
