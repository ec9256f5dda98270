/* Stochastic weight averaging: torch.optim.swa_utils.AveragedModel (1.13)
 * over a model instance's parameters, in the runtime like the schedulers
 * (kiln/scheduler.h has SWALR): averaging is a few elementwise operations
 * per epoch, decided by the caller's loop. Plain C ABI; see runtime.h for
 * the status codes. torch's update_bn is kiln_model_update_bn (runtime.h),
 * on an instance the averaged model was stored into.
 *
 * A kiln_averaged_model holds its own copy of the model's state_dict (the
 * parameters and buffers as they were at creation, torch's deepcopy) and
 * n_averaged. kiln_averaged_model_update is torch's
 * update_parameters(model): the first call copies the model's parameters,
 * every later one applies avg_fn to (averaged, current, n_averaged), in f32
 * with torch's operation order:
 *   KILN_AVERAGE_EQUAL (avg_fn None): a + (p - a) / (n + 1)
 *   KILN_AVERAGE_EMA (torch's documented lambda
 *     `decay * a + (1 - decay) * p`): decay and 1 - decay (in double)
 *     rounded to f32, each product rounded, then the sum.
 * With use_buffers the buffers are averaged too (i64 buffers: the f32
 * result truncated, as torch's copy_ into a long tensor does); without, they
 * keep their values from creation. */
#ifndef KILN_SWA_H
#define KILN_SWA_H

#include <kiln/runtime.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum kiln_average_kind {
  KILN_AVERAGE_EQUAL = 0, /* equally weighted: torch's default avg_fn */
  KILN_AVERAGE_EMA = 1    /* exponential moving average with `decay` */
} kiln_average_kind;

typedef struct kiln_averaged_model kiln_averaged_model;

/* AveragedModel(model, avg_fn, use_buffers) for the instance `model` (any
 * model; the averaged model keeps no pointer to it). `decay` is the EMA's
 * weight of the average, in [0, 1] (ignored for KILN_AVERAGE_EQUAL);
 * use_buffers 0 or 1. */
kiln_status kiln_averaged_model_create(const kiln_model *model, int32_t kind, double decay,
                                       int32_t use_buffers, kiln_averaged_model **out);
void kiln_averaged_model_destroy(kiln_averaged_model *avg);

/* update_parameters(model): `model` must be an instance of the same model
 * (same parameter and buffer names, dtypes and shapes). */
kiln_status kiln_averaged_model_update(kiln_averaged_model *avg, const kiln_model *model);
kiln_status kiln_averaged_model_n_averaged(const kiln_averaged_model *avg, int64_t *n);
/* The averaged parameter `index` (the model's parameter order); the
 * pointer stays valid until the averaged model is destroyed. */
kiln_status kiln_averaged_model_parameter(const kiln_averaged_model *avg, int index,
                                          const char **name, const float **data,
                                          int64_t *numel);

/* Copies the averaged parameters and buffers into `model` (an instance of
 * the same model), to evaluate it: torch's swa_model(x) is
 * kiln_averaged_model_store then the model's forward. */
kiln_status kiln_averaged_model_store(const kiln_averaged_model *avg, kiln_model *model);

/* torch's swa_model.state_dict() as safetensors, written atomically like
 * the model's files: `n_averaged` (I64 scalar), then `module.<name>` for
 * every parameter and buffer (state_dict order). load reads such a
 * file strictly (every tensor, exact dtypes and shapes, nothing else,
 * n_averaged >= 0), all or nothing. */
kiln_status kiln_averaged_model_save(const kiln_averaged_model *avg, const char *path);
kiln_status kiln_averaged_model_load(kiln_averaged_model *avg, const char *path);

#ifdef __cplusplus
}
#endif

#endif /* KILN_SWA_H */
