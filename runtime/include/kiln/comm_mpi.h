/* A kiln_comm over MPI (library kiln_rt_mpi; link MPI too). */
#ifndef KILN_COMM_MPI_H
#define KILN_COMM_MPI_H

#include <kiln/comm.h>
#include <mpi.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A communicator over a duplicate of `comm` (MPI_COMM_WORLD or a user's).
 * MPI must be initialized, and stay so until kiln_comm_destroy. Each
 * collective waits at most `timeout_seconds` (> 0; torch's default, 300 s,
 * is a good choice): a process that died or stopped calling the same
 * steps makes the others fail with KILN_ERROR_COMMUNICATION and a message
 * naming the collective, rather than hang. After a timeout the MPI
 * communicator is unusable; end the run (MPI_Abort). */
kiln_status kiln_comm_create_mpi(MPI_Comm comm, double timeout_seconds, kiln_comm **out);

#ifdef __cplusplus
}
#endif

#endif
