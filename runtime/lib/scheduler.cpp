/* torch.optim.lr_scheduler (1.13) for one parameter group: each step
 * increments last_epoch and applies the scheduler's recursive get_lr to the
 * current lr, in double precision as torch's Python floats. */
#include <kiln/scheduler.h>

#include "error.h"

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

using kiln::rt::Error;
using kiln::rt::fail;

struct kiln_scheduler {
  int32_t kind;
  double base_lr;
  std::vector<double> args;
  int64_t last_epoch = 0;
  double lr = 0;
};

/* Defined in model.cpp: sets the learning rate kernels read, exactly, and
 * records a failure on the instance. */
kiln_status kiln_model_store_scheduled_lr(kiln_model *model, double lr);

namespace {

const double kPi = 3.14159265358979323846;

Error bad(const std::string &what) {
  return fail(KILN_ERROR_INVALID_ARGUMENT, "kiln_scheduler_create: " + what);
}

std::string number(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.17g", v);
  return text;
}

bool integral(double v, double lo) { return std::isfinite(v) && v >= lo && v == std::floor(v) && v < 9e15; }

/* Python's % for a positive divisor: never negative. */
int64_t floor_mod(int64_t a, int64_t b) {
  int64_t r = a % b;
  return r < 0 ? r + b : r;
}

/* The counts of argument each kind takes (-2: at least 1, then any). */
Error check(int32_t kind, const std::vector<double> &a) {
  auto count = [&](size_t n, const char *names) -> Error {
    if (a.size() != n)
      return bad(std::string("expected ") + std::to_string(n) + " arguments (" + names +
                 "), got " + std::to_string(a.size()));
    return {};
  };
  for (double v : a)
    if (!std::isfinite(v))
      return bad("arguments must be finite");
  switch (kind) {
  case KILN_SCHEDULER_STEP:
    if (Error e = count(2, "step_size, gamma"))
      return e;
    if (!integral(a[0], 1))
      return bad("StepLR step_size " + number(a[0]) + " must be an integer >= 1");
    return {};
  case KILN_SCHEDULER_MULTI_STEP:
    if (a.empty())
      return bad("expected gamma and the milestones");
    for (size_t i = 1; i < a.size(); ++i) {
      if (!integral(a[i], 0))
        return bad("MultiStepLR milestone " + number(a[i]) + " must be an integer >= 0");
      if (i > 1 && a[i] < a[i - 1])
        return bad("MultiStepLR milestones must be non-decreasing (" + number(a[i - 1]) +
                   " then " + number(a[i]) + ")");
    }
    return {};
  case KILN_SCHEDULER_CONSTANT:
    if (Error e = count(2, "factor, total_iters"))
      return e;
    if (!(a[0] > 0 && a[0] <= 1))
      return bad("ConstantLR factor " + number(a[0]) + " must be in (0, 1]");
    if (!integral(a[1], 0))
      return bad("ConstantLR total_iters " + number(a[1]) + " must be an integer >= 0");
    return {};
  case KILN_SCHEDULER_LINEAR:
    if (Error e = count(3, "start_factor, end_factor, total_iters"))
      return e;
    if (!(a[0] > 0 && a[0] <= 1))
      return bad("LinearLR start_factor " + number(a[0]) + " must be in (0, 1]");
    if (!(a[1] >= 0 && a[1] <= 1))
      return bad("LinearLR end_factor " + number(a[1]) + " must be in [0, 1]");
    if (!integral(a[2], 0))
      return bad("LinearLR total_iters " + number(a[2]) + " must be an integer >= 0");
    return {};
  case KILN_SCHEDULER_EXPONENTIAL:
    return count(1, "gamma");
  case KILN_SCHEDULER_COSINE_ANNEALING:
    if (Error e = count(2, "T_max, eta_min"))
      return e;
    if (!integral(a[0], 1))
      return bad("CosineAnnealingLR T_max " + number(a[0]) + " must be an integer >= 1");
    return {};
  default:
    return bad("unknown scheduler kind " + std::to_string(kind));
  }
}

/* torch's get_lr at s.last_epoch (already incremented), from the lr of the
 * previous epoch. */
double next_lr(const kiln_scheduler &s) {
  const std::vector<double> &a = s.args;
  const int64_t t = s.last_epoch;
  const double lr = s.lr;
  switch (s.kind) {
  case KILN_SCHEDULER_STEP: {
    const auto step_size = static_cast<int64_t>(a[0]);
    return t == 0 || t % step_size != 0 ? lr : lr * a[1];
  }
  case KILN_SCHEDULER_MULTI_STEP: {
    int64_t hits = 0; // Counter(milestones)[t]
    for (size_t i = 1; i < a.size(); ++i)
      hits += static_cast<int64_t>(a[i]) == t;
    return hits == 0 ? lr : lr * std::pow(a[0], static_cast<double>(hits));
  }
  case KILN_SCHEDULER_CONSTANT: {
    if (t == 0)
      return lr * a[0];
    return t != static_cast<int64_t>(a[1]) ? lr : lr * (1.0 / a[0]);
  }
  case KILN_SCHEDULER_LINEAR: {
    const double start = a[0], end = a[1];
    const auto total = static_cast<int64_t>(a[2]);
    if (t == 0)
      return lr * start;
    if (t > total)
      return lr;
    return lr * (1.0 + (end - start) /
                           (static_cast<double>(total) * start +
                            static_cast<double>(t - 1) * (end - start)));
  }
  case KILN_SCHEDULER_EXPONENTIAL:
    return t == 0 ? lr : lr * a[0];
  case KILN_SCHEDULER_COSINE_ANNEALING: {
    const auto t_max = static_cast<int64_t>(a[0]);
    const double eta_min = a[1], tm = static_cast<double>(t_max);
    if (t == 0)
      return lr;
    if (floor_mod(t - 1 - t_max, 2 * t_max) == 0)
      return lr + (s.base_lr - eta_min) * (1 - std::cos(kPi / tm)) / 2;
    return (1 + std::cos(kPi * static_cast<double>(t) / tm)) /
               (1 + std::cos(kPi * static_cast<double>(t - 1) / tm)) * (lr - eta_min) +
           eta_min;
  }
  default:
    return lr;
  }
}

kiln_status record(const Error &e) { return kiln::rt::set_thread_error(e); }

} // namespace

extern "C" kiln_status kiln_scheduler_create(int32_t kind, double base_lr, const double *args,
                                             int32_t num_args, kiln_scheduler **out) {
  KILN_API_GUARD_BEGIN
  if (!out)
    return record(bad("out is NULL"));
  *out = nullptr;
  if (num_args < 0 || num_args > 4096 || (num_args > 0 && !args))
    return record(bad("args is NULL or num_args out of range"));
  if (!std::isfinite(base_lr) || base_lr < 0)
    return record(bad("base_lr " + number(base_lr) + " must be finite and >= 0"));
  std::vector<double> a(args, args + num_args);
  if (Error e = check(kind, a))
    return record(e);
  auto *s = new kiln_scheduler{kind, base_lr, std::move(a), 0, base_lr};
  s->lr = next_lr(*s); // torch's constructor: the initial step to epoch 0
  *out = s;
  return KILN_OK;
  KILN_API_GUARD_END(record)
}

extern "C" void kiln_scheduler_destroy(kiln_scheduler *scheduler) { delete scheduler; }

extern "C" kiln_status kiln_scheduler_step(kiln_scheduler *s) {
  if (!s)
    return record(fail(KILN_ERROR_INVALID_ARGUMENT, "kiln_scheduler_step: scheduler is NULL"));
  ++s->last_epoch;
  s->lr = next_lr(*s);
  return KILN_OK;
}

extern "C" kiln_status kiln_scheduler_lr(const kiln_scheduler *s, double *lr) {
  if (!s || !lr)
    return record(fail(KILN_ERROR_INVALID_ARGUMENT, "kiln_scheduler_lr: NULL argument"));
  *lr = s->lr;
  return KILN_OK;
}

extern "C" kiln_status kiln_scheduler_get_state(const kiln_scheduler *s, int64_t *last_epoch,
                                                double *lr) {
  if (!s || !last_epoch || !lr)
    return record(fail(KILN_ERROR_INVALID_ARGUMENT, "kiln_scheduler_get_state: NULL argument"));
  *last_epoch = s->last_epoch;
  *lr = s->lr;
  return KILN_OK;
}

extern "C" kiln_status kiln_scheduler_set_state(kiln_scheduler *s, int64_t last_epoch,
                                                double lr) {
  if (!s)
    return record(fail(KILN_ERROR_INVALID_ARGUMENT, "kiln_scheduler_set_state: scheduler is NULL"));
  if (last_epoch < 0 || !std::isfinite(lr))
    return record(fail(KILN_ERROR_INVALID_ARGUMENT,
                       "kiln_scheduler_set_state: last_epoch must be >= 0 and lr finite"));
  s->last_epoch = last_epoch;
  s->lr = lr;
  return KILN_OK;
}

extern "C" kiln_status kiln_model_apply_scheduler(kiln_model *model, const kiln_scheduler *s) {
  KILN_API_GUARD_BEGIN
  if (!model || !s)
    return record(fail(KILN_ERROR_INVALID_ARGUMENT, "kiln_model_apply_scheduler: NULL argument"));
  return kiln_model_store_scheduled_lr(model, s->lr);
  KILN_API_GUARD_END(record)
}

extern "C" kiln_status kiln_model_scheduler_step(kiln_model *model, kiln_scheduler *s) {
  if (!model || !s)
    return record(fail(KILN_ERROR_INVALID_ARGUMENT, "kiln_model_scheduler_step: NULL argument"));
  if (kiln_status status = kiln_scheduler_step(s))
    return status;
  return kiln_model_apply_scheduler(model, s);
}
