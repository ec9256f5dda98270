/* Learning-rate schedulers of torch.optim.lr_scheduler (1.13), in the
 * runtime: a schedule is a few floating-point operations per epoch on the
 * host, decided by the caller's loop (when to step, what metric to feed),
 * so it runs where that loop runs and not in the compiled step (docs/design.md,
 * "Learning-rate schedules"). Each scheduler follows torch's recursive
 * (chainable) get_lr, in double precision like torch's Python floats, for
 * one parameter group. Plain C ABI; see runtime.h for the status codes.
 *
 * A scheduler is created at epoch 0, as torch's constructor leaves it (its
 * initial step done): kiln_scheduler_lr gives the lr torch's optimizer
 * holds right after constructing the scheduler. kiln_model_scheduler_step
 * advances it one epoch and makes the model's learning rate its new lr. */
#ifndef KILN_SCHEDULER_H
#define KILN_SCHEDULER_H

#include <kiln/runtime.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum kiln_scheduler_kind {
  KILN_SCHEDULER_STEP = 0,        /* args: step_size (int >= 1), gamma */
  KILN_SCHEDULER_MULTI_STEP = 1,  /* args: gamma, then milestones (ints >= 0, non-decreasing) */
  KILN_SCHEDULER_CONSTANT = 2,    /* args: factor in (0, 1], total_iters (int >= 0) */
  KILN_SCHEDULER_LINEAR = 3,      /* args: start_factor in (0, 1], end_factor in [0, 1], total_iters (int >= 0) */
  KILN_SCHEDULER_EXPONENTIAL = 4, /* args: gamma */
  KILN_SCHEDULER_COSINE_ANNEALING = 5 /* args: T_max (int >= 1), eta_min */
} kiln_scheduler_kind;

typedef struct kiln_scheduler kiln_scheduler;

/* A scheduler of `kind` over the optimizer's initial learning rate
 * `base_lr` with torch's constructor arguments `args` (in the order listed
 * above; every argument required). Checks them as torch does and fails
 * with KILN_ERROR_INVALID_ARGUMENT naming the bad one. */
kiln_status kiln_scheduler_create(int32_t kind, double base_lr, const double *args,
                                  int32_t num_args, kiln_scheduler **out);
void kiln_scheduler_destroy(kiln_scheduler *scheduler);

/* One epoch on: torch's scheduler.step(). */
kiln_status kiln_scheduler_step(kiln_scheduler *scheduler);
/* The current learning rate (torch's get_last_lr()[0]). */
kiln_status kiln_scheduler_lr(const kiln_scheduler *scheduler, double *lr);

/* The state to resume from: torch's last_epoch and the current lr (the
 * recursive forms need both). set_state makes a fresh scheduler of the same
 * kind and arguments continue exactly where the saved one was. */
kiln_status kiln_scheduler_get_state(const kiln_scheduler *scheduler, int64_t *last_epoch,
                                     double *lr);
kiln_status kiln_scheduler_set_state(kiln_scheduler *scheduler, int64_t last_epoch, double lr);

/* Makes the scheduler's current lr the model's learning rate (right after
 * creating the scheduler, as torch's constructor does to the optimizer). */
kiln_status kiln_model_apply_scheduler(kiln_model *model, const kiln_scheduler *scheduler);
/* kiln_scheduler_step, then kiln_model_apply_scheduler. */
kiln_status kiln_model_scheduler_step(kiln_model *model, kiln_scheduler *scheduler);

#ifdef __cplusplus
}
#endif

#endif /* KILN_SCHEDULER_H */
