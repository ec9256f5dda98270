/* torch.nn.utils.prune (1.13) on a model instance: the methods that compute
 * a pruning mask from the weights (l1_unstructured, random_unstructured,
 * ln_structured, random_structured, global_unstructured, a method of the
 * caller's own as a BasePruningMethod subclass would be) and
 * prune.remove. Plain C ABI; see runtime.h for the status codes.
 *
 * The model must have been compiled with the parameter pruned (the
 * model file's `reparametrize: prune` on it, the DSL's
 * nn::utils::prune::identity): it then has the parameter `<name>_orig` and
 * the buffer `<name>_mask`, and every call computes <name> = orig * mask.
 * These functions rewrite the mask between steps, as torch's do to the
 * module's buffer; the compiled model reads it at its next call.
 *
 * `name` is the parameter's torch name, "fc.weight" (the state_dict key
 * without `_orig`).
 *
 * Each call is torch's PruningContainer step: a parameter is pruned again
 * and again by composing the new method with the mask it has. The new
 * method sees the importance scores (by default the current weight,
 * orig * mask) where the mask says the parameter is still there, and
 * prunes its `amount` of what remains:
 *   unstructured (L1, random): among the elements whose mask is exactly 1;
 *   structured (Ln, random): among the channels of `dim` whose mask is not
 *     all zero (the sum over the other dims is not 0), each channel pruned
 *     whole;
 *   global (a custom method of that type): the whole tensor.
 * Everything else keeps its mask. torch's topk does not say which of equal
 * scores it keeps; Kiln prunes the lower index first among equal ones.
 * The random methods draw from xoshiro256** seeded by `seed` (torch draws
 * from its global generator, which Kiln cannot replay): the same count is
 * pruned, uniformly at random among the candidates. */
#ifndef KILN_PRUNE_H
#define KILN_PRUNE_H

#include <kiln/runtime.h>

#ifdef __cplusplus
extern "C" {
#endif

/* torch's `amount`: an int, the number of elements (channels) to prune, or
 * a float in [0, 1], the fraction of those that remain, rounded to the
 * nearest count with ties to even (Python's round). */
typedef struct kiln_prune_amount {
  int32_t is_count; /* 1: `count`; 0: `fraction` */
  int64_t count;    /* >= 0, at most what remains */
  double fraction;  /* in [0, 1] */
} kiln_prune_amount;

static inline kiln_prune_amount kiln_prune_fraction(double fraction) {
  kiln_prune_amount a = {0, 0, fraction};
  return a;
}
static inline kiln_prune_amount kiln_prune_count(int64_t count) {
  kiln_prune_amount a = {1, count, 0.0};
  return a;
}

/* prune.l1_unstructured(module, name, amount, importance_scores): the
 * remaining elements with the smallest |score|. importance_scores: NULL
 * (the current weight) or as many floats as the parameter has. */
kiln_status kiln_prune_l1_unstructured(kiln_model *model, const char *name,
                                       kiln_prune_amount amount,
                                       const float *importance_scores);

/* prune.random_unstructured(module, name, amount). */
kiln_status kiln_prune_random_unstructured(kiln_model *model, const char *name,
                                           kiln_prune_amount amount, uint64_t seed);

/* prune.ln_structured(module, name, amount, n, dim, importance_scores): the
 * remaining channels of `dim` (negative counts from the end) with the
 * smallest Ln norm over the other dims; n > 0, or +-INFINITY (the largest
 * or smallest |x|), or 0 (the count of non-zeros), torch.norm's p ('fro'
 * is n = 2; 'nuc' is not offered). The parameter must have at least 2
 * dimensions (torch 1.13 refuses a 1-D one pruned for the first time, but
 * lets one already pruned through its container's slicing, as [1, n]: a
 * quirk Kiln does not copy). */
kiln_status kiln_prune_ln_structured(kiln_model *model, const char *name,
                                     kiln_prune_amount amount, double n, int64_t dim,
                                     const float *importance_scores);

/* prune.random_structured(module, name, amount, dim). */
kiln_status kiln_prune_random_structured(kiln_model *model, const char *name,
                                         kiln_prune_amount amount, int64_t dim,
                                         uint64_t seed);

typedef enum kiln_prune_method {
  KILN_PRUNE_L1_UNSTRUCTURED = 0,    /* prune.L1Unstructured */
  KILN_PRUNE_RANDOM_UNSTRUCTURED = 1 /* prune.RandomUnstructured (`seed`) */
} kiln_prune_method;

/* prune.global_unstructured(parameters, pruning_method, importance_scores,
 * amount): `count` parameters pruned together, as one vector of their
 * elements in the order given; amount counts over all of them.
 * importance_scores: NULL, or `count` pointers each NULL (that parameter's
 * weight) or of its size. */
kiln_status kiln_prune_global_unstructured(kiln_model *model, const char *const *names,
                                           int32_t count, int32_t method,
                                           kiln_prune_amount amount,
                                           const float *const *importance_scores,
                                           uint64_t seed);

/* A pruning method of the caller's own (a BasePruningMethod subclass): its
 * compute_mask(t, default_mask). The runtime selects what the method sees
 * by its type, as torch's PruningContainer does, and calls `fn` with that
 * part: `t` the importance scores and `default_mask` the current mask,
 * both of `rank` dims `shape` (unstructured: the remaining elements, 1-D;
 * structured: the remaining channels of `dim`; global: all), and `mask`
 * to fill with the part's new mask (starting as a copy of default_mask).
 * A status other than KILN_OK from `fn` fails the call and changes
 * nothing. */
typedef kiln_status (*kiln_prune_mask_fn)(const float *t, const float *default_mask,
                                          float *mask, int32_t rank, const int64_t *shape,
                                          void *user);

typedef enum kiln_prune_type {
  KILN_PRUNE_UNSTRUCTURED = 0,
  KILN_PRUNE_STRUCTURED = 1, /* with `dim` */
  KILN_PRUNE_GLOBAL = 2
} kiln_prune_type;

kiln_status kiln_prune_custom(kiln_model *model, const char *name, int32_t type, int64_t dim,
                              kiln_prune_mask_fn fn, void *user,
                              const float *importance_scores);

/* prune.remove(module, name): the pruning becomes permanent. torch
 * replaces `<name>_orig` and the mask by a plain parameter `<name>` holding
 * orig * mask (the same Parameter object: its optimizer state stays). A
 * compiled model keeps its tensors, so Kiln writes orig * mask into
 * `<name>_orig` and ones into the mask: every later call and step computes
 * what torch's plain parameter would (weight = orig, its gradient orig's).
 * Only the state_dict's names differ: a checkpoint still says
 * `<name>_orig` and `<name>_mask` where torch says `<name>`. */
kiln_status kiln_prune_remove(kiln_model *model, const char *name);

#ifdef __cplusplus
}
#endif

#endif /* KILN_PRUNE_H */
