// The race check of the CUDA backend's CPU emulation (kilnc --target=cuda
// --emulate-gpu, kiln-cuda-emulate-on-cpu). The emulation runs a kernel's
// threads one after another, so a kernel whose threads race (two of them
// touch one element, at least one writing, with no barrier between) still
// computes one of the results a GPU might, and a parity test cannot tell.
// Every load and store of an emulated kernel reports here; a race is
// printed and the process aborts, so the test fails and says where.
//
// Order: accesses of one thread are ordered; accesses of one block in
// different phases (barrier intervals) are ordered by the barrier; nothing
// orders two blocks of one launch. Shared memory is per block on a GPU
// (one host buffer reused by the blocks in the emulation), so its
// addresses are told apart by block. Each launch starts with an empty
// record. Per element the record keeps the last write and up to two
// reading threads (the latest phase of each): enough for the patterns
// kernels have (one writer, many readers), not a full happens-before
// check.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <unordered_map>

namespace {

struct Access {
  int64_t block = -1, thread = -1, phase = -1;
  bool valid() const { return block >= 0; }
};

bool sameThread(const Access &a, const Access &b) {
  return a.block == b.block && a.thread == b.thread;
}

bool ordered(const Access &a, const Access &b) {
  return sameThread(a, b) || (a.block == b.block && a.phase != b.phase);
}

struct Cell {
  Access write;
  Access read[2];
};

struct Key {
  int64_t address, block; // block -1: global memory
  bool operator==(const Key &o) const { return address == o.address && block == o.block; }
};
struct KeyHash {
  size_t operator()(const Key &k) const {
    return std::hash<int64_t>()(k.address) ^ (std::hash<int64_t>()(k.block) << 1);
  }
};

// One record per thread: instances may run on several threads at once.
thread_local std::unordered_map<Key, Cell, KeyHash> t_cells;
thread_local int64_t t_kernel = -1;

[[noreturn]] void report(int64_t address, bool shared, const Access &first, bool firstWrites,
                         const Access &second, bool secondWrites) {
  std::fprintf(stderr,
               "kiln GPU emulation: a race in kernel launch %lld at %s address 0x%llx: "
               "block %lld thread %lld %s it in phase %lld and block %lld thread %lld %s it "
               "in phase %lld, with no barrier between (kiln-cuda-emulate-on-cpu)\n",
               static_cast<long long>(t_kernel), shared ? "shared" : "global",
               static_cast<unsigned long long>(address), static_cast<long long>(first.block),
               static_cast<long long>(first.thread), firstWrites ? "wrote" : "read",
               static_cast<long long>(first.phase), static_cast<long long>(second.block),
               static_cast<long long>(second.thread), secondWrites ? "writes" : "reads",
               static_cast<long long>(second.phase));
  std::abort();
}

} // namespace

extern "C" {

/* Before launch `kernel` (its number in the module, for the message). */
void kiln_emu_race_begin(int64_t kernel) {
  t_cells.clear();
  t_kernel = kernel;
}

/* One access of the running launch: `address` (bytes), a write when
 * `write`, shared memory when `shared`, by thread `thread` of block
 * `block` in its `phase`-th barrier interval. */
void kiln_emu_race_access(int64_t address, int32_t write, int32_t shared, int64_t block,
                          int64_t thread, int64_t phase) {
  const Access now{block, thread, phase};
  Cell &cell = t_cells[Key{address, shared ? block : -1}];
  if (cell.write.valid() && !ordered(cell.write, now))
    report(address, shared != 0, cell.write, true, now, write != 0);
  if (write) {
    for (const Access &reader : cell.read)
      if (reader.valid() && !ordered(reader, now))
        report(address, shared != 0, reader, false, now, true);
    cell.write = now;
    return;
  }
  if (!cell.read[0].valid() || sameThread(cell.read[0], now))
    cell.read[0] = now;
  else
    cell.read[1] = now; // a second reader, or the latest of several
}

/* After the launch: the record is dropped. */
void kiln_emu_race_end() {
  t_cells.clear();
  t_kernel = -1;
}

} // extern "C"
