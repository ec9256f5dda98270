// The values an integer operand that an op indexes with may hold (class
// indices of a loss; later embedding rows, unpooling indices). Declared by
// ops through nn::IndexOperandOpInterface; the compiled model's runtime
// checks the caller's i64 inputs and targets against them before any kernel
// runs (kiln_index_range in <kiln/runtime.h>).
#ifndef KILN_IR_INDEXBOUNDS_H
#define KILN_IR_INDEXBOUNDS_H

#include <algorithm>
#include <cstdint>
#include <optional>

namespace kiln::nn {

struct IndexBounds {
  int64_t lo = 0; // lo <= v < hi
  int64_t hi = 0;
  std::optional<int64_t> ignore; // also accepted (torch's ignore_index)

  bool accepts(int64_t v) const { return (lo <= v && v < hi) || ignore == v; }

  /// The values both accept. An ignore value survives only where both
  /// accept it; an empty [lo, hi) stays empty (lo == hi).
  IndexBounds intersect(const IndexBounds &o) const {
    IndexBounds r;
    r.lo = std::max(lo, o.lo);
    r.hi = std::max(r.lo, std::min(hi, o.hi));
    if (ignore && o.accepts(*ignore) && !r.accepts(*ignore))
      r.ignore = ignore;
    else if (o.ignore && accepts(*o.ignore) && !r.accepts(*o.ignore))
      r.ignore = o.ignore;
    return r;
  }
};

} // namespace kiln::nn

#endif // KILN_IR_INDEXBOUNDS_H
