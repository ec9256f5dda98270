// Concurrency contract of libkiln_rt (runtime.h, docs/reliability.md,
// "Concurrency") with two real kilnc-compiled training models: instances
// used from several threads at once give bit for bit what the same calls
// give one after another. Built and run under ThreadSanitizer by
// `scripts/build-and-test.sh --tsan`.
//
// concurrency_bn_dropout (Linear, BatchNorm1d, ReLU, Dropout, ...; CE, SGD
// momentum) has buffers and a random stream; concurrency_tanh_mse (Tanh,
// Dropout; MSE, SGD nesterov) is a second model in the same process. Both
// run their parallel loops on the one process-wide pool, sized 3 here so
// that every loop of every instance uses workers.
#include "concurrency_bn_dropout.h"
#include "concurrency_tanh_mse.h"

#include <kiln/runtime.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;

namespace {

struct ModelKind {
  const kiln_model_metadata *metadata;
  int64_t input_numel, output_numel, target_numel;
  int classes; // > 0: i64 class targets in [0, classes); 0: f32 targets
};

const ModelKind kBnDropout{&concurrency_bn_dropout__metadata,
                           CONCURRENCY_BN_DROPOUT_INPUT0_NUMEL,
                           CONCURRENCY_BN_DROPOUT_OUTPUT0_NUMEL,
                           CONCURRENCY_BN_DROPOUT_TARGET_NUMEL, 10};
const ModelKind kTanhMse{&concurrency_tanh_mse__metadata,
                         CONCURRENCY_TANH_MSE_INPUT0_NUMEL,
                         CONCURRENCY_TANH_MSE_OUTPUT0_NUMEL,
                         CONCURRENCY_TANH_MSE_TARGET_NUMEL, 0};

uint64_t splitmix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

float unit(uint64_t bits) { // [-1, 1)
  return static_cast<float>(static_cast<double>(bits >> 11) * 0x1.0p-52 - 1.0);
}

/* Batch `step` of a job's data: a pure function of (seed, step), so every
 * run of the job, on any thread, sees the same batches. */
struct Batch {
  std::vector<float> x;
  std::vector<float> target_f32;
  std::vector<int64_t> target_i64;

  Batch(const ModelKind &kind, uint64_t seed, int step) {
    uint64_t s = splitmix64(seed * 1000003u + static_cast<uint64_t>(step));
    for (int64_t i = 0; i < kind.input_numel; ++i)
      x.push_back(unit(s = splitmix64(s)));
    for (int64_t i = 0; i < kind.target_numel; ++i) {
      s = splitmix64(s);
      if (kind.classes > 0)
        target_i64.push_back(static_cast<int64_t>(s % static_cast<uint64_t>(kind.classes)));
      else
        target_f32.push_back(unit(s));
    }
  }
  const void *target() const {
    return target_i64.empty() ? static_cast<const void *>(target_f32.data())
                              : static_cast<const void *>(target_i64.data());
  }
};

/* Everything an instance holds that training changes, as raw bytes. */
struct Snapshot {
  std::vector<std::vector<unsigned char>> tensors; // parameters, buffers, states
  kiln_rng_state rng{0, 0};
  int64_t step = -1;

  bool operator==(const Snapshot &o) const {
    return tensors == o.tensors && rng.seed == o.rng.seed &&
           rng.offset == o.rng.offset && step == o.step;
  }
};

void append_bytes(Snapshot *s, const void *data, size_t bytes) {
  const auto *p = static_cast<const unsigned char *>(data);
  s->tensors.emplace_back(p, p + bytes);
}

Snapshot snapshot(kiln_model *m) {
  Snapshot s;
  for (int i = 0; i < kiln_model_num_parameters(m); ++i) {
    float *data = nullptr;
    int64_t numel = 0;
    if (kiln_model_parameter(m, i, nullptr, &data, &numel) == KILN_OK)
      append_bytes(&s, data, static_cast<size_t>(numel) * sizeof(float));
  }
  for (int i = 0; i < kiln_model_num_buffers(m); ++i) {
    void *data = nullptr;
    kiln_dtype dtype = KILN_F32;
    int64_t numel = 0;
    if (kiln_model_buffer(m, i, nullptr, &dtype, &data, &numel) == KILN_OK)
      append_bytes(&s, data, static_cast<size_t>(numel) * (dtype == KILN_I64 ? 8 : 4));
  }
  for (int i = 0; i < kiln_model_num_states(m); ++i) {
    float *data = nullptr;
    int64_t numel = 0;
    if (kiln_model_state(m, i, nullptr, &data, &numel) == KILN_OK)
      append_bytes(&s, data, static_cast<size_t>(numel) * sizeof(float));
  }
  kiln_model_get_rng(m, &s.rng);
  kiln_model_get_step(m, &s.step);
  return s;
}

std::string read_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

/* One training run: `steps` train_steps from init_parameters(seed), a
 * checkpoint after every `checkpoint_every` steps, then one eval-mode
 * forward. */
struct Job {
  const ModelKind *kind;
  uint64_t seed;
  int steps;
  int checkpoint_every;
  std::string name; // checkpoint files are <dir>/<name>.<step>.safetensors
};

/* What a run produced; compared bit for bit between runs. Worker threads
 * report failures in `error` (the main thread asserts on it). */
struct Trace {
  std::vector<uint32_t> losses;          // bit patterns
  std::vector<std::string> checkpoints;  // file contents, in order
  std::vector<uint32_t> eval_output;     // bit patterns
  Snapshot final;
  std::string error;
};

/* Saves a checkpoint of `m` to a path. The sequential runs call
 * kiln_model_save_checkpoint directly; the concurrent ones hand the
 * instance to another thread. */
using Saver = std::function<kiln_status(kiln_model *m, const std::string &path)>;

kiln_status save_here(kiln_model *m, const std::string &path) {
  return kiln_model_save_checkpoint(m, path.c_str());
}

Trace run_job(const Job &job, const fs::path &dir, const Saver &save) {
  Trace t;
  kiln_model *m = nullptr;
  auto failed = [&](const std::string &what) {
    t.error = job.name + ": " + what + ": " + (m ? kiln_model_last_error(m) : kiln_last_error());
    kiln_model_destroy(m);
    return t;
  };
  if (kiln_model_create(job.kind->metadata, &m) != KILN_OK)
    return failed("create");
  if (kiln_model_init_parameters(m, job.seed) != KILN_OK)
    return failed("init_parameters");
  for (int s = 0; s < job.steps; ++s) {
    const Batch batch(*job.kind, job.seed, s);
    const void *inputs[1] = {batch.x.data()};
    float loss = 0;
    if (kiln_model_train_step(m, inputs, batch.target(), &loss) != KILN_OK)
      return failed("train_step " + std::to_string(s));
    t.losses.push_back(bits(loss));
    if ((s + 1) % job.checkpoint_every == 0) {
      const std::string path =
          (dir / (job.name + "." + std::to_string(s + 1) + ".safetensors")).string();
      if (save(m, path) != KILN_OK)
        return failed("save_checkpoint " + path);
      t.checkpoints.push_back(read_file(path));
    }
  }
  if (kiln_model_set_training(m, 0) != KILN_OK)
    return failed("set_training(0)");
  const Batch batch(*job.kind, job.seed, job.steps);
  const void *inputs[1] = {batch.x.data()};
  std::vector<float> out(static_cast<size_t>(job.kind->output_numel));
  void *outputs[1] = {out.data()};
  if (kiln_model_forward(m, inputs, outputs) != KILN_OK)
    return failed("forward (eval)");
  for (float v : out)
    t.eval_output.push_back(bits(v));
  t.final = snapshot(m);
  kiln_model_destroy(m);
  return t;
}

/* Why two traces differ, or "" when they are equal bit for bit. */
std::string difference(const Trace &want, const Trace &got) {
  if (!got.error.empty())
    return got.error;
  if (got.losses != want.losses)
    return "losses differ";
  if (got.checkpoints != want.checkpoints)
    return "checkpoint files differ";
  if (got.eval_output != want.eval_output)
    return "eval outputs differ";
  if (!(got.final == want.final))
    return "final parameters, buffers, states, step or rng differ";
  return "";
}

/* The thread that saves checkpoints: of instances handed to it by their
 * trainers (who wait meanwhile, so each instance is used by one thread at a
 * time, as runtime.h requires), and, whenever it has no such request, of
 * its own instance `c`, over and over, each file checked against `c`'s
 * expected bytes and every few loaded back into `scratch`. */
class Checkpointer {
public:
  Checkpointer(kiln_model *c, kiln_model *scratch, std::string path, std::string expected)
      : c_(c), scratch_(scratch), path_(std::move(path)), expected_(std::move(expected)),
        expected_snapshot_(snapshot(c)) {}

  /* Called by a trainer: returns once the checkpointer thread saved m. */
  kiln_status save(kiln_model *m, const std::string &path) {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return !request_; });
    request_ = m;
    request_path_ = path;
    cv_.notify_all();
    cv_.wait(lock, [&] { return served_ == m; });
    served_ = nullptr;
    cv_.notify_all();
    return served_status_;
  }

  void stop() {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
    cv_.notify_all();
  }

  /* The thread's body. */
  void run() {
    for (;;) {
      kiln_model *m = nullptr;
      std::string path;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        if (request_ && !served_) {
          m = request_;
          path = request_path_;
        } else if (stop_ && background_saves_ > 0) {
          return;
        }
      }
      if (m) {
        const kiln_status status = kiln_model_save_checkpoint(m, path.c_str());
        std::lock_guard<std::mutex> lock(mutex_);
        request_ = nullptr;
        served_ = m;
        served_status_ = status;
        cv_.notify_all();
        continue;
      }
      save_own();
    }
  }

  int background_saves() const { return background_saves_; }
  const std::string &error() const { return error_; }

private:
  void save_own() {
    ++background_saves_;
    if (kiln_model_save_checkpoint(c_, path_.c_str()) != KILN_OK) {
      error_ = std::string("background save: ") + kiln_model_last_error(c_);
      return;
    }
    if (read_file(path_) != expected_)
      error_ = "background checkpoint " + std::to_string(background_saves_) +
               " differs from the sequential one";
    if (background_saves_ % 4 == 1) {
      if (kiln_model_load_checkpoint(scratch_, path_.c_str()) != KILN_OK)
        error_ = std::string("background load: ") + kiln_model_last_error(scratch_);
      else if (!(snapshot(scratch_) == expected_snapshot_))
        error_ = "background checkpoint loads as another state";
    }
  }

  kiln_model *c_, *scratch_;
  const std::string path_, expected_;
  const Snapshot expected_snapshot_;

  std::mutex mutex_;
  std::condition_variable cv_;
  kiln_model *request_ = nullptr; // guarded by mutex_
  std::string request_path_;
  kiln_model *served_ = nullptr;
  kiln_status served_status_ = KILN_OK;
  bool stop_ = false;
  int background_saves_ = 0; // written by the thread; read after join
  std::string error_;
};

class ModelConcurrency : public ::testing::Test {
protected:
  void SetUp() override {
    saved_threads_ = kiln_get_num_threads();
    ASSERT_EQ(kiln_set_num_threads(3), KILN_OK);
    std::string tmpl = (fs::temp_directory_path() / "kiln_concurrency_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    fs::create_directory(dir_ / "seq");
    fs::create_directory(dir_ / "par");
  }
  void TearDown() override {
    kiln_set_num_threads(saved_threads_);
    fs::remove_all(dir_);
  }

  /* An initialised instance trained `steps` steps, owned by the fixture. */
  kiln_model *trained(const ModelKind &kind, uint64_t seed, int steps) {
    kiln_model *m = nullptr;
    EXPECT_EQ(kiln_model_create(kind.metadata, &m), KILN_OK) << kiln_last_error();
    if (!m)
      return nullptr;
    owned_.emplace_back(m, kiln_model_destroy);
    EXPECT_EQ(kiln_model_init_parameters(m, seed), KILN_OK);
    for (int s = 0; s < steps; ++s) {
      const Batch batch(kind, seed, s);
      const void *inputs[1] = {batch.x.data()};
      float loss;
      EXPECT_EQ(kiln_model_train_step(m, inputs, batch.target(), &loss), KILN_OK)
          << kiln_model_last_error(m);
    }
    return m;
  }

  fs::path dir_;
  int saved_threads_ = 1;
  std::vector<std::unique_ptr<kiln_model, void (*)(kiln_model *)>> owned_;
};

/* The scenario: two instances (of two models) train on two threads
 * while a third thread saves checkpoints, of a third instance and of the
 * trainers' instances, handed over between steps. */
TEST_F(ModelConcurrency, TwoTrainersAndACheckpointerMatchSequentialUse) {
  const Job a{&kBnDropout, 11, 24, 8, "a"};
  const Job b{&kTanhMse, 12, 24, 6, "b"};
  const Trace want_a = run_job(a, dir_ / "seq", save_here);
  const Trace want_b = run_job(b, dir_ / "seq", save_here);
  ASSERT_EQ(want_a.error, "");
  ASSERT_EQ(want_b.error, "");
  ASSERT_EQ(want_a.checkpoints.size(), 3u);

  kiln_model *c = trained(kBnDropout, 13, 5);
  kiln_model *scratch = trained(kBnDropout, 14, 0);
  ASSERT_NE(c, nullptr);
  ASSERT_NE(scratch, nullptr);
  const std::string c_seq = (dir_ / "seq" / "c.safetensors").string();
  ASSERT_EQ(kiln_model_save_checkpoint(c, c_seq.c_str()), KILN_OK);

  Checkpointer checkpointer(c, scratch, (dir_ / "par" / "c.safetensors").string(),
                            read_file(c_seq));
  const Saver handed_over = [&](kiln_model *m, const std::string &path) {
    return checkpointer.save(m, path);
  };
  Trace got_a, got_b;
  std::thread saver([&] { checkpointer.run(); });
  std::thread train_a([&] { got_a = run_job(a, dir_ / "par", handed_over); });
  std::thread train_b([&] { got_b = run_job(b, dir_ / "par", handed_over); });
  train_a.join();
  train_b.join();
  checkpointer.stop();
  saver.join();

  EXPECT_EQ(difference(want_a, got_a), "");
  EXPECT_EQ(difference(want_b, got_b), "");
  EXPECT_EQ(checkpointer.error(), "");
  EXPECT_GE(checkpointer.background_saves(), 1);
}

/* Four instances of one model, same seed, on four threads at once: four
 * callers of the pool, every one getting what one caller alone gets. */
TEST_F(ModelConcurrency, FourInstancesOfOneModelMatchSequentialUse) {
  const Job job{&kBnDropout, 21, 16, 8, "same"};
  const Trace want = run_job(job, dir_ / "seq", save_here);
  ASSERT_EQ(want.error, "");
  std::vector<Trace> got(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < got.size(); ++i)
    threads.emplace_back([&, i] {
      fs::path own = dir_ / "par" / std::to_string(i);
      fs::create_directory(own);
      got[i] = run_job(job, own, save_here);
    });
  for (std::thread &t : threads)
    t.join();
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_EQ(difference(want, got[i]), "") << "instance " << i;
}

/* kiln_set_num_threads from another thread while two instances train: the
 * pool stops and restarts its workers between loops, and results do not
 * depend on how many threads run a loop (each chunk computes its own
 * outputs). */
TEST_F(ModelConcurrency, PoolResizedWhileInstancesTrain) {
  const Job a{&kBnDropout, 31, 16, 16, "a"};
  const Job b{&kTanhMse, 32, 16, 16, "b"};
  const Trace want_a = run_job(a, dir_ / "seq", save_here);
  const Trace want_b = run_job(b, dir_ / "seq", save_here);
  ASSERT_EQ(want_a.error, "");
  ASSERT_EQ(want_b.error, "");

  std::atomic<bool> done{false};
  std::atomic<int> resizes{0}, resize_failures{0};
  std::thread resizer([&] {
    for (int n = 0; !done.load() || resizes.load() == 0; ++n) {
      if (kiln_set_num_threads(1 + n % 4) != KILN_OK)
        ++resize_failures;
      ++resizes;
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
  });
  Trace got_a, got_b;
  std::thread train_a([&] { got_a = run_job(a, dir_ / "par", save_here); });
  std::thread train_b([&] { got_b = run_job(b, dir_ / "par", save_here); });
  train_a.join();
  train_b.join();
  done = true;
  resizer.join();

  EXPECT_EQ(difference(want_a, got_a), "");
  EXPECT_EQ(difference(want_b, got_b), "");
  EXPECT_EQ(resize_failures.load(), 0);
  EXPECT_GT(resizes.load(), 0);
}

/* Saves of two instances to one path at once, and a third thread loading
 * it meanwhile: every save succeeds, every load sees one complete
 * checkpoint (the rename is atomic), the file ends as one of the two, and
 * no temporary is left behind. */
TEST_F(ModelConcurrency, ConcurrentSavesToOnePathLeaveOneCompleteFile) {
  kiln_model *p = trained(kBnDropout, 41, 3);
  kiln_model *q = trained(kBnDropout, 42, 4);
  kiln_model *reader = trained(kBnDropout, 43, 0);
  ASSERT_TRUE(p && q && reader);
  const Snapshot want_p = snapshot(p), want_q = snapshot(q);
  const std::string p_seq = (dir_ / "seq" / "p.safetensors").string();
  const std::string q_seq = (dir_ / "seq" / "q.safetensors").string();
  ASSERT_EQ(kiln_model_save_checkpoint(p, p_seq.c_str()), KILN_OK);
  ASSERT_EQ(kiln_model_save_checkpoint(q, q_seq.c_str()), KILN_OK);

  const std::string target = (dir_ / "par" / "shared.safetensors").string();
  ASSERT_EQ(kiln_model_save_checkpoint(p, target.c_str()), KILN_OK);
  constexpr int kSaves = 12;
  std::atomic<int> save_failures{0}, writers_left{2};
  std::string load_error;
  auto writer = [&](kiln_model *m) {
    for (int i = 0; i < kSaves; ++i)
      if (kiln_model_save_checkpoint(m, target.c_str()) != KILN_OK)
        ++save_failures;
    --writers_left;
  };
  int loads = 0;
  std::thread wp(writer, p), wq(writer, q);
  std::thread loader([&] {
    while (writers_left.load() > 0 || loads == 0) {
      ++loads;
      if (kiln_model_load_checkpoint(reader, target.c_str()) != KILN_OK) {
        load_error = kiln_model_last_error(reader);
        return;
      }
      const Snapshot got = snapshot(reader);
      if (!(got == want_p) && !(got == want_q)) {
        load_error = "load " + std::to_string(loads) + " is neither checkpoint";
        return;
      }
    }
  });
  wp.join();
  wq.join();
  loader.join();

  EXPECT_EQ(save_failures.load(), 0);
  EXPECT_EQ(load_error, "");
  const std::string final = read_file(target);
  EXPECT_TRUE(final == read_file(p_seq) || final == read_file(q_seq));
  std::vector<std::string> left;
  for (const fs::directory_entry &e : fs::directory_iterator(dir_ / "par"))
    left.push_back(e.path().filename().string());
  EXPECT_EQ(left, std::vector<std::string>{"shared.safetensors"});
}

/* One open safetensors handle read from four threads (a data loader's
 * pattern): every thread sees every tensor, by index and by name. */
TEST_F(ModelConcurrency, OneSafetensorsHandleReadFromFourThreads) {
  kiln_model *m = trained(kBnDropout, 51, 2);
  ASSERT_NE(m, nullptr);
  const std::string path = (dir_ / "seq" / "m.safetensors").string();
  ASSERT_EQ(kiln_model_save_checkpoint(m, path.c_str()), KILN_OK);
  kiln_safetensors *file = nullptr;
  ASSERT_EQ(kiln_safetensors_open(path.c_str(), &file), KILN_OK) << kiln_last_error();
  std::vector<std::string> errors(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < errors.size(); ++i)
    threads.emplace_back([&, i] {
      for (int round = 0; round < 20 && errors[i].empty(); ++round)
        for (int k = 0; k < kiln_safetensors_count(file); ++k) {
          kiln_tensor_view by_index, by_name;
          if (kiln_safetensors_get(file, k, &by_index) != KILN_OK ||
              kiln_safetensors_find(file, by_index.name, &by_name) != KILN_OK ||
              by_name.data != by_index.data) {
            errors[i] = "tensor " + std::to_string(k) + ": " + kiln_last_error();
            break;
          }
        }
    });
  for (std::thread &t : threads)
    t.join();
  kiln_safetensors_close(file);
  for (const std::string &e : errors)
    EXPECT_EQ(e, "");
}

} // namespace
