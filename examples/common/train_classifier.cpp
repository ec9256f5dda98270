// Trains a Kiln-compiled image classifier on Fashion-MNIST through its
// generated C API. One source for every example model: it is compiled once
// per model (kiln_add_fashion_mnist_trainer in CMakeLists.txt) with
//   -DKILN_PREFIX=<name> -DKILN_PREFIX_UPPER=<NAME> -DKILN_HEADER="<name>.h"
//   -DKILN_EXAMPLE_TITLE="..." -DKILN_EXAMPLE_EPOCHS=<default epochs>
// and the model brings its own loss and optimizer (compiled into train_step)
// and, where its file declares one, its learning-rate scheduler
// (<PREFIX>_HAS_SCHEDULER), stepped once per epoch, or after every batch
// with -DKILN_EXAMPLE_SCHEDULER_PER_BATCH=1 (OneCycleLR's recipe).
//
// With -DKILN_EXAMPLE_MPI=1 (a model compiled with kilnc --data-parallel,
// linked with kiln_rt_mpi) it trains data-parallel under mpirun, as torch's
// DistributedDataParallel with a DistributedSampler: every process shuffles
// the same way each epoch and takes its own shard (every world_size-th
// sample of the permutation, padded by repeating its start to a multiple of
// world_size), the compiled step averages the gradients, and rank 0 prints,
// evaluates and writes the checkpoints; --resume loads them on every rank.
//
// Recipe (the same as the PyTorch reference beside each example): pixels
// scaled to [0, 1], batches of <PREFIX>_BATCH_SIZE drawn from a fresh
// shuffle each epoch. The model has static shapes, so a last partial batch
// is padded to a full batch with target -100, the CrossEntropyLoss
// ignore_index: the mean loss and the gradient are then those of the real
// samples, as with PyTorch's DataLoader(drop_last=False). (Batch statistics
// of a BatchNorm would see the padding rows: models with batch norm use a
// batch size that divides 60000.)
#include "idx_reader.h"
#include KILN_HEADER

#include <kiln/runtime.h>
#ifndef KILN_EXAMPLE_MPI
#define KILN_EXAMPLE_MPI 0
#endif
#if KILN_EXAMPLE_MPI
#include <kiln/comm_mpi.h>
#endif

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#define KILN_CAT_(a, b) a##b
#define KILN_CAT(a, b) KILN_CAT_(a, b)
#define KFN(suffix) KILN_CAT(KILN_PREFIX, suffix)
#define KCONST(suffix) KILN_CAT(KILN_PREFIX_UPPER, suffix)
#define KSTR_(x) #x
#define KSTR(x) KSTR_(x)
#ifndef KILN_EXAMPLE_SCHEDULER_PER_BATCH
#define KILN_EXAMPLE_SCHEDULER_PER_BATCH 0
#endif

namespace {

typedef KFN(_model) model_t;
constexpr const char *kModel = KSTR(KILN_PREFIX);
constexpr int64_t kBatch = KCONST(_BATCH_SIZE);
constexpr int64_t kPixels = KCONST(_INPUT0_NUMEL) / kBatch; // 1*28*28
constexpr int64_t kClasses = KCONST(_OUTPUT0_NUMEL) / kBatch;
constexpr int64_t kIgnoreIndex = -100;
static_assert(KCONST(_TRAINABLE), "compile the model with --mode=train");
static_assert(KCONST(_TARGET_IS_INT64), "the model must take class indices");
static_assert(kPixels == 28 * 28, "the model must take 28x28 images");
static_assert(kClasses == 10, "the model must have 10 outputs per image");

// The program's name in messages (argv[0]'s base name).
std::string g_program = "train";
// This process and the number of processes (1 and 0 without MPI).
int g_rank = 0, g_world = 1;

const char kUsage[] =
    "usage: %s [options]\n"
    "Trains " KILN_EXAMPLE_TITLE " on Fashion-MNIST\n"
    "(batch %lld; the loss and optimizer are compiled into the model) and prints,\n"
    "after each epoch, the mean training loss, the test accuracy (eval mode),\n"
    "the epoch's learning rate and the training throughput. A learning-rate\n"
    "scheduler compiled into the model is stepped once per "
#if KILN_EXAMPLE_SCHEDULER_PER_BATCH
    "batch"
#else
    "epoch"
#endif
    " and saved\n"
    "with --checkpoint.\n"
    "\n"
    "  --epochs N        train until epoch N (default %d; with --resume, the\n"
    "                    epochs already done count)\n"
    "  --data-dir DIR    directory with train-images-idx3-ubyte.gz,\n"
    "                    train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz,\n"
    "                    t10k-labels-idx1-ubyte.gz\n"
    "                    (default /usr/share/datasets/fashion-mnist)\n"
    "  --seed S          seed of the parameter initialisation and of the\n"
    "                    shuffles (default 0)\n"
    "  --threads N       threads of the Kiln runtime (default: KILN_NUM_THREADS,\n"
    "                    else all hardware threads)\n"
    "  --checkpoint DIR  after each epoch write DIR/model.safetensors,\n"
    "                    DIR/optimizer.safetensors and DIR/epoch.txt\n"
    "  --resume DIR      load a checkpoint written by --checkpoint and continue\n"
    "                    with the next epoch (the same DIR may be given to both)\n"
    "  --help            print this text\n"
    "\n"
    "The files are gzip'ed IDX; they are decompressed with `gzip -dc`.\n";

[[noreturn]] void usage_error(const std::string &msg) {
  std::fprintf(stderr, "%s: %s\n(see --help)\n", g_program.c_str(), msg.c_str());
  std::exit(2);
}

[[noreturn]] void fail(const std::string &msg) {
  std::fprintf(stderr, "%s: error: %s\n", g_program.c_str(), msg.c_str());
#if KILN_EXAMPLE_MPI
  if (g_world > 1) // the other ranks would wait in the next collective
    MPI_Abort(MPI_COMM_WORLD, 1);
#endif
  std::exit(1);
}

// Exits with the model's message when a generated-API call fails.
void check(int status, const model_t *model, const char *what) {
  if (status != KILN_OK)
    fail(std::string(what) + " failed (status " + std::to_string(status) +
         "): " + KFN(_last_error)(model));
}

int64_t parse_int(const std::string &flag, const char *text, int64_t lo) {
  char *end = nullptr;
  errno = 0;
  long long v = std::strtoll(text, &end, 10);
  if (errno || end == text || *end != '\0' || v < lo)
    usage_error(flag + " expects an integer >= " + std::to_string(lo) +
                ", got '" + text + "'");
  return v;
}

struct Options {
  int64_t epochs = KILN_EXAMPLE_EPOCHS;
  std::string data_dir = "/usr/share/datasets/fashion-mnist";
  uint64_t seed = 0;
  int threads = 0; // 0: runtime default
  std::string checkpoint, resume;
};

Options parse_args(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::printf(kUsage, g_program.c_str(), (long long)kBatch,
                  int(KILN_EXAMPLE_EPOCHS));
      std::exit(0);
    }
    // Accept both "--flag value" and "--flag=value".
    std::string value;
    bool has_value = false;
    if (size_t eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
      has_value = true;
    }
    auto next = [&]() -> std::string {
      if (has_value)
        return value;
      if (i + 1 >= argc)
        usage_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--epochs")
      o.epochs = parse_int(a, next().c_str(), 1);
    else if (a == "--data-dir")
      o.data_dir = next();
    else if (a == "--seed")
      o.seed = uint64_t(parse_int(a, next().c_str(), 0));
    else if (a == "--threads")
      o.threads = int(parse_int(a, next().c_str(), 1));
    else if (a == "--checkpoint")
      o.checkpoint = next();
    else if (a == "--resume")
      o.resume = next();
    else
      usage_error(std::string("unknown argument '") + argv[i] + "'");
  }
  return o;
}

// The shuffle of one epoch, a function of (seed, epoch) only, so that a
// resumed run sees the same batches as an uninterrupted one. Fisher-Yates
// with Lemire's multiply-shift reduction: no implementation-defined
// distribution, the same order with every standard library.
std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch) {
  std::seed_seq seq{uint32_t(seed), uint32_t(seed >> 32), uint32_t(epoch)};
  std::mt19937_64 rng(seq);
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i)
    order[i] = i;
  for (int64_t i = n - 1; i > 0; --i) {
    auto j = int64_t((unsigned __int128)rng() * uint64_t(i + 1) >> 64);
    std::swap(order[i], order[j]);
  }
  return order;
}

// This process's samples of an epoch: DistributedSampler's shard of the
// permutation (padded by repeating its start to a multiple of the world
// size, then every g_world-th entry from g_rank); the whole permutation
// alone.
std::vector<int64_t> my_shard(const std::vector<int64_t> &order) {
  if (g_world == 1)
    return order;
  const int64_t n = int64_t(order.size());
  const int64_t per_rank = (n + g_world - 1) / g_world;
  std::vector<int64_t> shard;
  shard.reserve(per_rank);
  for (int64_t i = g_rank; i < per_rank * g_world; i += g_world)
    shard.push_back(order[i % n]);
  return shard;
}

// Copies rows order[begin, begin + count) into a full batch; rows past
// `count` get zero pixels and target kIgnoreIndex.
void gather(const idx::Dataset &d, const int64_t *order, int64_t count,
            float *x, int64_t *t) {
  for (int64_t r = 0; r < count; ++r) {
    std::memcpy(x + r * kPixels, d.images.data() + order[r] * kPixels,
                kPixels * sizeof(float));
    t[r] = d.labels[order[r]];
  }
  std::fill(x + count * kPixels, x + kBatch * kPixels, 0.0f);
  std::fill(t + count, t + kBatch, kIgnoreIndex);
}

// Test accuracy in eval mode, in batches of kBatch, the last one padded;
// only real rows count.
double evaluate(model_t *model, const idx::Dataset &test) {
  std::vector<float> x(kBatch * kPixels), logits(kBatch * kClasses);
  std::vector<int64_t> t(kBatch), order(test.n);
  for (int64_t i = 0; i < test.n; ++i)
    order[i] = i;
  check(KFN(_set_training)(model, 0), model, KSTR(KILN_PREFIX) "_set_training(0)");
  int64_t correct = 0;
  for (int64_t b = 0; b < test.n; b += kBatch) {
    int64_t count = std::min(kBatch, test.n - b);
    gather(test, order.data() + b, count, x.data(), t.data());
    const void *inputs[] = {x.data()};
    void *outputs[] = {logits.data()};
    check(KFN(_forward)(model, inputs, outputs), model, KSTR(KILN_PREFIX) "_forward");
    for (int64_t r = 0; r < count; ++r) {
      const float *row = logits.data() + r * kClasses;
      if (std::max_element(row, row + kClasses) - row == t[r])
        ++correct;
    }
  }
  check(KFN(_set_training)(model, 1), model, KSTR(KILN_PREFIX) "_set_training(1)");
  return 100.0 * double(correct) / double(test.n);
}

// Writes `text` to `path` atomically (temp file + rename), like the runtime
// does for safetensors, so a crash never leaves a half-written epoch.txt.
void write_atomically(const std::string &path, const std::string &text) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << text;
    if (!f.flush())
      fail("cannot write " + tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec)
    fail("cannot rename " + tmp + " to " + path + ": " + ec.message());
}

void save_checkpoint(model_t *model, const std::string &dir, int64_t epoch) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    fail("cannot create checkpoint directory " + dir + ": " + ec.message());
  // epoch.txt last: it is written only once both tensors files are complete.
  check(KFN(_save_parameters)(model, (dir + "/model.safetensors").c_str()), model,
        KSTR(KILN_PREFIX) "_save_parameters");
  check(KFN(_save_optimizer_state)(model, (dir + "/optimizer.safetensors").c_str()),
        model, KSTR(KILN_PREFIX) "_save_optimizer_state");
  write_atomically(dir + "/epoch.txt", std::to_string(epoch) + "\n");
}

// Loads a checkpoint and returns the number of epochs it has completed.
int64_t load_checkpoint(model_t *model, const std::string &dir,
                        int64_t steps_per_epoch) {
  std::ifstream f(dir + "/epoch.txt");
  int64_t epoch = -1;
  if (!(f >> epoch) || epoch < 0)
    fail(dir + "/epoch.txt is missing or does not hold an epoch number "
               "(was the checkpoint written by --checkpoint?)");
  check(KFN(_load_parameters)(model, (dir + "/model.safetensors").c_str()), model,
        KSTR(KILN_PREFIX) "_load_parameters");
  check(KFN(_load_optimizer_state)(model, (dir + "/optimizer.safetensors").c_str()),
        model, KSTR(KILN_PREFIX) "_load_optimizer_state");
  // The optimizer state carries the step counter: it must agree.
  int64_t step = -1;
  check(KFN(_get_step)(model, &step), model, KSTR(KILN_PREFIX) "_get_step");
  if (step != epoch * steps_per_epoch)
    fail(dir + ": epoch.txt says " + std::to_string(epoch) +
         " epochs but the optimizer state has done " + std::to_string(step) +
         " steps, expected " + std::to_string(epoch * steps_per_epoch));
  return epoch;
}

} // namespace

int main(int argc, char **argv) {
  if (argc > 0 && argv[0])
    g_program = std::filesystem::path(argv[0]).filename().string();
#if KILN_EXAMPLE_MPI
  // MPI_THREAD_SERIALIZED: the runtime's communication thread averages the
  // gradient buckets while the backward runs (kiln/comm.h).
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_world);
#endif
  Options opt = parse_args(argc, argv);
  if (opt.threads > 0 && kiln_set_num_threads(opt.threads) != KILN_OK)
    fail(std::string("kiln_set_num_threads: ") + kiln_last_error());

  std::string err;
  idx::Dataset train, test;
  if (!idx::load_fashion_mnist(opt.data_dir, "train", &train, &err) ||
      !idx::load_fashion_mnist(opt.data_dir, "t10k", &test, &err))
    fail(err + "\n(--data-dir gives the directory of the Fashion-MNIST .gz files)");

  model_t *model = nullptr;
  check(KFN(_create)(&model), nullptr, KSTR(KILN_PREFIX) "_create");
  const int64_t samples_per_rank = (train.n + g_world - 1) / g_world;
  const int64_t steps_per_epoch = (samples_per_rank + kBatch - 1) / kBatch;
#if KCONST(_HAS_SCHEDULER)
  // The model file's learning-rate schedule, stepped once per epoch as the
  // PyTorch reference does. Attached before a resume so that the checkpoint
  // restores its state with the optimizer's.
  kiln_scheduler *scheduler = nullptr;
  check(KFN(_scheduler_create)(&scheduler), nullptr, KSTR(KILN_PREFIX) "_scheduler_create");
  check(kiln_model_apply_scheduler(reinterpret_cast<kiln_model *>(model), scheduler), model,
        "kiln_model_apply_scheduler");
  check(KFN(_attach_scheduler)(model, scheduler), model, KSTR(KILN_PREFIX) "_attach_scheduler");
#endif
  int64_t done = 0;
  if (!opt.resume.empty()) {
    done = load_checkpoint(model, opt.resume, steps_per_epoch);
    if (g_rank == 0)
      std::printf("resumed from %s after epoch %lld\n", opt.resume.c_str(),
                  (long long)done);
  } else {
    check(KFN(_init_parameters)(model, opt.seed), model, KSTR(KILN_PREFIX) "_init_parameters");
  }
#if KILN_EXAMPLE_MPI
  // Gradients averaged over the processes inside train_step; rank 0's
  // parameters to everyone (the same already: same seed or checkpoint).
  kiln_comm *comm = nullptr;
  if (kiln_comm_create_mpi(MPI_COMM_WORLD, 300.0, &comm) != KILN_OK)
    fail(std::string("kiln_comm_create_mpi: ") + kiln_last_error());
  check(KFN(_attach_comm)(model, comm), model, KSTR(KILN_PREFIX) "_attach_comm");
#endif
  if (g_rank == 0) {
    std::printf("%s on Fashion-MNIST: %lld train / %lld test images, batch %lld, "
                "%lld steps per epoch, %d threads",
                kModel, (long long)train.n, (long long)test.n, (long long)kBatch,
                (long long)steps_per_epoch, kiln_get_num_threads());
    if (g_world > 1)
      std::printf(" per process, %d processes (global batch %lld)", g_world,
                  (long long)(kBatch * g_world));
    std::printf("\n");
    std::fflush(stdout);
  }

  std::vector<float> x(kBatch * kPixels);
  std::vector<int64_t> t(kBatch);
  for (int64_t epoch = done + 1; epoch <= opt.epochs; ++epoch) {
    std::vector<int64_t> order = my_shard(epoch_order(train.n, opt.seed, epoch));
    const int64_t mine = int64_t(order.size());
    double loss_sum = 0; // sum over samples of the per-sample loss
    double train_s = 0;
    for (int64_t s = 0; s < steps_per_epoch; ++s) {
      int64_t count = std::min(kBatch, mine - s * kBatch);
      auto t0 = std::chrono::steady_clock::now();
      gather(train, order.data() + s * kBatch, count, x.data(), t.data());
      const void *inputs[] = {x.data()};
      float loss = 0;
      check(KFN(_train_step)(model, inputs, t.data(), &loss), model,
            KSTR(KILN_PREFIX) "_train_step");
#if KCONST(_HAS_SCHEDULER) && KILN_EXAMPLE_SCHEDULER_PER_BATCH
      check(KFN(_scheduler_step)(model, scheduler), model, KSTR(KILN_PREFIX) "_scheduler_step");
#endif
      train_s += std::chrono::duration<double>(
                     std::chrono::steady_clock::now() - t0).count();
      loss_sum += double(loss) * double(count);
      if (g_rank == 0 && ((s + 1) % 20 == 0 || s + 1 == steps_per_epoch))
        std::fprintf(stderr, "\r epoch %lld [%4lld/%lld] loss %.4f",
                     (long long)epoch, (long long)(s + 1),
                     (long long)steps_per_epoch,
                     loss_sum / double(std::min(mine, (s + 1) * kBatch)));
    }
    if (g_rank == 0)
      std::fputc('\n', stderr);
    double samples = double(mine);
#if KILN_EXAMPLE_MPI
    // The epoch's loss over every process's samples.
    double sums[2] = {loss_sum, samples}, total[2] = {0, 0};
    MPI_Allreduce(sums, total, 2, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    loss_sum = total[0];
    samples = total[1];
#endif
    double acc = g_rank == 0 ? evaluate(model, test) : 0;
    float lr = 0;
    check(KFN(_get_lr)(model, &lr), model, KSTR(KILN_PREFIX) "_get_lr");
    if (g_rank == 0) {
      std::printf("epoch %lld: train loss %.4f  test accuracy %.2f%%  lr %.6g  %.0f "
                  "samples/s\n",
                  (long long)epoch, loss_sum / samples, acc, double(lr),
                  samples / train_s);
      std::fflush(stdout);
    }
#if KCONST(_HAS_SCHEDULER) && !KILN_EXAMPLE_SCHEDULER_PER_BATCH
    check(KFN(_scheduler_step)(model, scheduler), model, KSTR(KILN_PREFIX) "_scheduler_step");
#endif
    if (!opt.checkpoint.empty() && g_rank == 0)
      save_checkpoint(model, opt.checkpoint, epoch);
#if KILN_EXAMPLE_MPI
    // A resume reads what rank 0 wrote: nobody runs ahead of the write.
    MPI_Barrier(MPI_COMM_WORLD);
#endif
  }
  KFN(_destroy)(model);
#if KILN_EXAMPLE_MPI
  kiln_comm_destroy(comm);
  MPI_Finalize();
#endif
#if KCONST(_HAS_SCHEDULER)
  kiln_scheduler_destroy(scheduler);
#endif
  return 0;
}
