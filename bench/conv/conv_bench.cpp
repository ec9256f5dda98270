// The convolution benchmark's Kiln side: for every model linked in (the
// metadata list below, from CMake), times forward and gradients (forward +
// MSE loss + backward, no optimizer step) the way conv_torch.py times
// PyTorch: warm-up, then the median of `runs` timed runs, each `k`
// back-to-back calls lasting >= min_run_s. Random N(0, 1) inputs, targets
// and parameters' default init. Prints `RESULT <model> <fwd_ms> <grad_ms>`.
//
// usage: conv_bench [--threads N] [--quick] [--only <shape>[,<shape>...]]
// (--only keeps the models of the named shapes.def shapes)
#include <kiln/runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

extern "C" {
#define KILN_CONV_MODEL(name) extern const kiln_model_metadata name##__metadata;
#include "conv_models.inc"
#undef KILN_CONV_MODEL
}

namespace {

const kiln_model_metadata *const kModels[] = {
#define KILN_CONV_MODEL(name) &name##__metadata,
#include "conv_models.inc"
#undef KILN_CONV_MODEL
};

template <class F> double medianSeconds(F fn, int runs, double minRunS) {
  using clock = std::chrono::steady_clock;
  auto secs = [](clock::time_point a, clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
  };
  fn();
  auto t0 = clock::now();
  fn();
  double one = std::max(secs(t0, clock::now()), 1e-7);
  long k = std::max(1L, std::min(10000L, long(minRunS / one)));
  std::vector<double> per;
  for (int r = 0; r < runs; ++r) {
    t0 = clock::now();
    for (long i = 0; i < k; ++i)
      fn();
    per.push_back(secs(t0, clock::now()) / double(k));
  }
  std::sort(per.begin(), per.end());
  return per[per.size() / 2];
}

void check(kiln_status status, const kiln_model *model, const char *what) {
  if (status != KILN_OK) {
    std::fprintf(stderr, "conv_bench: %s failed: %s\n", what,
                 model ? kiln_model_last_error(model) : kiln_last_error());
    std::exit(1);
  }
}

int64_t numel(const kiln_tensor_info &t) {
  int64_t n = 1;
  for (int i = 0; i < t.rank; ++i)
    n *= t.shape[i];
  return n;
}

/// Whether model `name` (<shape>_<1|2>) is of a shape in the comma list.
bool selected(const char *list, const char *name) {
  std::string shape(name, std::strrchr(name, '_') ? std::strrchr(name, '_') - name
                                                  : std::strlen(name));
  std::string all = std::string(",") + list + ",";
  return all.find("," + shape + ",") != std::string::npos;
}

} // namespace

int main(int argc, char **argv) {
  int runs = 5;
  double minRunS = 0.2;
  const char *only = nullptr;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) {
      check(kiln_set_num_threads(std::atoi(argv[++i])), nullptr, "kiln_set_num_threads");
    } else if (!std::strcmp(argv[i], "--only") && i + 1 < argc) {
      only = argv[++i];
    } else if (!std::strcmp(argv[i], "--quick")) {
      runs = 1;
      minRunS = 0;
    } else {
      std::fprintf(stderr, "usage: conv_bench [--threads N] [--quick] [--only <shape>[,<shape>...]]\n");
      return 2;
    }
  }
  std::mt19937_64 rng(0);
  std::normal_distribution<float> normal;
  for (const kiln_model_metadata *meta : kModels) {
    if (only && !selected(only, meta->name))
      continue;
    kiln_model *model = nullptr;
    check(kiln_model_create(meta, &model), nullptr, "kiln_model_create");
    check(kiln_model_init_parameters(model, 0), model, "init_parameters");
    std::vector<std::vector<float>> inputs, outputs;
    std::vector<float> target;
    for (int i = 0; i < meta->num_tensors; ++i) {
      const kiln_tensor_info &t = meta->tensors[i];
      std::vector<float> data(numel(t));
      for (float &v : data)
        v = normal(rng);
      if (t.role == KILN_ROLE_INPUT)
        inputs.push_back(std::move(data));
      else if (t.role == KILN_ROLE_OUTPUT)
        outputs.push_back(std::move(data));
      else if (t.role == KILN_ROLE_TARGET)
        target = std::move(data);
    }
    std::vector<const void *> in;
    std::vector<void *> out;
    for (auto &v : inputs)
      in.push_back(v.data());
    for (auto &v : outputs)
      out.push_back(v.data());
    float loss = 0;
    double fwd = medianSeconds(
        [&] { check(kiln_model_forward(model, in.data(), out.data()), model, "forward"); },
        runs, minRunS);
    double grad = medianSeconds(
        [&] {
          check(kiln_model_gradients(model, in.data(), target.data(), &loss), model,
                "gradients");
        },
        runs, minRunS);
    std::printf("RESULT %s %.3f %.3f\n", meta->name, fwd * 1e3, grad * 1e3);
    std::fflush(stdout);
    kiln_model_destroy(model);
  }
  return 0;
}
