/*
 * What the benchmarks that drive a real reeld share: starting it with the
 * real reel-worker, one client connection, requests that end the program
 * on any failure (a benchmark has no one to report an error to but its
 * user), uploads and waiting for a job's end. Prefix bench_.
 */
#ifndef REEL_BENCH_REELD_H
#define REEL_BENCH_REELD_H

#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "client.h"
#include "contract.h"
#include "msg.h"

/* Prints "PROGRAM: what: detail", stops reeld (its directory stays, to
 * look into) and exits 1. */
void __attribute__((__noreturn__))
bench_die(const char *what, const char *detail);

/*
 * Starts BIN/reeld (one slot, the stage executable BIN/worker) in run_dir
 * and state_dir with the options in more (NULL-terminated, or NULL), its
 * log in log_path, and connects to run_dir/reeld.sock.
 */
pid_t bench_reeld_start(const char *bin, const char *worker,
    const char *run_dir, const char *state_dir, const char *log_path,
    char *const more[]);
/* Disconnects, stops reeld and waits for it. */
void bench_reeld_stop(void);
/* Sends req; the response's data, a new reference. */
json_t *bench_call(struct msg *req);
/* Uploads path; its video id into id. */
void bench_upload(const char *path, char id[REEL_ID_SIZE]);
/* Polls job every poll_ms to its end; its last status view (a new
 * reference) and *status. */
json_t *bench_wait(const char *job, long poll_ms, enum job_status *status);

#endif
