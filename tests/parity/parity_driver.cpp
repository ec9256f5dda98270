// Generic parity driver, compiled once and linked with each model: it drives
// the model through the runtime's C API (what the generated header's inline
// functions call), takes the inputs, outputs and target from the model's
// metadata, and writes what it observed under the names kiln_oracle.py gives
// the PyTorch reference.
//
//   parity_<name> --init init.safetensors --batch batch.safetensors
//                 --out actual.safetensors [--steps 10] [--rng-seed S]
//     load parameters, forward -> output.<i>; (train mode) gradients -> loss,
//     <param>.grad; `steps` train_steps on the same batch -> losses, <param>,
//     <state>, <buffer>, step, lr; then set_training(0) and forward ->
//     eval_output.<i>.
//     --rng-seed seeds the instance's random stream (init_parameters(S)
//     before the parameters are loaded), as kiln_oracle.py's --rng-seed.
//     --accumulate K: each step is accumulate on the K micro-batches (the
//     batch, then micro.<m>.input.<i> / micro.<m>.target) and apply, the
//     losses K per step; then K more accumulate calls -> <param>.grad_sum.
//     --cycle K: train_step s on batch s % K (the batch, then
//     micro.<m>.input.<i> / micro.<m>.target, as --accumulate stores them).
//     --update-bn K: after the steps, kiln_model_update_bn over K batches
//     (stored as --accumulate stores them): the buffers then written are
//     update_bn's (torch.optim.swa_utils.update_bn).
//   parity_<name> --load-only FILE
//     only load FILE as parameters; exit 0 on success, 1 (with the message)
//     on failure. The bad-weights tests check the message.
#include <kiln/runtime.h>
#include <kiln/scheduler.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

// The model under test: defined by the glue file CMake writes for each
// model (parity_glue/<name>.c), which includes the generated header (so
// that every header is compiled) and points here at <name>__metadata.
extern "C" const kiln_model_metadata *const kiln_parity_metadata;
extern "C" const char kiln_parity_name[]; // the model's C prefix
// The model's declared scheduler (<name>_scheduler_create), or null.
extern "C" kiln_status (*const kiln_parity_scheduler_create)(kiln_scheduler **);
// The header's <NAME>_ARENA_BYTES: what kilnc says one instance allocates.
extern "C" const uint64_t kiln_parity_arena_bytes;

namespace {

typedef kiln_model model_t;

std::string gModel;

struct Shape {
  int rank;
  const int64_t *dims;
  int64_t numel;
  bool is_int64;
};

// The tensors of one role in metadata order: the order forward takes its
// inputs and writes its outputs.
std::vector<Shape> tensors_with_role(int32_t role) {
  std::vector<Shape> out;
  const kiln_model_metadata &md = *kiln_parity_metadata;
  for (int32_t t = 0; t < md.num_tensors; ++t) {
    const kiln_tensor_info &info = md.tensors[t];
    if (info.role != role)
      continue;
    int64_t numel = 1;
    for (int32_t d = 0; d < info.rank; ++d)
      numel *= info.shape[d];
    out.push_back({info.rank, info.shape, numel, info.dtype == KILN_I64});
  }
  return out;
}

[[noreturn]] void fail(const char *what, const model_t *m) {
  std::fprintf(stderr, "parity_%s: error: %s: %s\n", gModel.c_str(), what,
               m ? kiln_model_last_error(m) : kiln_last_error());
  std::exit(1);
}

[[noreturn]] void fail_rt(const std::string &what) {
  std::fprintf(stderr, "parity_%s: error: %s: %s\n", gModel.c_str(),
               what.c_str(), kiln_last_error());
  std::exit(1);
}

[[noreturn]] void fail_msg(const std::string &what) {
  std::fprintf(stderr, "parity_%s: error: %s\n", gModel.c_str(), what.c_str());
  std::exit(1);
}

// One tensor of the output file, owning its data.
struct Owned {
  std::string name;
  kiln_dtype dtype;
  std::vector<int64_t> shape;
  std::vector<unsigned char> bytes;
};

Owned make_f32(const std::string &name, std::vector<int64_t> shape,
               const float *data, int64_t numel) {
  Owned t{name, KILN_F32, std::move(shape), {}};
  t.bytes.assign(reinterpret_cast<const unsigned char *>(data),
                 reinterpret_cast<const unsigned char *>(data + numel));
  return t;
}

int64_t numel_of(const kiln_tensor_view &v) {
  int64_t n = 1;
  for (int d = 0; d < v.rank; ++d)
    n *= v.shape[d];
  return n;
}

// Shape of parameter `name` as the init file has it (the C API gives numel).
[[maybe_unused]] std::vector<int64_t> param_shape(const kiln_safetensors *init,
                                                  const std::string &name,
                                                  int64_t numel) {
  kiln_tensor_view v;
  if (kiln_safetensors_find(init, name.c_str(), &v) != KILN_OK)
    return {numel};
  if (numel_of(v) != numel)
    fail_msg("parameter " + name + ": numel " + std::to_string(numel) +
             " differs from the init file's");
  return std::vector<int64_t>(v.shape, v.shape + v.rank);
}

} // namespace

int main(int argc, char **argv) {
  const char *init_path = nullptr, *batch_path = nullptr, *out_path = nullptr,
             *load_only = nullptr;
  int steps = 10, accumulate = 0, cycle = 0, update_bn = 0;
  uint64_t rng_seed = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc)
      fail_msg("missing value after " + a);
    if (a == "--init")
      init_path = argv[++i];
    else if (a == "--batch")
      batch_path = argv[++i];
    else if (a == "--out")
      out_path = argv[++i];
    else if (a == "--steps")
      steps = std::atoi(argv[++i]);
    else if (a == "--accumulate")
      accumulate = std::atoi(argv[++i]);
    else if (a == "--update-bn")
      update_bn = std::atoi(argv[++i]);
    else if (a == "--cycle")
      cycle = std::atoi(argv[++i]);
    else if (a == "--rng-seed")
      rng_seed = std::strtoull(argv[++i], nullptr, 0);
    else if (a == "--load-only")
      load_only = argv[++i];
    else
      fail_msg("unknown argument " + a);
  }

  gModel = kiln_parity_name;
  const std::vector<Shape> kInputs = tensors_with_role(KILN_ROLE_INPUT);
  const std::vector<Shape> kOutputs = tensors_with_role(KILN_ROLE_OUTPUT);
  const std::vector<Shape> kTargets = tensors_with_role(KILN_ROLE_TARGET);
  const int kNumInputs = static_cast<int>(kInputs.size());
  const int kNumOutputs = static_cast<int>(kOutputs.size());

  model_t *m = nullptr;
  if (kiln_model_create(kiln_parity_metadata, &m) != KILN_OK)
    fail("create", nullptr);
  // The generated header's budget is what the runtime allocated.
  uint64_t arena = 0;
  if (kiln_model_arena_bytes(m, &arena) != KILN_OK)
    fail("arena_bytes", m);
  if (arena != kiln_parity_arena_bytes) {
    std::fprintf(stderr, "parity_%s: the instance allocated %llu bytes, the header's _ARENA_BYTES says %llu\n",
                 gModel.c_str(), static_cast<unsigned long long>(arena),
                 static_cast<unsigned long long>(kiln_parity_arena_bytes));
    return 1;
  }
  // A model is trainable when it has gradient kernels; such a model starts
  // in train mode.
  int trainable = 0;
  if (kiln_model_get_training(m, &trainable) != KILN_OK)
    fail("get_training", m);

  if (load_only) {
    // The message must come from the runtime alone: the bad-weights tests
    // check that it names the file and the tensor.
    if (kiln_model_load_parameters(m, load_only) != KILN_OK)
      fail("load_parameters", m);
    std::printf("parity_%s: loaded %s\n", gModel.c_str(), load_only);
    kiln_model_destroy(m);
    return 0;
  }
  if (!init_path || !batch_path || !out_path)
    fail_msg("usage: --init FILE --batch FILE --out FILE [--steps N] | "
             "--load-only FILE");

  if (kiln_model_init_parameters(m, rng_seed) != KILN_OK)
    fail("init_parameters", m);
  if (kiln_model_load_parameters(m, init_path) != KILN_OK)
    fail((std::string("load_parameters(") + init_path + ")").c_str(), m);
  kiln_safetensors *init = nullptr;
  if (kiln_safetensors_open(init_path, &init) != KILN_OK)
    fail_rt(std::string("open ") + init_path);

  // Batch: input.<i> (float32 or int64 as the header says, its shape) and,
  // to train, target.
  kiln_safetensors *batch = nullptr;
  if (kiln_safetensors_open(batch_path, &batch) != KILN_OK)
    fail_rt(std::string("open ") + batch_path);
  // Micro-batch m's inputs (m > 0: micro.<m>.input.<i>).
  auto inputs_of = [&](int m) {
    std::vector<const void *> in(kNumInputs);
    const std::string prefix = m ? "micro." + std::to_string(m) + "." : "";
    for (int i = 0; i < kNumInputs; ++i) {
      std::string name = prefix + "input." + std::to_string(i);
      kiln_tensor_view v;
      if (kiln_safetensors_find(batch, name.c_str(), &v) != KILN_OK)
        fail_rt(std::string(batch_path) + ": " + name);
      const kiln_dtype want = kInputs[i].is_int64 ? KILN_I64 : KILN_F32;
      if (v.dtype != want || numel_of(v) != kInputs[i].numel)
        fail_msg(std::string(batch_path) + ": " + name + ": expected " +
                 (want == KILN_I64 ? "I64" : "F32") + " with " +
                 std::to_string(kInputs[i].numel) + " elements");
      in[i] = v.data;
    }
    return in;
  };
  std::vector<const void *> inputs = inputs_of(0);

  std::vector<Owned> result;
  // float32 outputs start as NaN and int64 ones (argmax, indices) as -1,
  // so an element the kernel never wrote shows.
  std::vector<std::vector<unsigned char>> outputs(kNumOutputs);
  std::vector<void *> output_ptrs(kNumOutputs);
  for (int i = 0; i < kNumOutputs; ++i) {
    if (kOutputs[i].is_int64) {
      const std::vector<int64_t> unwritten(kOutputs[i].numel, -1);
      outputs[i].assign(reinterpret_cast<const unsigned char *>(unwritten.data()),
                        reinterpret_cast<const unsigned char *>(unwritten.data() + unwritten.size()));
    } else {
      const std::vector<float> unwritten(kOutputs[i].numel, NAN);
      outputs[i].assign(reinterpret_cast<const unsigned char *>(unwritten.data()),
                        reinterpret_cast<const unsigned char *>(unwritten.data() + unwritten.size()));
    }
    output_ptrs[i] = outputs[i].data();
  }
  // forward on the batch, its outputs recorded as <prefix><i>.
  auto forward = [&](const char *what, const std::string &prefix) {
    if (kiln_model_forward(m, inputs.data(), output_ptrs.data()) != KILN_OK)
      fail(what, m);
    for (int i = 0; i < kNumOutputs; ++i)
      result.push_back(Owned{prefix + std::to_string(i), kOutputs[i].is_int64 ? KILN_I64 : KILN_F32,
                             std::vector<int64_t>(kOutputs[i].dims,
                                                  kOutputs[i].dims + kOutputs[i].rank),
                             outputs[i]});
  };
  forward("forward", "output.");

  if (trainable) {
    if (kTargets.size() > 1)
      fail_msg("a trainable model has " + std::to_string(kTargets.size()) +
               " targets in its metadata, expected 1");
    // A loss without a target (triplet losses, a loss output): NULL.
    auto target_of = [&](int m) -> const void * {
      if (kTargets.empty())
        return nullptr;
      const std::string name =
          (m ? "micro." + std::to_string(m) + "." : "") + "target";
      kiln_tensor_view tv;
      if (kiln_safetensors_find(batch, name.c_str(), &tv) != KILN_OK)
        fail_rt(std::string(batch_path) + ": " + name);
      const kiln_dtype want = kTargets[0].is_int64 ? KILN_I64 : KILN_F32;
      if (tv.dtype != want || numel_of(tv) != kTargets[0].numel)
        fail_msg(std::string(batch_path) + ": " + name + ": expected " +
                 (want == KILN_I64 ? "I64" : "F32") + " with " +
                 std::to_string(kTargets[0].numel) + " elements");
      return tv.data;
    };
    const void *target = target_of(0);

    float loss = NAN;
    if (kiln_model_gradients(m, inputs.data(), target, &loss) != KILN_OK)
      fail("gradients", m);
    result.push_back(make_f32("loss", {}, &loss, 1));
    const int np = kiln_model_num_parameters(m);
    for (int i = 0; i < np; ++i) {
      const char *name = nullptr;
      float *data = nullptr, *grad = nullptr;
      int64_t numel = 0;
      if (kiln_model_parameter(m, i, &name, &data, &numel) != KILN_OK)
        fail("parameter", m);
      if (kiln_model_gradient(m, i, &grad) != KILN_OK)
        fail("gradient", m);
      result.push_back(make_f32(std::string(name) + ".grad",
                                param_shape(init, name, numel), grad, numel));
    }

    // A declared scheduler: created (setting the lr as torch's constructor
    // does) before the first step, stepped after every optimizer step.
    kiln_scheduler *scheduler = nullptr;
    if (kiln_parity_scheduler_create) {
      if (kiln_parity_scheduler_create(&scheduler) != KILN_OK)
        fail_rt("scheduler_create");
      if (kiln_model_apply_scheduler(m, scheduler) != KILN_OK)
        fail("apply_scheduler", m);
    }
    auto scheduler_step = [&](int s) {
      if (scheduler && kiln_model_scheduler_step(m, scheduler) != KILN_OK)
        fail(("scheduler_step " + std::to_string(s)).c_str(), m);
    };
    const int per_step = accumulate > 0 ? accumulate : 1;
    std::vector<float> losses(steps * per_step, NAN);
    if (accumulate > 0) {
      std::vector<std::vector<const void *>> micro_inputs;
      std::vector<const void *> micro_targets;
      for (int k = 0; k < accumulate; ++k) {
        micro_inputs.push_back(inputs_of(k));
        micro_targets.push_back(target_of(k));
      }
      for (int s = 0; s < steps; ++s) {
        for (int k = 0; k < accumulate; ++k)
          if (kiln_model_accumulate(m, micro_inputs[k].data(), micro_targets[k],
                                    &losses[s * accumulate + k]) != KILN_OK)
            fail(("accumulate " + std::to_string(s)).c_str(), m);
        if (kiln_model_apply(m) != KILN_OK)
          fail(("apply " + std::to_string(s)).c_str(), m);
        scheduler_step(s);
      }
      // One more round: the grad sums themselves, at the trained parameters.
      float loss_k;
      for (int k = 0; k < accumulate; ++k)
        if (kiln_model_accumulate(m, micro_inputs[k].data(), micro_targets[k],
                                  &loss_k) != KILN_OK)
          fail("accumulate", m);
      for (int i = 0; i < np; ++i) {
        const char *name = nullptr;
        float *data = nullptr, *sum = nullptr;
        int64_t numel = 0;
        if (kiln_model_parameter(m, i, &name, &data, &numel) != KILN_OK ||
            kiln_model_grad_sum(m, i, &sum) != KILN_OK)
          fail("grad_sum", m);
        result.push_back(make_f32(std::string(name) + ".grad_sum",
                                  param_shape(init, name, numel), sum, numel));
      }
    } else {
      std::vector<std::vector<const void *>> cycle_inputs;
      std::vector<const void *> cycle_targets;
      for (int k = 0; k < cycle; ++k) {
        cycle_inputs.push_back(inputs_of(k));
        cycle_targets.push_back(target_of(k));
      }
      for (int s = 0; s < steps; ++s) {
        const void *const *in = cycle > 0 ? cycle_inputs[s % cycle].data() : inputs.data();
        const void *t = cycle > 0 ? cycle_targets[s % cycle] : target;
        if (kiln_model_train_step(m, in, t, &losses[s]) != KILN_OK)
          fail(("train_step " + std::to_string(s)).c_str(), m);
        scheduler_step(s);
      }
    }
    kiln_scheduler_destroy(scheduler); // NULL when there is none
    if (update_bn > 0) {
      std::vector<std::vector<const void *>> batches;
      std::vector<const void *const *> pointers;
      for (int k = 0; k < update_bn; ++k)
        batches.push_back(inputs_of(k));
      for (const auto &b : batches)
        pointers.push_back(b.data());
      if (kiln_model_update_bn(m, update_bn, pointers.data()) != KILN_OK)
        fail("update_bn", m);
    }
    const int64_t num_losses = static_cast<int64_t>(losses.size());
    result.push_back(
        make_f32("losses", {num_losses}, losses.data(), num_losses));
    for (int i = 0; i < np; ++i) {
      const char *name = nullptr;
      float *data = nullptr;
      int64_t numel = 0;
      if (kiln_model_parameter(m, i, &name, &data, &numel) != KILN_OK)
        fail("parameter", m);
      result.push_back(
          make_f32(name, param_shape(init, name, numel), data, numel));
    }
    // Every optimizer-state tensor with the shape the optimizer file gives
    // it (<param>.<state> has its parameter's; LBFGS's flat and history
    // tensors their own).
    const int ns = kiln_model_num_states(m);
    if (ns > 0) {
      const std::string states_path = std::string(out_path) + ".optimizer";
      if (kiln_model_save_optimizer_state(m, states_path.c_str()) != KILN_OK)
        fail("save_optimizer_state", m);
      kiln_safetensors *states = nullptr;
      if (kiln_safetensors_open(states_path.c_str(), &states) != KILN_OK)
        fail_rt("open " + states_path);
      for (int i = 0; i < ns; ++i) {
        const char *name = nullptr;
        if (kiln_model_state(m, i, &name, nullptr, nullptr) != KILN_OK)
          fail("state", m);
        kiln_tensor_view v;
        if (kiln_safetensors_find(states, name, &v) != KILN_OK)
          fail_rt(std::string("state ") + name + " in " + states_path);
        result.push_back(make_f32(name, std::vector<int64_t>(v.shape, v.shape + v.rank),
                                  static_cast<const float *>(v.data), numel_of(v)));
      }
      kiln_safetensors_close(states);
      std::remove(states_path.c_str());
    }
    // Buffers (running statistics): updated by every train-mode kernel call.
    const int nb = kiln_model_num_buffers(m);
    for (int i = 0; i < nb; ++i) {
      const char *name = nullptr;
      kiln_dtype dtype = KILN_F32;
      void *data = nullptr;
      int64_t numel = 0;
      if (kiln_model_buffer(m, i, &name, &dtype, &data, &numel) != KILN_OK)
        fail("buffer", m);
      std::vector<int64_t> shape = param_shape(init, name, numel);
      if (dtype == KILN_F32) {
        result.push_back(
            make_f32(name, shape, static_cast<float *>(data), numel));
      } else {
        Owned b{name, KILN_I64, shape, {}};
        b.bytes.assign(static_cast<unsigned char *>(data),
                       static_cast<unsigned char *>(data) +
                           numel * sizeof(int64_t));
        result.push_back(b);
      }
    }
    int64_t step = -1;
    if (kiln_model_get_step(m, &step) != KILN_OK)
      fail("get_step", m);
    Owned st{"step", KILN_I64, {}, {}};
    st.bytes.assign(reinterpret_cast<unsigned char *>(&step),
                    reinterpret_cast<unsigned char *>(&step + 1));
    result.push_back(st);
    float lr = NAN;
    if (kiln_model_get_lr(m, &lr) != KILN_OK)
      fail("get_lr", m);
    result.push_back(make_f32("lr", {}, &lr, 1));
    // Every later parameter group's lr, under its optimizer-file name.
    for (int g = 1; g < kiln_model_num_param_groups(m); ++g) {
      if (kiln_model_get_group_lr(m, g, &lr) != KILN_OK)
        fail("get_group_lr", m);
      result.push_back(make_f32("param_groups." + std::to_string(g) + ".lr", {}, &lr, 1));
    }
    // A cycled momentum (a declared scheduler with cycle_momentum), per group.
    float momentum = NAN;
    if (kiln_model_get_group_momentum(m, 0, &momentum) == KILN_OK)
      for (int g = 0; g < kiln_model_num_param_groups(m); ++g) {
        if (kiln_model_get_group_momentum(m, g, &momentum) != KILN_OK)
          fail("get_group_momentum", m);
        result.push_back(make_f32(g ? "param_groups." + std::to_string(g) + ".momentum"
                                    : std::string("momentum"),
                                  {}, &momentum, 1));
      }

    if (kiln_model_set_training(m, 0) != KILN_OK)
      fail("set_training(0)", m);
    forward("forward (eval mode)", "eval_output.");

  } // inference models: forward only

  std::vector<kiln_tensor_view> views;
  for (const Owned &t : result)
    views.push_back(kiln_tensor_view{t.name.c_str(), t.dtype,
                                     static_cast<int>(t.shape.size()),
                                     t.shape.data(), t.bytes.data()});
  if (kiln_safetensors_write(out_path, views.data(),
                             static_cast<int>(views.size())) != KILN_OK)
    fail_rt(std::string("write ") + out_path);
  std::printf("parity_%s: wrote %zu tensors to %s\n", gModel.c_str(),
              views.size(), out_path);
  kiln_safetensors_close(batch);
  kiln_safetensors_close(init);
  kiln_model_destroy(m);
  return 0;
}
