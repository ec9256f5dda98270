// Prints a runtime scheduler's learning rates, one per line (%.17g): the
// lr after creation, then after each of `steps` steps. With resume_at > 0
// the scheduler's state is read after that many steps and a fresh
// scheduler continues from it, as a resumed training run would.
//   kiln_sched_driver KIND BASE_LR STEPS RESUME_AT [ARGS...]
#include <kiln/scheduler.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

int main(int argc, char **argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s KIND BASE_LR STEPS RESUME_AT [ARGS...]\n", argv[0]);
    return 2;
  }
  const int kind = std::atoi(argv[1]);
  const double base_lr = std::strtod(argv[2], nullptr);
  const int steps = std::atoi(argv[3]), resume_at = std::atoi(argv[4]);
  std::vector<double> args;
  for (int i = 5; i < argc; ++i)
    args.push_back(std::strtod(argv[i], nullptr));
  auto create = [&](kiln_scheduler **s) {
    if (kiln_scheduler_create(kind, base_lr, args.data(), static_cast<int32_t>(args.size()), s)) {
      std::fprintf(stderr, "%s\n", kiln_last_error());
      std::exit(1);
    }
  };
  kiln_scheduler *s = nullptr;
  create(&s);
  double lr = 0;
  kiln_scheduler_lr(s, &lr);
  std::printf("%.17g\n", lr);
  for (int i = 1; i <= steps; ++i) {
    if (i - 1 == resume_at && resume_at > 0) {
      int64_t epoch = 0;
      double saved = 0;
      kiln_scheduler_get_state(s, &epoch, &saved);
      kiln_scheduler_destroy(s);
      create(&s);
      kiln_scheduler_set_state(s, epoch, saved);
    }
    kiln_scheduler_step(s);
    kiln_scheduler_lr(s, &lr);
    std::printf("%.17g\n", lr);
  }
  kiln_scheduler_destroy(s);
  return 0;
}
