// The convolution benchmark's models, one program per model
// (kiln_add_model runs it as `<program> <dir>/<model>.json`): the model is
// named by the file, <shape>_1 (one Conv2d of shapes.def, MSE loss) or
// <shape>_2 (two of them back to back, shapes with C == F that keep H x W),
// whose gradients include the first convolution's input gradient.
#include <cstdio>
#include <string>

#include "kiln/kiln.h"

namespace {

struct Shape {
  const char *name;
  int64_t n, c, f, h, w, k, s, p, g;
};

const Shape kShapes[] = {
#define SHAPE(name, n, c, f, h, w, k, s, p, g) {#name, n, c, f, h, w, k, s, p, g},
#include "shapes.def"
#undef SHAPE
};

} // namespace

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <dir>/<shape>_<1|2>.json\n", argv[0]);
    return 2;
  }
  namespace nn = kiln::nn;
  std::string path = argv[1];
  std::string model = path.substr(path.find_last_of('/') + 1);
  model = model.substr(0, model.size() - 5); // drop ".json"
  std::string shape = model.substr(0, model.size() - 2);
  bool twice = model.back() == '2';
  for (const Shape &s : kShapes) {
    if (shape != s.name)
      continue;
    int64_t oh = (s.h + 2 * s.p - s.k) / s.s + 1, ow = (s.w + 2 * s.p - s.k) / s.s + 1;
    try {
      auto conv = [&] {
        return nn::Conv2d(nn::Conv2dOptions(s.c, s.f, s.k).stride(s.s).padding(s.p).groups(s.g));
      };
      auto training = kiln::Training()
                          .loss(nn::MSELoss())
                          .target(kiln::input("target", {s.n, s.f, oh, ow}))
                          .optimizer(kiln::optim::SGD(kiln::optim::SGDOptions(0.01)));
      auto x = kiln::input("x", {s.n, s.c, s.h, s.w});
      if (twice)
        kiln::save_model(nn::Sequential(conv(), conv()), {x}, path, training, model);
      else
        kiln::save_model(nn::Sequential(conv()), {x}, path, training, model);
    } catch (const kiln::Error &e) {
      std::fprintf(stderr, "%s\n", e.what());
      return 1;
    }
    return 0;
  }
  std::fprintf(stderr, "conv_model: no shape '%s' in shapes.def\n", shape.c_str());
  return 2;
}
