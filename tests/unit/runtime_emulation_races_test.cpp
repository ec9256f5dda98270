// The CUDA emulation's race check (runtime/lib/emulation_races.cpp), fed
// the accesses an emulated kernel reports: what a GPU orders (one thread,
// a barrier between phases of one block) passes; what it does not (two
// threads of one phase, two blocks) aborts naming both accesses.
#include <gtest/gtest.h>

#include <cstdint>

extern "C" {
void kiln_emu_race_begin(int64_t kernel);
void kiln_emu_race_access(int64_t address, int32_t write, int32_t shared, int64_t block,
                          int64_t thread, int64_t phase);
void kiln_emu_race_end();
}

namespace {

constexpr int32_t kRead = 0, kWrite = 1, kGlobal = 0, kShared = 1;

TEST(EmulationRaces, WhatABarrierOrdersPasses) {
  kiln_emu_race_begin(0);
  // A shared-memory tree step: each thread writes its own element, then,
  // after a barrier, the lower half reads the upper half and writes its own.
  for (int64_t t = 0; t < 4; ++t)
    kiln_emu_race_access(0x1000 + 4 * t, kWrite, kShared, 0, t, 0);
  for (int64_t t = 0; t < 2; ++t) {
    kiln_emu_race_access(0x1000 + 4 * t, kRead, kShared, 0, t, 1);
    kiln_emu_race_access(0x1000 + 4 * (t + 2), kRead, kShared, 0, t, 1);
    kiln_emu_race_access(0x1000 + 4 * t, kWrite, kShared, 0, t, 1);
  }
  // Every block reads one global element; each writes its own output.
  for (int64_t b = 0; b < 3; ++b) {
    kiln_emu_race_access(0x2000, kRead, kGlobal, b, 0, 0);
    kiln_emu_race_access(0x3000 + 4 * b, kWrite, kGlobal, b, 0, 0);
  }
  // Shared memory is the block's own: the same address in another block.
  kiln_emu_race_access(0x1000, kWrite, kShared, 1, 3, 0);
  kiln_emu_race_end();
}

TEST(EmulationRaces, TwoWritersInOnePhaseAbort) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        kiln_emu_race_begin(7);
        kiln_emu_race_access(0x40, kWrite, kGlobal, 0, 1, 0);
        kiln_emu_race_access(0x40, kWrite, kGlobal, 0, 2, 0);
      },
      "a race in kernel launch 7 at global address 0x40: block 0 thread 1 wrote it in phase 0 "
      "and block 0 thread 2 writes it in phase 0, with no barrier between");
}

TEST(EmulationRaces, AReadAndAWriteOfSharedMemoryInOnePhaseAbort) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        kiln_emu_race_begin(1);
        kiln_emu_race_access(0x80, kRead, kShared, 2, 0, 3);
        kiln_emu_race_access(0x80, kWrite, kShared, 2, 5, 3);
      },
      "at shared address 0x80: block 2 thread 0 read it in phase 3 and block 2 thread 5 writes "
      "it in phase 3");
}

TEST(EmulationRaces, BlocksAreNeverOrdered) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        kiln_emu_race_begin(2);
        kiln_emu_race_access(0x100, kWrite, kGlobal, 0, 0, 0);
        kiln_emu_race_access(0x100, kRead, kGlobal, 1, 0, 4);
      },
      "block 0 thread 0 wrote it in phase 0 and block 1 thread 0 reads it in phase 4");
}

TEST(EmulationRaces, EachLaunchStartsAfresh) {
  kiln_emu_race_begin(0);
  kiln_emu_race_access(0x200, kWrite, kGlobal, 0, 0, 0);
  kiln_emu_race_end();
  kiln_emu_race_begin(1); // another kernel: ordered after the first by the stream
  kiln_emu_race_access(0x200, kWrite, kGlobal, 5, 9, 0);
  kiln_emu_race_end();
}

} // namespace
