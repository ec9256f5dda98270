// A pid whose process has exited and been reaped: what a save killed
// mid-write leaves in its temporary's name (the stale-temporary tests).
#ifndef KILN_TESTS_UNIT_DEAD_PID_H
#define KILN_TESTS_UNIT_DEAD_PID_H

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

namespace kiln_test {

inline pid_t dead_pid() {
  pid_t pid = ::fork();
  if (pid == 0)
    ::_exit(0);
  int status;
  ::waitpid(pid, &status, 0);
  return pid;
}

} // namespace kiln_test

#endif // KILN_TESTS_UNIT_DEAD_PID_H
