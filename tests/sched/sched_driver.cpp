// Prints a runtime scheduler's learning rates (and cycled momentum) after
// creation and after each command, one "lr_0 ... lr_G-1 momentum" line each
// (%.17g; momentum "nan" when nothing cycles it). Reads from stdin:
//   G BASE_LR_0 ... BASE_LR_G-1 RESUME_AT   (G parameter groups)
//   SPEC      kind nargs args... fn p nchildren SPEC...   (fn: 0 none, else a
//             function of tests/sched/check_schedulers.py's FNS with parameter p)
//   COMMANDS  s | e EPOCH | m METRIC ...
// With RESUME_AT > 0 the state is read before that command and a fresh
// scheduler continues from it, as a resumed training run would.
#include <kiln/scheduler.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <string>
#include <vector>

namespace {

double fn_power(double x, void *p) { return std::pow(*static_cast<double *>(p), x); }
double fn_inverse(double x, void *p) { return 1 / (1 + *static_cast<double *>(p) * x); }
double fn_wave(double x, void *p) { return 1 + *static_cast<double *>(p) * std::sin(x); }
const kiln_scheduler_fn kFns[] = {nullptr, fn_power, fn_inverse, fn_wave};

// Specs point into these; deques keep addresses stable.
std::deque<std::vector<double>> args_store;
std::deque<double> params;
std::deque<std::vector<kiln_scheduler_spec>> children_store;

kiln_scheduler_spec read_spec(std::istream &in) {
  kiln_scheduler_spec s{};
  int nargs = 0, fn = 0, nkids = 0;
  double p = 0;
  in >> s.kind >> nargs;
  args_store.emplace_back(nargs);
  for (double &a : args_store.back())
    in >> a;
  s.args = args_store.back().data();
  s.num_args = nargs;
  in >> fn >> p >> nkids;
  if (fn > 0) {
    params.push_back(p);
    s.fn = kFns[fn];
    s.user_data = &params.back();
  }
  std::vector<kiln_scheduler_spec> kids;
  for (int i = 0; i < nkids; ++i)
    kids.push_back(read_spec(in));
  children_store.push_back(std::move(kids));
  s.children = children_store.back().data();
  s.num_children = nkids;
  return s;
}

[[noreturn]] void die() {
  std::fprintf(stderr, "%s\n", kiln_last_error());
  std::exit(1);
}

void print(const kiln_scheduler *s) {
  double m = NAN;
  for (int32_t g = 0; g < kiln_scheduler_num_groups(s); ++g) {
    double lr = 0;
    if (kiln_scheduler_group_lr(s, g, &lr))
      die();
    std::printf("%.17g ", lr);
  }
  if (kiln_scheduler_momentum(s, &m))
    m = NAN;
  std::printf("%.17g\n", m);
}

/* One group through the one-group entry point (as before groups), several
 * through kiln_scheduler_create_groups. */
kiln_status create(const kiln_scheduler_spec &spec, const std::vector<double> &base_lrs,
                   kiln_scheduler **out) {
  if (base_lrs.size() == 1)
    return kiln_scheduler_create_spec(&spec, base_lrs[0], out);
  return kiln_scheduler_create_groups(&spec, base_lrs.data(),
                                      static_cast<int32_t>(base_lrs.size()), out);
}

} // namespace

int main() {
  int groups = 0, resume_at = 0;
  std::cin >> groups;
  std::vector<double> base_lrs(groups > 0 ? groups : 1);
  for (double &lr : base_lrs)
    std::cin >> lr;
  std::cin >> resume_at;
  const kiln_scheduler_spec spec = read_spec(std::cin);
  kiln_scheduler *s = nullptr;
  if (create(spec, base_lrs, &s))
    die();
  print(s);
  std::string cmd;
  for (int i = 0; std::cin >> cmd; ++i) {
    if (i == resume_at && resume_at > 0) {
      int32_t n = 0;
      kiln_scheduler_state_size(s, &n);
      std::vector<double> state(n);
      if (kiln_scheduler_get_state(s, state.data(), n))
        die();
      kiln_scheduler_destroy(s);
      if (create(spec, base_lrs, &s) ||
          kiln_scheduler_set_state(s, state.data(), n))
        die();
    }
    double v = 0;
    kiln_status status = KILN_OK;
    if (cmd == "s") {
      status = kiln_scheduler_step(s);
    } else if (cmd == "e") {
      std::cin >> v;
      status = kiln_scheduler_step_epoch(s, v);
    } else {
      std::cin >> v;
      status = kiln_scheduler_step_metric(s, v);
    }
    if (status)
      die();
    print(s);
  }
  kiln_scheduler_destroy(s);
  return 0;
}
