// End-to-end app: a Fashion-MNIST classifier (the W1-shaped MLP
// fashion_mlp.json, or another model of one [32, 1, 28, 28] input and a
// CrossEntropy target, chosen with -DKILN_PREFIX=<name>
// -DKILN_PREFIX_UPPER=<NAME> -DKILN_HEADER="<name>.h") compiled by kilnc
// and linked like a user's application. Loads the parameters PyTorch
// initialised, trains one step per Fashion-MNIST batch of data.safetensors
// (images [S,32,1,28,28] f32, labels [S,32] i64, written by kiln_oracle.py
// make-e2e), and writes the loss sequence and final parameters.
//
//   e2e_<name> INIT.safetensors DATA.safetensors OUT.safetensors
#ifndef KILN_PREFIX
#define KILN_PREFIX fashion_mlp
#define KILN_PREFIX_UPPER FASHION_MLP
#define KILN_HEADER "fashion_mlp.h"
#endif
#define KILN_CAT_(a, b) a##b
#define KILN_CAT(a, b) KILN_CAT_(a, b)
#define KFN(suffix) KILN_CAT(KILN_PREFIX, suffix)
#define KCONST(suffix) KILN_CAT(KILN_PREFIX_UPPER, suffix)
#include KILN_HEADER

#include <kiln/runtime.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

[[noreturn]] void die(const std::string &what, const char *why) {
  std::fprintf(stderr, "e2e app: error: %s: %s\n", what.c_str(), why);
  std::exit(1);
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 4)
    die("usage", "e2e_<model> INIT DATA OUT");
  KFN(_model) *m = nullptr;
  if (KFN(_create)(&m) != KILN_OK)
    die("create", KFN(_last_error)(nullptr));
  if (KFN(_load_parameters)(m, argv[1]) != KILN_OK)
    die(std::string("load_parameters(") + argv[1] + ")", KFN(_last_error)(m));

  kiln_safetensors *data = nullptr;
  if (kiln_safetensors_open(argv[2], &data) != KILN_OK)
    die(std::string("open ") + argv[2], kiln_last_error());
  kiln_tensor_view images, labels;
  if (kiln_safetensors_find(data, "images", &images) != KILN_OK ||
      kiln_safetensors_find(data, "labels", &labels) != KILN_OK)
    die(argv[2], kiln_last_error());
  const int64_t steps = images.shape[0];
  if (images.dtype != KILN_F32 || labels.dtype != KILN_I64 ||
      images.rank != 1 + KCONST(_INPUT0_RANK) || labels.rank != 2 ||
      labels.shape[0] != steps || labels.shape[1] != KCONST(_TARGET_NUMEL))
    die(argv[2], "expected images [S,32,1,28,28] F32 and labels [S,32] I64");

  std::vector<float> losses(steps);
  for (int64_t s = 0; s < steps; ++s) {
    const void *inputs[1] = {static_cast<const float *>(images.data) +
                             s * KCONST(_INPUT0_NUMEL)};
    const int64_t *target =
        static_cast<const int64_t *>(labels.data) + s * KCONST(_TARGET_NUMEL);
    if (KFN(_train_step)(m, inputs, target, &losses[s]) != KILN_OK)
      die("train_step " + std::to_string(s), KFN(_last_error)(m));
    std::printf("step %3lld loss %.6f\n", static_cast<long long>(s), losses[s]);
  }

  // losses, then every parameter under its state_dict name (shape from INIT).
  kiln_safetensors *init = nullptr;
  if (kiln_safetensors_open(argv[1], &init) != KILN_OK)
    die(std::string("open ") + argv[1], kiln_last_error());
  std::vector<kiln_tensor_view> out;
  const int64_t loss_shape[1] = {steps};
  out.push_back({"losses", KILN_F32, 1, loss_shape, losses.data()});
  for (int i = 0; i < KFN(_num_parameters)(m); ++i) {
    kiln_tensor_view v;
    float *p = nullptr;
    int64_t numel = 0;
    const char *name = nullptr;
    if (KFN(_parameter)(m, i, &name, &p, &numel) != KILN_OK)
      die("parameter", KFN(_last_error)(m));
    if (kiln_safetensors_find(init, name, &v) != KILN_OK)
      die(std::string(argv[1]) + ": " + name, kiln_last_error());
    v.data = p;
    out.push_back(v);
  }
  if (kiln_safetensors_write(argv[3], out.data(), static_cast<int>(out.size())) != KILN_OK)
    die(std::string("write ") + argv[3], kiln_last_error());
  kiln_safetensors_close(init);
  kiln_safetensors_close(data);
  KFN(_destroy)(m);
  return 0;
}
