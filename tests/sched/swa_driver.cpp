// Drives kiln_averaged_model (kiln/swa.h) over a parameter sequence for
// tests/sched/check_swa.py:
//   swa_driver SEQUENCE KIND DECAY USE_BUFFERS RESUME_AT OUT STORED
// SEQUENCE holds step<t>/<name> for t = 0..T-1, the model's state_dict at
// each update (I64 or running_* tensors are buffers, the rest parameters).
// The driver builds a model with those tensors (hand-made metadata, a
// forward that does nothing), creates the averaged model from step 0's
// values, then for each t loads step t into the model and updates; before
// update RESUME_AT (> 0) it saves, destroys, re-creates and loads the
// averaged model, as a resumed run would. OUT: the averaged model's file
// (module.<name>, n_averaged); STORED: the model's parameters file after
// kiln_averaged_model_store.
#include <kiln/runtime.h>
#include <kiln/swa.h>

#include "../state_dict_model.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

namespace {

[[noreturn]] void die(const std::string &what) {
  std::fprintf(stderr, "swa_driver: %s: %s\n", what.c_str(), kiln_last_error());
  std::exit(1);
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 8) {
    std::fprintf(stderr, "usage: swa_driver SEQUENCE KIND DECAY USE_BUFFERS RESUME_AT OUT STORED\n");
    return 2;
  }
  const int kind = std::atoi(argv[2]), use_buffers = std::atoi(argv[4]);
  const double decay = std::atof(argv[3]);
  const int resume_at = std::atoi(argv[5]);
  kiln_safetensors *seq = nullptr;
  if (kiln_safetensors_open(argv[1], &seq))
    die("open");

  // The state_dict: step0/<name> in file order.
  std::deque<std::string> names;
  std::vector<kiln_test::StateDictTensor> tensors;
  int steps = 0;
  for (int i = 0; i < kiln_safetensors_count(seq); ++i) {
    kiln_tensor_view v;
    kiln_safetensors_get(seq, i, &v);
    const std::string n = v.name;
    const size_t slash = n.find('/');
    steps = std::max(steps, std::atoi(n.c_str() + 4) + 1);
    if (n.compare(0, 6, "step0/") != 0)
      continue;
    names.push_back(n.substr(slash + 1));
    const bool buffer = v.dtype == KILN_I64 || names.back().find("running_") != std::string::npos;
    tensors.push_back({names.back(), v.dtype, buffer, std::vector<int64_t>(v.shape, v.shape + v.rank)});
  }
  kiln_model *model = kiln_test::create_state_dict_model("swa", tensors);
  if (!model)
    die("kiln_model_create");

  // The model's state_dict <- step t of the sequence (a parameters file).
  auto load_step = [&](int t) {
    std::vector<kiln_tensor_view> views;
    for (const std::string &n : names) {
      kiln_tensor_view v;
      if (kiln_safetensors_find(seq, ("step" + std::to_string(t) + "/" + n).c_str(), &v))
        die("step " + std::to_string(t) + ": " + n);
      v.name = n.c_str();
      views.push_back(v);
    }
    const std::string path = std::string(argv[6]) + ".step.safetensors";
    if (kiln_safetensors_write(path.c_str(), views.data(), static_cast<int>(views.size())) ||
        kiln_model_load_parameters(model, path.c_str()))
      die("load step " + std::to_string(t));
    std::remove(path.c_str());
  };

  load_step(0);
  kiln_averaged_model *avg = nullptr;
  if (kiln_averaged_model_create(model, kind, decay, use_buffers, &avg))
    die("kiln_averaged_model_create");
  for (int t = 0; t < steps; ++t) {
    if (t == resume_at && t > 0) {
      const std::string path = std::string(argv[6]) + ".resume.safetensors";
      if (kiln_averaged_model_save(avg, path.c_str()))
        die("save");
      kiln_averaged_model_destroy(avg);
      // Created from the model as it is now: load must replace everything.
      if (kiln_averaged_model_create(model, kind, decay, use_buffers, &avg) ||
          kiln_averaged_model_load(avg, path.c_str()))
        die("resume");
      std::remove(path.c_str());
    }
    load_step(t);
    if (kiln_averaged_model_update(avg, model))
      die("update " + std::to_string(t));
  }
  int64_t n = -1;
  if (kiln_averaged_model_n_averaged(avg, &n) || n != steps)
    die("n_averaged " + std::to_string(n) + " after " + std::to_string(steps) + " updates");
  if (kiln_averaged_model_save(avg, argv[6]))
    die("save");
  if (kiln_averaged_model_store(avg, model) || kiln_model_save_parameters(model, argv[7]))
    die("store");
  kiln_averaged_model_destroy(avg);
  kiln_model_destroy(model);
  kiln_safetensors_close(seq);
  return 0;
}
