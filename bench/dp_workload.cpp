// A workload data-parallel (docs/performance.md, "Data-parallel W1 and
// W2"): under `mpirun -np 2`, each process trains the workload's model
// compiled with --data-parallel at half its batch (W1: examples/mlp's
// mlp_dp, 64; W2: lenet_w2_dp, 32) on a fixed random batch: 20 warm-up
// steps, then 200 timed, each timed from a barrier so that every step
// includes the all-reduce. Rank 0 prints the median and 10th-percentile
// step time and the global samples per second. --no-comm: the same steps
// without a communicator (the compute alone; the difference is the
// all-reduce's cost). Compiled per workload with
//   -DKILN_PREFIX=<model> -DKILN_PREFIX_UPPER=<MODEL> -DKILN_HEADER="<model>.h"
#include KILN_HEADER
#include <kiln/comm_mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#define KILN_CAT_(a, b) a##b
#define KILN_CAT(a, b) KILN_CAT_(a, b)
#define KFN(suffix) KILN_CAT(KILN_PREFIX, suffix)
#define KCONST(suffix) KILN_CAT(KILN_PREFIX_UPPER, suffix)

int main(int argc, char **argv) {
  // --single-thread: plain MPI_Init (each collective on the calling
  // thread); otherwise MPI_THREAD_SERIALIZED, so the runtime's
  // communication thread overlaps the gradient buckets with the backward.
  bool single_thread = false;
  for (int i = 1; i < argc; ++i)
    single_thread |= std::strcmp(argv[i], "--single-thread") == 0;
  if (single_thread) {
    MPI_Init(&argc, &argv);
  } else {
    int provided = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided);
  }
  int rank = 0, world = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  bool comm_on = true;
  for (int i = 1; i < argc; ++i)
    comm_on &= std::strcmp(argv[i], "--no-comm") != 0;
  kiln_comm *comm = nullptr;
  KFN(_model) *m = nullptr;
  if (kiln_comm_create_mpi(MPI_COMM_WORLD, 300.0, &comm) || KFN(_create)(&m) ||
      KFN(_init_parameters)(m, 0) || (comm_on && KFN(_attach_comm)(m, comm))) {
    std::fprintf(stderr, "rank %d: setup failed: %s\n", rank, kiln_last_error());
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  std::mt19937_64 rng(rank);
  std::normal_distribution<float> normal;
  std::vector<float> x(KCONST(_INPUT0_NUMEL));
  for (float &v : x)
    v = normal(rng);
  std::vector<int64_t> y(KCONST(_TARGET_NUMEL));
  for (auto &v : y)
    v = int64_t(rng() % 10);
  const void *in[] = {x.data()};
  float loss = 0;
  std::vector<double> per;
  for (int i = 0; i < 220; ++i) {
    MPI_Barrier(MPI_COMM_WORLD);
    auto t0 = std::chrono::steady_clock::now();
    if (KFN(_train_step)(m, in, y.data(), &loss)) {
      std::fprintf(stderr, "rank %d: %s\n", rank, KFN(_last_error)(m));
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (i >= 20)
      per.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(per.begin(), per.end());
  if (rank == 0)
    std::printf("%d processes, %s: step %.3f ms median, %.3f ms p10; %.0f samples/s\n", world,
                !comm_on ? "no communicator"
                         : single_thread ? "all-reduce on the calling thread"
                                         : "all-reduce on the communication thread", per[per.size() / 2],
                per[per.size() / 10], world * double(KCONST(_BATCH_SIZE)) / (per[per.size() / 2] / 1e3));
  KFN(_destroy)(m);
  kiln_comm_destroy(comm);
  MPI_Finalize();
}
