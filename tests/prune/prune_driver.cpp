// Drives kiln/prune.h for tests/prune/check_prune.py:
//   prune_driver STATE OPS OUTDIR
// STATE holds the pruned parameters, <name>_orig (parameters) and
// <name>_mask (buffers), and importance scores as scores/<name>. The driver
// builds a model of those tensors (hand-made metadata, a forward that does
// nothing), runs the operations of OPS, one per line, and after operation i
// saves the model's state_dict to OUTDIR/after<i>.safetensors, or, when it
// fails, its message to OUTDIR/after<i>.error (and goes on):
//   l1 NAME AMOUNT [scores]          ln NAME AMOUNT N DIM [scores]
//   random NAME AMOUNT SEED          rstruct NAME AMOUNT DIM SEED
//   global l1|random AMOUNT SEED [scores] NAME...
//   custom NAME unstructured|structured|global DIM   (the threshold method below)
//   remove NAME
// AMOUNT is c<count> or f<fraction>; N a number, inf or -inf; `scores`
// reads scores/<name> from STATE.
#include <kiln/prune.h>
#include <kiln/runtime.h>

#include "../state_dict_model.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

[[noreturn]] void die(const std::string &what) {
  std::fprintf(stderr, "prune_driver: %s: %s\n", what.c_str(), kiln_last_error());
  std::exit(1);
}

kiln_prune_amount amountOf(const std::string &text) {
  if (text.empty() || (text[0] != 'c' && text[0] != 'f'))
    die("bad amount " + text);
  return text[0] == 'c' ? kiln_prune_count(std::atoll(text.c_str() + 1))
                        : kiln_prune_fraction(std::strtod(text.c_str() + 1, nullptr));
}

/* A BasePruningMethod of the test's own: keep what the default mask keeps
 * where |t| <= 1, whatever part it is given (check_prune.py's Threshold). */
kiln_status threshold(const float *t, const float *default_mask, float *mask, int32_t rank,
                      const int64_t *shape, void *) {
  int64_t n = 1;
  for (int32_t d = 0; d < rank; ++d)
    n *= shape[d];
  for (int64_t i = 0; i < n; ++i)
    mask[i] = default_mask[i] * (std::fabs(t[i]) <= 1.0f ? 1.0f : 0.0f);
  return KILN_OK;
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: prune_driver STATE OPS OUTDIR\n");
    return 2;
  }
  kiln_safetensors *state = nullptr;
  if (kiln_safetensors_open(argv[1], &state))
    die("open");
  std::deque<std::string> names;
  std::vector<kiln_test::StateDictTensor> tensors;
  std::map<std::string, std::vector<float>> scores;
  for (int i = 0; i < kiln_safetensors_count(state); ++i) {
    kiln_tensor_view v;
    kiln_safetensors_get(state, i, &v);
    std::string n = v.name;
    if (n.rfind("scores/", 0) == 0) {
      const float *f = static_cast<const float *>(v.data);
      int64_t count = 1;
      for (int d = 0; d < v.rank; ++d)
        count *= v.shape[d];
      scores[n.substr(7)] = std::vector<float>(f, f + count);
      continue;
    }
    names.push_back(n);
    bool mask = n.size() > 5 && n.compare(n.size() - 5, 5, "_mask") == 0;
    tensors.push_back({n, v.dtype, mask, std::vector<int64_t>(v.shape, v.shape + v.rank)});
  }
  kiln_model *model = kiln_test::create_state_dict_model("prune", tensors);
  if (!model)
    die("kiln_model_create");
  // The initial values: STATE without the scores, as a parameters file.
  {
    std::vector<kiln_tensor_view> views;
    for (const std::string &n : names) {
      kiln_tensor_view v;
      if (kiln_safetensors_find(state, n.c_str(), &v))
        die("find " + n);
      views.push_back(v);
    }
    const std::string path = std::string(argv[3]) + "/initial.safetensors";
    if (kiln_safetensors_write(path.c_str(), views.data(), static_cast<int>(views.size())) ||
        kiln_model_load_parameters(model, path.c_str()))
      die("load the initial state");
  }
  auto scoresOf = [&](const std::string &name) {
    auto it = scores.find(name);
    if (it == scores.end())
      die("no scores/" + name);
    return it->second.data();
  };

  std::ifstream ops(argv[2]);
  std::string line;
  for (int i = 0; std::getline(ops, line); ++i) {
    std::istringstream in(line);
    std::string op, name, amount;
    in >> op;
    kiln_status s = KILN_OK;
    if (op == "l1" || op == "ln") {
      std::string n, dim, withScores;
      in >> name >> amount;
      if (op == "ln")
        in >> n >> dim;
      in >> withScores;
      const float *t = withScores == "scores" ? scoresOf(name) : nullptr;
      s = op == "l1" ? kiln_prune_l1_unstructured(model, name.c_str(), amountOf(amount), t)
                     : kiln_prune_ln_structured(model, name.c_str(), amountOf(amount),
                                                std::strtod(n.c_str(), nullptr),
                                                std::atoll(dim.c_str()), t);
    } else if (op == "random") {
      uint64_t seed;
      in >> name >> amount >> seed;
      s = kiln_prune_random_unstructured(model, name.c_str(), amountOf(amount), seed);
    } else if (op == "rstruct") {
      int64_t dim;
      uint64_t seed;
      in >> name >> amount >> dim >> seed;
      s = kiln_prune_random_structured(model, name.c_str(), amountOf(amount), dim, seed);
    } else if (op == "global") {
      std::string method, word;
      uint64_t seed;
      in >> method >> amount >> seed;
      bool withScores = false;
      std::vector<std::string> list;
      while (in >> word) {
        if (word == "scores")
          withScores = true;
        else
          list.push_back(word);
      }
      std::vector<const char *> ptrs;
      std::vector<const float *> t;
      for (const std::string &n : list) {
        ptrs.push_back(n.c_str());
        t.push_back(withScores ? scoresOf(n) : nullptr);
      }
      s = kiln_prune_global_unstructured(
          model, ptrs.data(), static_cast<int32_t>(ptrs.size()),
          method == "l1" ? KILN_PRUNE_L1_UNSTRUCTURED : KILN_PRUNE_RANDOM_UNSTRUCTURED,
          amountOf(amount), t.data(), seed);
    } else if (op == "custom") {
      std::string type;
      int64_t dim;
      in >> name >> type >> dim;
      s = kiln_prune_custom(model, name.c_str(),
                            type == "unstructured" ? KILN_PRUNE_UNSTRUCTURED
                            : type == "structured" ? KILN_PRUNE_STRUCTURED
                                                   : KILN_PRUNE_GLOBAL,
                            dim, threshold, nullptr, nullptr);
    } else if (op == "remove") {
      in >> name;
      s = kiln_prune_remove(model, name.c_str());
    } else {
      die("unknown operation " + op);
    }
    const std::string base = std::string(argv[3]) + "/after" + std::to_string(i);
    if (s != KILN_OK) {
      std::ofstream(base + ".error") << kiln_last_error() << "\n";
      continue;
    }
    if (kiln_model_save_parameters(model, (base + ".safetensors").c_str()))
      die("save after " + std::to_string(i));
  }
  kiln_model_destroy(model);
  kiln_safetensors_close(state);
  return 0;
}
