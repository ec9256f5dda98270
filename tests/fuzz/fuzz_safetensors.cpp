// libFuzzer target: weight, optimizer-state and checkpoint files.
//
// Each input is one file, read through every public reader: the raw
// kiln_safetensors API (every tensor's bytes are then read, so a view that
// overruns its buffer shows under AddressSanitizer) and kiln_model_load_
// parameters / _optimizer_state / _checkpoint into a small trainable model
// with a parameter, f32 and i64 buffers and optimizer state. A reader may
// reject the file; it must never crash, hang or leak.
//
// KILN_FUZZ_WRITE_SEEDS=<dir>: write the model's own parameters, optimizer
// state and checkpoint there (the seed corpus) and exit.
#include "memfd_file.h"
#include "../unit/metadata_builder.h"

#include <kiln/runtime.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

using namespace kiln_test;

namespace {

void never_called(void **) { std::abort(); }

volatile unsigned g_sink; // keeps the reads of touch_all

/* A trainable model shaped like a batch-normalised layer: the loaders
 * match names, dtypes and shapes against this table. */
struct Model : MetadataBuilder {
  Model() : MetadataBuilder("fuzzed") {
    int w = tensor("fc.weight", KILN_ROLE_PARAMETER, KILN_F32, {3, 2}, uniform(-1, 1));
    int rm = tensor("bn.running_mean", KILN_ROLE_BUFFER, KILN_F32, {3});
    int nb = tensor("bn.num_batches_tracked", KILN_ROLE_BUFFER, KILN_I64, {});
    int wm = tensor("fc.weight.momentum_buffer", KILN_ROLE_OPTIMIZER_STATE, KILN_F32, {3, 2});
    int x = tensor("x", KILN_ROLE_INPUT, KILN_F32, {4, 2});
    int t = tensor("t", KILN_ROLE_TARGET, KILN_I64, {4});
    int y = tensor("y", KILN_ROLE_OUTPUT, KILN_F32, {4, 3});
    int loss = tensor("loss", KILN_ROLE_LOSS, KILN_F32, {});
    int step = tensor("step", KILN_ROLE_STEP, KILN_I64, {});
    int rate = tensor("lr", KILN_ROLE_LR, KILN_F32, {});
    lr = 0.01;
    kernel(KILN_ENTRY_FORWARD, KILN_MODE_ANY, never_called, {T(w), T(rm), T(x), T(y)});
    kernel(KILN_ENTRY_GRADIENTS, KILN_MODE_ANY, never_called,
           {T(w), T(x), T(t), T(loss), G(w)});
    kernel(KILN_ENTRY_TRAIN_STEP, KILN_MODE_ANY, never_called,
           {T(w), T(rm), T(nb), T(wm), T(step), T(rate), T(x), T(t), T(loss), N(w),
            N(rm), N(nb), N(wm), N(step)});
  }
};

kiln_model *create_model() {
  static Model metadata;
  kiln_model *model = nullptr;
  if (kiln_model_create(metadata.get(), &model) != KILN_OK) {
    std::fprintf(stderr, "fuzz_safetensors: %s\n", kiln_last_error());
    std::abort(); // the harness is broken, not the code under test
  }
  return model;
}

/* Reads every byte of every tensor the file claims to hold. */
unsigned touch_all(const char *path) {
  kiln_safetensors *file = nullptr;
  if (kiln_safetensors_open(path, &file) != KILN_OK)
    return 0;
  unsigned sum = 0;
  for (int i = 0; i < kiln_safetensors_count(file); ++i) {
    kiln_tensor_view view;
    if (kiln_safetensors_get(file, i, &view) != KILN_OK)
      std::abort(); // an index below count() must be valid
    int64_t bytes = view.dtype == KILN_I64 ? 8 : 4;
    for (int d = 0; d < view.rank; ++d)
      bytes *= view.shape[d];
    const auto *data = static_cast<const unsigned char *>(view.data);
    for (int64_t b = 0; b < bytes; ++b)
      sum += data[b];
    kiln_tensor_view found;
    if (kiln_safetensors_find(file, view.name, &found) != KILN_OK ||
        found.data != view.data)
      std::abort(); // every listed name must be found, as itself
  }
  kiln_safetensors_close(file);
  return sum;
}

void write_seeds(const std::string &dir) {
  kiln_model *model = create_model();
  bool ok = kiln_model_init_parameters(model, 1) == KILN_OK &&
            kiln_model_save_parameters(model, (dir + "/parameters.safetensors").c_str()) == KILN_OK &&
            kiln_model_save_optimizer_state(model, (dir + "/optimizer.safetensors").c_str()) == KILN_OK &&
            kiln_model_save_checkpoint(model, (dir + "/checkpoint.safetensors").c_str()) == KILN_OK;
  if (!ok)
    std::fprintf(stderr, "fuzz_safetensors: %s\n", kiln_model_last_error(model));
  kiln_model_destroy(model);
  std::exit(ok ? 0 : 1);
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  if (const char *dir = std::getenv("KILN_FUZZ_WRITE_SEEDS"))
    write_seeds(dir);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  kiln_fuzz::MemfdFile file(data, size);
  g_sink = touch_all(file.path());
  // One instance per input: a failed load must leave it usable, and a
  // successful one must not depend on what an earlier input loaded.
  kiln_model *model = create_model();
  kiln_model_load_parameters(model, file.path());
  kiln_model_load_optimizer_state(model, file.path());
  kiln_model_load_checkpoint(model, file.path());
  kiln_model_destroy(model);
  return 0;
}
