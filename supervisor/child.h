/*
 * child.c: worker processes, from spawn to both exit status and EOF; the
 * only waitpid in reeld.
 */
#ifndef REEL_SUP_CHILD_H
#define REEL_SUP_CHILD_H

#include <stdint.h>
#include <sys/types.h>

#include <event2/event.h>
#include <jansson.h>

#include "config.h"
#include "msg.h"

struct child;
enum child_end {
	CHILD_OK,	 /* exit 0 after STAGE_DONE */
	CHILD_FAILED,	 /* anything else that is the stage's fault */
	CHILD_CANCELLED, /* we stopped it: cancel, timeout, shutdown */
};
struct child_outcome {
	enum child_end end;
	/* The reason we stopped it (CHILD_CANCELLED), else a code. */
	const char *code;
	/*
	 * CHILD_FAILED because the stage judged its input unusable (it said
	 * STAGE_FAIL and exited EX_DATAERR): the user's fault. Any other
	 * failure (a crash, a worker that cannot run, a missing file, I/O)
	 * is the server's.
	 */
	bool input_fault;
	char message[MSG_TEXT_SIZE];
	/* STAGE_DONE's result, owned by the child record. */
	json_t *result;
	/* From spawn to exit, and the worker's peak resident set. */
	double wall_s;
	double cpu_s; /* user and system */
	long peak_rss_kb;
};
struct child_ops {
	/* May be NULL. */
	void (*progress)(void *arg, unsigned permille);
	/* Called once, when the exit status and EOF have both arrived. */
	void (*finished)(void *arg, const struct child_outcome *out);
};
struct child *child_start(
    const struct msg_job_start *start, const struct child_ops *ops, void *arg);
/* SIGTERM to the worker's group now, SIGKILL 2 s later; code says why. */
void child_stop(struct child *c, const char *code);
pid_t child_pid(const struct child *c);
unsigned child_count(void);
void child_init(struct event_base *base, const struct config *cfg);
void child_reap(void);
void child_stop_all(const char *code);

#endif
