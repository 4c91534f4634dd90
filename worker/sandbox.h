/*
 * The worker's seccomp filter (docs/security.md): an allow-list of the
 * system calls that decoding, analysis and encoding need. It is linked into
 * the reel-worker executable (and the test worker), never into a stage
 * library, so stage code cannot run without it.
 */
#ifndef REEL_WORKER_SANDBOX_H
#define REEL_WORKER_SANDBOX_H

/*
 * Confines the calling process, all its threads and everything it will
 * start: no_new_privs, then the filter. A call outside the list kills the
 * whole process with SIGSYS. Irreversible. Returns 0, or -1 with errno.
 */
int sandbox_confine(void);

#endif
