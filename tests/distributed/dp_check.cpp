// Data-parallel training over MPI (docs/distributed.md), run by ctest as
// `mpirun -np 2 dp_check`: each rank trains the --data-parallel build of a
// model on its half of every batch of 2B rows; every rank also trains the
// ordinary build of the same model at batch 2B on whole batches. After the
// steps, each rank's parameters must equal the 2B model's (rel 1e-5): the
// all-reduce averaged the gradients as one process with the whole batch
// computes them. The ranks start from different seeds, so the check also
// covers kiln_model_attach_comm's broadcast of rank 0's parameters.
// Checked for SGD (momentum, weight decay), Adam, and Nesterov SGD with
// clip_grad_norm, train_step and accumulate + apply (two micro-batches per
// step); LBFGS with its strong-Wolfe line search (the runtime's driver
// averages each closure's loss and gradients); SparseAdam on a sparse
// EmbeddingBag; SyncBatchNorm; BatchNorm's buffers from rank 0.
#include <kiln/comm_mpi.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

extern "C" const kiln_model_metadata dp_sgd_b8__metadata, dp_sgd_b16__metadata,
    dp_adam_b8__metadata, dp_adam_b16__metadata, dp_sgd_b8_plain__metadata,
    dp_syncbn_b8__metadata, dp_syncbn_b16__metadata, dp_bn_b8__metadata,
    dp_clip_b8__metadata, dp_clip_b16__metadata, dp_lbfgs_b8__metadata,
    dp_lbfgs_b16__metadata, dp_sparse_b8__metadata, dp_sparse_b16__metadata;
#ifdef KILN_DP_CUDA_EMULATED
extern "C" const kiln_model_metadata dp_sgd_b8_cudaemu__metadata,
    dp_adam_b8_cudaemu__metadata, dp_syncbn_b8_cudaemu__metadata,
    dp_clip_b8_cudaemu__metadata;
#endif

namespace {

constexpr int kFeatures = 12, kClasses = 5, kLocal = 8, kSteps = 10;
int rank = 0, size = 1;

bool ok(kiln_status status, const char *what) {
  if (status == KILN_OK)
    return true;
  std::fprintf(stderr, "rank %d: %s failed: %s\n", rank, what, kiln_last_error());
  return false;
}

/* The embedding models' input (dp_sparse_*): kBag indices per row into
 * kRows rows, few enough per batch that some rows are read by one rank
 * only. */
constexpr int kBag = 3, kRows = 40;

struct Batch {
  std::vector<float> x;     // [rows, kFeatures], or
  std::vector<int64_t> ix;  // [rows, kBag] for the embedding models
  std::vector<int64_t> y;
  const void *input() const { return ix.empty() ? static_cast<const void *>(x.data()) : ix.data(); }
};

/* Batch `step` of 2B rows, the same on every rank. */
Batch whole_batch(int step, bool indices = false) {
  std::mt19937_64 rng(1000 + step);
  std::normal_distribution<float> normal;
  Batch b;
  if (indices)
    b.ix.resize(2 * kLocal * kBag);
  else
    b.x.resize(2 * kLocal * kFeatures);
  b.y.resize(2 * kLocal);
  for (float &v : b.x)
    v = normal(rng);
  for (int64_t &v : b.ix)
    v = static_cast<int64_t>(rng() % kRows);
  for (int64_t &v : b.y)
    v = static_cast<int64_t>(rng() % kClasses);
  return b;
}

/* Rows [r B, (r + 1) B) of `b`. */
Batch shard(const Batch &b, int r) {
  Batch s;
  if (!b.x.empty())
    s.x.assign(b.x.begin() + r * kLocal * kFeatures, b.x.begin() + (r + 1) * kLocal * kFeatures);
  if (!b.ix.empty())
    s.ix.assign(b.ix.begin() + r * kLocal * kBag, b.ix.begin() + (r + 1) * kLocal * kBag);
  s.y.assign(b.y.begin() + r * kLocal, b.y.begin() + (r + 1) * kLocal);
  return s;
}

/* One optimizer step of `m`: train_step on one batch, or accumulate over
 * several (micro-batches) and apply. */
bool step(kiln_model *m, const std::vector<Batch> &batches) {
  float loss = 0;
  if (batches.size() == 1) {
    const void *in[] = {batches[0].input()};
    return ok(kiln_model_train_step(m, in, batches[0].y.data(), &loss), "train_step");
  }
  for (const Batch &b : batches) {
    const void *in[] = {b.input()};
    if (!ok(kiln_model_accumulate(m, in, b.y.data(), &loss), "accumulate"))
      return false;
  }
  return ok(kiln_model_apply(m), "apply");
}

/* The largest |a - b| / (atol/rtol + |b|) over every parameter and f32
 * buffer (BatchNorm's running statistics): <= rtol passes. */
double compare(kiln_model *a, kiln_model *b, double rtol, double atol, std::string *worst) {
  double score = 0;
  const int params = kiln_model_num_parameters(a);
  for (int i = 0; i < params + kiln_model_num_buffers(a); ++i) {
    const char *name = nullptr;
    float *da = nullptr, *db = nullptr;
    int64_t na = 0, nb = 0;
    if (i < params) {
      kiln_model_parameter(a, i, &name, &da, &na);
      kiln_model_parameter(b, i, nullptr, &db, &nb);
    } else {
      kiln_dtype ta, tb;
      void *va = nullptr, *vb = nullptr;
      kiln_model_buffer(a, i - params, &name, &ta, &va, &na);
      kiln_model_buffer(b, i - params, nullptr, &tb, &vb, &nb);
      if (ta != KILN_F32 || tb != KILN_F32)
        continue; // num_batches_tracked: equal by construction
      da = static_cast<float *>(va);
      db = static_cast<float *>(vb);
    }
    for (int64_t k = 0; k < na && k < nb; ++k) {
      double s = std::fabs(double(da[k]) - db[k]) / (atol / rtol + std::fabs(double(db[k])));
      if (s > score) {
        score = s;
        *worst = std::string(name) + "[" + std::to_string(k) + "]: " + std::to_string(da[k]) +
                 " vs " + std::to_string(db[k]);
      }
    }
  }
  return score;
}

bool check(const char *label, const kiln_model_metadata *dp_meta,
           const kiln_model_metadata *whole_meta, kiln_comm *comm, bool micro,
           int steps = kSteps, bool indices = false) {
  kiln_model *dp = nullptr, *whole = nullptr;
  if (!ok(kiln_model_create(dp_meta, &dp), "create") ||
      !ok(kiln_model_create(whole_meta, &whole), "create"))
    return false;
  // Different seeds per rank: attach must broadcast rank 0's values.
  if (!ok(kiln_model_init_parameters(dp, 7 + rank), "init") ||
      !ok(kiln_model_init_parameters(whole, 7), "init") ||
      !ok(kiln_model_attach_comm(dp, comm), "attach_comm"))
    return false;
  bool good = kiln_model_world_size(dp) == size && kiln_model_rank(dp) == rank;
  // With micro-batches, each step accumulates two batches: on each rank
  // its shards of both, in the whole model both whole batches. The average
  // over the ranks of the shards' gradient sums is the whole batches' sum.
  const int per_step = micro ? 2 : 1;
  for (int s = 0; s < steps && good; ++s) {
    std::vector<Batch> mine, all;
    for (int k = 0; k < per_step; ++k) {
      all.push_back(whole_batch(per_step * s + k, indices));
      mine.push_back(shard(all.back(), rank));
    }
    good = step(dp, mine) && step(whole, all);
  }
  std::string worst;
  double score = good ? compare(dp, whole, 1e-5, 1e-6, &worst) : 1e9;
  bool pass = good && score <= 1e-5;
  std::printf("rank %d: %s: %s (worst %.3g of tolerance%s%s)\n", rank, label,
              pass ? "OK" : "MISMATCH", score / 1e-5, worst.empty() ? "" : ", ",
              worst.c_str());
  kiln_model_destroy(dp);
  kiln_model_destroy(whole);
  return pass;
}

/* Rank 0 steps while rank 1 sleeps: rank 0 reports the failure and ends
 * the job (MPI_Abort, exit status 3: a timed-out MPI communicator cannot
 * be finalized cleanly). */
int stall_check(kiln_comm *comm) {
  kiln_model *m = nullptr;
  if (!ok(kiln_model_create(&dp_sgd_b8__metadata, &m), "create") ||
      !ok(kiln_model_init_parameters(m, 7), "init") ||
      !ok(kiln_model_attach_comm(m, comm), "attach_comm"))
    MPI_Abort(MPI_COMM_WORLD, 1);
  if (rank == 1) {
    std::this_thread::sleep_for(std::chrono::seconds(20));
    MPI_Abort(MPI_COMM_WORLD, 1); // never reached in time: rank 0 aborts first
  }
  Batch b = shard(whole_batch(0), 0);
  const void *in[] = {b.input()};
  float loss = 0;
  auto start = std::chrono::steady_clock::now();
  kiln_status status = kiln_model_train_step(m, in, b.y.data(), &loss);
  double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("rank 0: train_step with rank 1 stalled: status %d after %.1f s: %s\n",
              int(status), waited, status == KILN_OK ? "(no error)" : kiln_model_last_error(m));
  std::fflush(stdout);
  MPI_Abort(MPI_COMM_WORLD, status == KILN_ERROR_COMMUNICATION && waited < 10 ? 3 : 1);
  return 1;
}

/* The f32 buffers (running statistics) of `m`, end to end. */
std::vector<float> f32_buffers(kiln_model *m) {
  std::vector<float> all;
  for (int i = 0; i < kiln_model_num_buffers(m); ++i) {
    kiln_dtype t;
    void *d = nullptr;
    int64_t n = 0;
    kiln_model_buffer(m, i, nullptr, &t, &d, &n);
    if (t == KILN_F32)
      all.insert(all.end(), static_cast<float *>(d), static_cast<float *>(d) + n);
  }
  return all;
}

/* BatchNorm1d (each process's own batch statistics) data-parallel, as DDP
 * with broadcast_buffers: every training call first gives all processes
 * rank 0's running statistics, then each updates them from its own batch.
 * After some steps, rank 0 predicts rank 1's statistics after one more
 * training call: rank 0's own (the broadcast) updated by rank 1's batch,
 * with the parameters both share, in a copy without a communicator. */
bool buffers_check(kiln_comm *comm) {
  kiln_model *m = nullptr;
  if (!ok(kiln_model_create(&dp_bn_b8__metadata, &m), "create") ||
      !ok(kiln_model_init_parameters(m, 7 + rank), "init") ||
      !ok(kiln_model_attach_comm(m, comm), "attach_comm"))
    return false;
  bool good = true;
  for (int s = 0; s < kSteps && good; ++s)
    good = step(m, {shard(whole_batch(s), rank)});
  float loss = 0;
  std::vector<float> expected;
  if (rank == 0 && good) {
    kiln_model *copy = nullptr;
    good = ok(kiln_model_create(&dp_bn_b8__metadata, &copy), "create");
    for (int i = 0; good && i < kiln_model_num_parameters(m); ++i) {
      float *from = nullptr, *to = nullptr;
      int64_t n = 0;
      kiln_model_parameter(m, i, nullptr, &from, &n);
      kiln_model_parameter(copy, i, nullptr, &to, nullptr);
      std::memcpy(to, from, size_t(n) * sizeof(float));
    }
    for (int i = 0; good && i < kiln_model_num_buffers(m); ++i) {
      kiln_dtype t;
      void *from = nullptr, *to = nullptr;
      int64_t n = 0;
      kiln_model_buffer(m, i, nullptr, &t, &from, &n);
      kiln_model_buffer(copy, i, nullptr, &t, &to, nullptr);
      std::memcpy(to, from, size_t(n) * (t == KILN_F32 ? 4 : 8));
    }
    Batch theirs = shard(whole_batch(kSteps), 1);
    const void *in[] = {theirs.input()};
    good = good && ok(kiln_model_gradients(copy, in, theirs.y.data(), &loss), "gradients");
    expected = f32_buffers(copy);
    kiln_model_destroy(copy);
  }
  Batch b = shard(whole_batch(kSteps), rank);
  const void *in[] = {b.input()};
  good = good && ok(kiln_model_gradients(m, in, b.y.data(), &loss), "gradients");
  std::vector<float> mine = f32_buffers(m), theirs(mine.size());
  if (rank == 1)
    MPI_Send(mine.data(), int(mine.size()), MPI_FLOAT, 0, 7, MPI_COMM_WORLD);
  else
    MPI_Recv(theirs.data(), int(theirs.size()), MPI_FLOAT, 1, 7, MPI_COMM_WORLD,
             MPI_STATUS_IGNORE);
  bool same = rank == 1 || (expected.size() == theirs.size() &&
                            std::memcmp(expected.data(), theirs.data(), theirs.size() * 4) == 0);
  if (rank == 0)
    std::printf("rank 0: BatchNorm1d, rank 0's buffers before each step: %s\n",
                good && same ? "OK (rank 1's running statistics as predicted, bit for bit)"
                             : "MISMATCH");
  kiln_model_destroy(m);
  return good && same;
}

/* The plain build (no --data-parallel) would average nothing over the
 * 2-process communicator: attaching it fails with
 * KILN_ERROR_INVALID_ARGUMENT (the metadata's flags say how it was
 * compiled) instead of letting the processes drift apart silently, and
 * leaves the model alone (world size 1, no broadcast). */
bool plain_build_refused(kiln_comm *comm) {
  kiln_model *plain = nullptr;
  if (!ok(kiln_model_create(&dp_sgd_b8_plain__metadata, &plain), "create") ||
      !ok(kiln_model_init_parameters(plain, 7), "init"))
    return false;
  const kiln_status status = kiln_model_attach_comm(plain, comm);
  const std::string message = kiln_model_last_error(plain);
  const bool pass = status == KILN_ERROR_INVALID_ARGUMENT &&
                    message.find("compiled without --data-parallel") != std::string::npos &&
                    kiln_model_world_size(plain) == 1;
  std::printf("rank %d: plain build attached: %s (%s)\n", rank, pass ? "refused" : "NOT REFUSED",
              message.c_str());
  kiln_model_destroy(plain);
  return pass;
}

/* --alone (one process): the --data-parallel build with no communicator,
 * and with kiln_comm_create_single, against the plain build: 10 steps,
 * parameters bit for bit. */
int alone_check() {
  kiln_comm *single = nullptr;
  if (!ok(kiln_comm_create_single(&single), "kiln_comm_create_single"))
    return 1;
  bool pass = true;
  for (bool attach : {false, true}) {
    kiln_model *dp = nullptr, *plain = nullptr;
    if (!ok(kiln_model_create(&dp_sgd_b8__metadata, &dp), "create") ||
        !ok(kiln_model_create(&dp_sgd_b8_plain__metadata, &plain), "create") ||
        !ok(kiln_model_init_parameters(dp, 7), "init") ||
        !ok(kiln_model_init_parameters(plain, 7), "init") ||
        (attach && !ok(kiln_model_attach_comm(dp, single), "attach_comm")))
      return 1;
    for (int s = 0; s < kSteps && pass; ++s) {
      std::vector<Batch> b{shard(whole_batch(s), 0)};
      pass = step(dp, b) && step(plain, b);
    }
    for (int i = 0; pass && i < kiln_model_num_parameters(dp); ++i) {
      float *a = nullptr, *c = nullptr;
      int64_t n = 0;
      kiln_model_parameter(dp, i, nullptr, &a, &n);
      kiln_model_parameter(plain, i, nullptr, &c, nullptr);
      pass = std::memcmp(a, c, size_t(n) * sizeof(float)) == 0;
    }
    std::printf("alone, %s: %s\n", attach ? "single-process communicator" : "no communicator",
                pass ? "OK (bit for bit)" : "MISMATCH");
    kiln_model_destroy(dp);
    kiln_model_destroy(plain);
  }
  kiln_comm_destroy(single);
  return pass ? 0 : 1;
}

} // namespace

int main(int argc, char **argv) {
  // --single-thread: plain MPI_Init, so each collective runs on the calling
  // thread; otherwise MPI_THREAD_SERIALIZED and the runtime's
  // communication thread runs the buckets beside the backward.
  bool single_thread = false;
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--single-thread") == 0) {
      single_thread = true;
      for (int j = i; j + 1 < argc; ++j)
        argv[j] = argv[j + 1];
      --argc;
      break;
    }
  if (single_thread) {
    MPI_Init(&argc, &argv);
  } else {
    int provided = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided);
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (argc > 1 && std::strcmp(argv[1], "--alone") == 0) {
    int status = alone_check();
    MPI_Finalize();
    return status;
  }
  if (size != 2) {
    if (rank == 0)
      std::fprintf(stderr, "dp_check: run with mpirun -np 2 (got %d processes)\n", size);
    MPI_Finalize();
    return 2;
  }
  // --stall: rank 1 stops taking part (sleeps past the timeout, as a rank
  // that hangs or died would); rank 0's next step must fail within the
  // 1 s timeout with a message naming the collective, not hang.
  const bool stall = argc > 1 && std::strcmp(argv[1], "--stall") == 0;
  // --cuda-emulated: the per-rank models as the CUDA backend lowers them
  // (kilnc --target=cuda --emulate-gpu), against the same references.
  const bool emulated = argc > 1 && std::strcmp(argv[1], "--cuda-emulated") == 0;
  const kiln_model_metadata *sgd = &dp_sgd_b8__metadata, *adam = &dp_adam_b8__metadata,
                            *syncbn = &dp_syncbn_b8__metadata, *clip = &dp_clip_b8__metadata;
  if (emulated) {
#ifdef KILN_DP_CUDA_EMULATED
    sgd = &dp_sgd_b8_cudaemu__metadata;
    adam = &dp_adam_b8_cudaemu__metadata;
    syncbn = &dp_syncbn_b8_cudaemu__metadata;
    clip = &dp_clip_b8_cudaemu__metadata;
#else
    if (rank == 0)
      std::fprintf(stderr, "dp_check: built without the CUDA-emulated models (no libdevice)\n");
    MPI_Finalize();
    return 2;
#endif
  }
  kiln_comm *comm = nullptr;
  if (!ok(kiln_comm_create_mpi(MPI_COMM_WORLD, stall ? 1.0 : 60.0, &comm),
          "kiln_comm_create_mpi")) {
    MPI_Abort(MPI_COMM_WORLD, 1);
    return 1;
  }
  if (stall)
    return stall_check(comm);
  bool pass = true;
  for (bool micro : {false, true}) {
    pass &= check(micro ? "SGD momentum, accumulate x2 + apply" : "SGD momentum, train_step",
                  sgd, &dp_sgd_b16__metadata, comm, micro);
    pass &= check(micro ? "Adam, accumulate x2 + apply" : "Adam, train_step",
                  adam, &dp_adam_b16__metadata, comm, micro);
  }
  // SyncBatchNorm: each rank's batch norm sees the statistics of the whole
  // 16-row batch, as the one process does (parameters and running
  // statistics compared).
  pass &= check("SyncBatchNorm, SGD momentum, train_step", syncbn,
                &dp_syncbn_b16__metadata, comm, false);
  // clip_grad_norm after the average (the whole batch's norm), Nesterov
  // SGD, with micro-batches too. (Not an adaptive optimizer here: their
  // near-sign first steps on gradients that cancel to ~1e-8 amplify the
  // summation order's rounding; centered RMSprop went to 2.7x the
  // tolerance in 10 steps, 1x after one, in both orders a correct sum.)
  for (bool micro : {false, true})
    pass &= check(micro ? "SGD nesterov + clip_grad_norm, accumulate x2 + apply"
                        : "SGD nesterov + clip_grad_norm, train_step",
                  clip, &dp_clip_b16__metadata, comm, micro);
  if (!emulated) {
    // LBFGS: several closure evaluations per step (up to 4 iterations, a
    // line search in each), every one averaged over the processes, so both
    // take the same decisions as the one process on the whole batch.
    // 3 steps: its curvature pairs amplify the summation order's rounding
    // (per-process means averaged vs one mean of 16 rows) about 3x per
    // step on this model, 0.08, 0.25, 0.53 of the tolerance after 1, 2, 3
    // steps (14x after 6, then the paths part); without the average the
    // first step is off by far more (the gradients of 8 rows, not 16).
    pass &= check("LBFGS strong_wolfe, train_step (3 steps)", &dp_lbfgs_b8__metadata,
                  &dp_lbfgs_b16__metadata, comm, false, 3);
    // Sparse gradients: EmbeddingBag(sparse=True) under SparseAdam (lazy:
    // only rows some process read change) beside SGD for the head; rows
    // read by one rank only must still change on both.
    for (bool micro : {false, true})
      pass &= check(micro ? "SparseAdam (EmbeddingBag sparse) + SGD, accumulate x2 + apply"
                          : "SparseAdam (EmbeddingBag sparse) + SGD, train_step",
                    &dp_sparse_b8__metadata, &dp_sparse_b16__metadata, comm, micro, kSteps,
                    true);
    pass &= buffers_check(comm);
    pass &= plain_build_refused(comm);
  }
  int local = pass ? 1 : 0, all = 0;
  MPI_Allreduce(&local, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  kiln_comm_destroy(comm);
  MPI_Finalize();
  return all ? 0 : 1;
}
