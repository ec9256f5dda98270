/* Learning-rate schedulers of torch.optim.lr_scheduler (1.13), in the
 * runtime: a schedule is a few floating-point operations per epoch on the
 * host, decided by the caller's loop (when to step, what metric to feed),
 * so it runs where that loop runs and not in the compiled step (docs/design.md,
 * "Learning-rate schedules"). Each scheduler follows torch's code for one
 * parameter group: the recursive (chainable) get_lr where torch has one, in
 * double precision like torch's Python floats, and torch's constructor side
 * effects on the optimizer (the initial step, CyclicLR's and OneCycleLR's
 * lr, `initial_lr`), so chained and sequential schedules match too. Plain C
 * ABI; see runtime.h for the status codes.
 *
 * A scheduler is created at epoch 0, as torch's constructor leaves it (its
 * initial step done): kiln_scheduler_lr gives the lr torch's optimizer
 * holds right after constructing the scheduler(s). kiln_model_scheduler_step
 * advances it one epoch and makes the model's learning rate its new lr. */
#ifndef KILN_SCHEDULER_H
#define KILN_SCHEDULER_H

#include <kiln/runtime.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Arguments are doubles in the order listed, all required; "int" ones must
 * be integral; enumerations are the listed integers. */
typedef enum kiln_scheduler_kind {
  KILN_SCHEDULER_STEP = 0,        /* step_size (int >= 1), gamma */
  KILN_SCHEDULER_MULTI_STEP = 1,  /* gamma, then milestones (ints >= 0, non-decreasing) */
  KILN_SCHEDULER_CONSTANT = 2,    /* factor in (0, 1], total_iters (int >= 0) */
  KILN_SCHEDULER_LINEAR = 3,      /* start_factor in (0, 1], end_factor in [0, 1], total_iters (int >= 0) */
  KILN_SCHEDULER_EXPONENTIAL = 4, /* gamma */
  KILN_SCHEDULER_COSINE_ANNEALING = 5, /* T_max (int >= 1), eta_min */
  KILN_SCHEDULER_POLYNOMIAL = 6,  /* total_iters (int >= 0), power */
  /* T_0 (int >= 1), T_mult (int >= 1), eta_min. Also stepped with an
   * explicit, possibly fractional, epoch (kiln_scheduler_step_epoch). */
  KILN_SCHEDULER_COSINE_ANNEALING_WARM_RESTARTS = 7,
  /* base_lr >= 0, max_lr >= 0, step_size_up > 0, step_size_down >= 0 (torch's
   * None: pass step_size_up), mode (0 triangular, 1 triangular2, 2 exp_range),
   * gamma, scale_mode (0 cycle, 1 iterations: only with a custom scale_fn),
   * cycle_momentum (0 or 1), base_momentum, max_momentum. The spec's fn, when
   * set, is scale_fn. */
  KILN_SCHEDULER_CYCLIC = 8,
  /* max_lr >= 0, total_steps (int >= 1; torch's epochs * steps_per_epoch),
   * pct_start in [0, 1], anneal_strategy (0 cos, 1 linear), cycle_momentum
   * (0 or 1), base_momentum, max_momentum, div_factor > 0,
   * final_div_factor > 0, three_phase (0 or 1). */
  KILN_SCHEDULER_ONE_CYCLE = 9,
  /* mode (0 min, 1 max), factor < 1, patience (int >= 0), threshold,
   * threshold_mode (0 rel, 1 abs), cooldown (int >= 0), min_lr >= 0,
   * eps >= 0. Stepped with a metric (kiln_scheduler_step_metric). */
  KILN_SCHEDULER_REDUCE_ON_PLATEAU = 10,
  KILN_SCHEDULER_LAMBDA = 11,         /* no arguments; the spec's fn is lr_lambda */
  KILN_SCHEDULER_MULTIPLICATIVE = 12, /* no arguments; the spec's fn is lr_lambda */
  KILN_SCHEDULER_CHAINED = 13,        /* no arguments; the spec's children, in order */
  /* milestones (ints >= 1, increasing), one fewer than the spec's
   * children, which may not be ReduceLROnPlateau, ChainedScheduler or
   * SequentialLR (torch cannot step or rewind those inside SequentialLR). */
  KILN_SCHEDULER_SEQUENTIAL = 14,
  /* torch.optim.swa_utils.SWALR: swa_lr, anneal_epochs (int >= 0),
   * anneal_strategy (0 cos, 1 linear). Anneals from the group's lr to
   * swa_lr over anneal_epochs steps, then holds swa_lr; it counts its own
   * steps (torch's _step_count), also inside SequentialLR. */
  KILN_SCHEDULER_SWA = 15
} kiln_scheduler_kind;

/* A user function of a scheduler: LambdaLR's and MultiplicativeLR's
 * lr_lambda (x: the epoch, an integer), CyclicLR's scale_fn (x: the cycle
 * or the iteration, per scale_mode). A non-finite result fails the step. */
typedef double (*kiln_scheduler_fn)(double x, void *user_data);

/* A scheduler as torch builds it: ChainedScheduler and SequentialLR list the
 * schedulers they combine as children, constructed in order on the same
 * optimizer (as torch's user constructs them before combining them). */
typedef struct kiln_scheduler_spec {
  int32_t kind;
  const double *args;
  int32_t num_args;
  kiln_scheduler_fn fn; /* LambdaLR / MultiplicativeLR (required), CyclicLR (optional) */
  void *user_data;      /* passed to fn */
  const struct kiln_scheduler_spec *children;
  int32_t num_children;
} kiln_scheduler_spec;

typedef struct kiln_scheduler kiln_scheduler;

/* A scheduler built from `spec` over an optimizer whose lr is `base_lr`
 * (one parameter group). Checks the arguments as torch does, and what
 * torch would fail on later (a zero-length OneCycleLR phase), and fails
 * with KILN_ERROR_INVALID_ARGUMENT naming the bad one. */
kiln_status kiln_scheduler_create_spec(const kiln_scheduler_spec *spec, double base_lr,
                                       kiln_scheduler **out);
/* One scheduler over `num_groups` parameter groups (torch's scheduler over
 * an optimizer with several param_groups), group g starting at base_lrs[g]:
 * every group follows the same spec from its own lr, as torch's does with
 * one value per argument. Its state is the groups' one-group states, one
 * after the other. A user function is called once per group and step. */
kiln_status kiln_scheduler_create_groups(const kiln_scheduler_spec *spec, const double *base_lrs,
                                         int32_t num_groups, kiln_scheduler **out);
/* kiln_scheduler_create_spec of a spec without fn and children. */
kiln_status kiln_scheduler_create(int32_t kind, double base_lr, const double *args,
                                  int32_t num_args, kiln_scheduler **out);
void kiln_scheduler_destroy(kiln_scheduler *scheduler);

/* One epoch on: torch's scheduler.step(). A failed step (ReduceLROnPlateau
 * without a metric, OneCycleLR past total_steps, a callback's non-finite
 * result) leaves the scheduler unchanged. */
kiln_status kiln_scheduler_step(kiln_scheduler *scheduler);
/* torch's scheduler.step(epoch): CosineAnnealingWarmRestarts with any real
 * epoch >= 0; the other single schedulers with an integral one (torch's
 * deprecated form: the closed form where torch has one). */
kiln_status kiln_scheduler_step_epoch(kiln_scheduler *scheduler, double epoch);
/* ReduceLROnPlateau's step(metrics). */
kiln_status kiln_scheduler_step_metric(kiln_scheduler *scheduler, double metric);
/* The current learning rate (torch's optimizer.param_groups[0]['lr']). */
kiln_status kiln_scheduler_lr(const kiln_scheduler *scheduler, double *lr);
/* The number of parameter groups (0 for NULL), and group `group`'s lr. */
int32_t kiln_scheduler_num_groups(const kiln_scheduler *scheduler);
kiln_status kiln_scheduler_group_lr(const kiln_scheduler *scheduler, int32_t group, double *lr);
/* The momentum (or Adam's beta1) CyclicLR / OneCycleLR with cycle_momentum
 * has set; KILN_ERROR_INVALID_ARGUMENT when no scheduler cycles it. */
kiln_status kiln_scheduler_momentum(const kiln_scheduler *scheduler, double *momentum);

/* The state to resume from, as `count` doubles (fixed for a spec): the
 * group's lr and momentum, then every scheduler's counters (last_epoch,
 * T_cur, best, ...) in spec order. set_state makes a scheduler created from
 * the same spec and base_lr continue exactly where the saved one was. */
kiln_status kiln_scheduler_state_size(const kiln_scheduler *scheduler, int32_t *count);
kiln_status kiln_scheduler_get_state(const kiln_scheduler *scheduler, double *state,
                                     int32_t count);
kiln_status kiln_scheduler_set_state(kiln_scheduler *scheduler, const double *state,
                                     int32_t count);

/* Makes the scheduler's current lr the model's learning rate (right after
 * creating the scheduler, as torch's constructor does to the optimizer);
 * with parameter groups, each group's lr. A scheduler with a number of
 * groups other than the model's is refused (KILN_ERROR_INVALID_ARGUMENT).
 * A scheduler that cycles momentum also sets each group's momentum (SGD,
 * RMSprop) or beta1 (the Adam family) in a model compiled with a cycled
 * momentum (KILN_ROLE_MOMENTUM: the model file declares a scheduler with
 * cycle_momentum); any other model refuses it (KILN_ERROR_UNSUPPORTED),
 * its momentum and betas being compiled constants. */
kiln_status kiln_model_apply_scheduler(kiln_model *model, const kiln_scheduler *scheduler);
/* kiln_scheduler_step (_epoch, _metric), then kiln_model_apply_scheduler. */
kiln_status kiln_model_scheduler_step(kiln_model *model, kiln_scheduler *scheduler);
kiln_status kiln_model_scheduler_step_epoch(kiln_model *model, kiln_scheduler *scheduler,
                                            double epoch);
kiln_status kiln_model_scheduler_step_metric(kiln_model *model, kiln_scheduler *scheduler,
                                             double metric);

/* Makes the scheduler's state part of the model's training state:
 * save_optimizer_state and save_checkpoint also write it, as tensor
 * `scheduler.state` (I64 [count]: the IEEE-754 bits of the doubles
 * kiln_scheduler_get_state gives, so they round-trip exactly), and the two
 * loaders require it and restore it into this scheduler, all or nothing with
 * the rest (the model's lr becomes the scheduler's exact lr). NULL
 * detaches. The scheduler must stay alive while attached; the model does
 * not own it. Train models only. */
kiln_status kiln_model_attach_scheduler(kiln_model *model, kiln_scheduler *scheduler);

#ifdef __cplusplus
}
#endif

#endif /* KILN_SCHEDULER_H */
