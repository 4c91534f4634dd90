/*
 * The reel-worker skeleton (Postfix style): main() parses the command line
 * and calls these; the skeleton owns fd 3, the one JOB_START it reads, the
 * HELLO, PROGRESS and final STAGE_DONE or STAGE_FAIL it sends, and the exit
 * code. Stages never see any of it: they get a struct stage_ctx (stage.h).
 */
#ifndef REEL_WORKER_H
#define REEL_WORKER_H

#include <stdint.h>

#include "stage.h"

/* The descriptor reeld hands every worker: a socketpair end. */
#define WORKER_FD 3
/* How long the worker waits for its JOB_START. */
#define WORKER_START_TIMEOUT_MS 10000

struct msg_config;
/* What the skeleton keeps for one running stage; ctx->skeleton. */
struct worker_skel;

/*
 * Process set-up before any I/O: the process name "reel-<stage>", SIGKILL
 * when reeld dies, SIGPIPE ignored (so a gone reeld is EPIPE) and SIGTERM
 * at its default (reeld's cancel). Returns 0, or an exit code when the
 * parent is already gone.
 */
int worker_setup(const char *stage);
/* 0 when fd is an open socket, else STAGE_E_USAGE (with a message). */
int worker_check_fd(int fd);
/*
 * Runs one job: reads JOB_START from fd, sends HELLO, runs the stage named
 * stage, sends STAGE_DONE or STAGE_FAIL. Returns the process's exit code.
 */
int worker_run(int fd, const char *stage);

/*
 * A skeleton bound to reeld's socket fd (or -1: progress goes nowhere)
 * with the job's generation and config (NULL for none, copied). Dies on
 * allocation failure.
 */
struct worker_skel *worker_skel_new(
    int fd, uint32_t gen, const struct msg_config *config);
void worker_skel_free(struct worker_skel *sk);

#endif
