/*
 * Worker processes, from spawn to their end. The only waitpid in reeld.
 *
 * A child record is freed only when both its exit status (SIGCHLD) and the
 * EOF of its socket have arrived, whatever the order: when the exit status
 * comes first, the socket is drained before the exit is judged, so that a
 * STAGE_DONE already in the socket buffer counts. The outcome is decided in
 * one place, child_judge(). Messages from workers are checked (generation,
 * order) and anything unexpected is a protocol error that kills the worker;
 * reeld never exits because of what a worker does.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "child.h"
#include "config.h"
#include "log.h"
#include "peer.h"
#include "spawner.h"
#include "util.h"

#define KILL_GRACE_SECONDS 2

struct child {
	LIST_ENTRY(child) c_entry;
	pid_t c_pid;
	uint32_t c_gen;
	char c_stage[MSG_WORD_SIZE];
	struct peer *c_peer;
	const struct child_ops *c_ops;
	void *c_arg;
	bool c_exited;
	bool c_closed;
	int c_status;
	int64_t c_exit_us;
	long c_maxrss_kb;
	/*
	 * The worker's own peak, from its final message (0: none came). The
	 * kernel's ru_maxrss of a vfork child also counts reeld's memory it
	 * ran in until exec, so it serves only a worker that never said.
	 */
	long c_reported_rss_kb;
	/* User plus system CPU time, to tell the CPU limit's SIGKILL. */
	double c_cpu_s;
	int c_exec_errno;
	bool c_hello;
	bool c_done;
	bool c_failed;
	char c_fail_msg[MSG_TEXT_SIZE];
	/* Why we signalled it, or NULL when we did not. */
	const char *c_stop_code;
	char c_protocol_err[MSG_TEXT_SIZE];
	json_t *c_result;
	struct event *c_kill_ev;
	struct event *c_stall_ev;
	int64_t c_spawn_us;
};

static LIST_HEAD(, child) children = LIST_HEAD_INITIALIZER(children);
static unsigned nchildren;
static struct event_base *child_base;
static const struct config *child_cfg;
static uint32_t next_gen = 1;

static void child_on_msg(
    struct peer *p, struct msg *m, const char *error, void *arg);
static void child_handle(struct child *c, const struct msg *m);
static void child_protocol_error(struct child *c, const char *fmt, ...)
    __attribute__((__format__(__printf__, 2, 3)));
static void child_kill_cb(evutil_socket_t fd, short what, void *arg);
static void child_stall_cb(evutil_socket_t fd, short what, void *arg);
static void child_arm_stall(struct child *c);
static void child_maybe_finish(struct child *c);
static void child_judge(const struct child *c, struct child_outcome *out);
static void child_free(struct child *c);
static struct child *child_by_pid(pid_t pid);

void
child_init(struct event_base *base, const struct config *cfg)
{
	child_base = base;
	child_cfg = cfg;
}

unsigned
child_count(void)
{
	return nchildren;
}

pid_t
child_pid(const struct child *c)
{
	return c->c_pid;
}

static struct child *
child_spawn(const struct msg_job_start *start)
{
	char *argv[] = {"reel-worker", "--stage", (char *)start->stage, "--job",
	    (char *)start->job_id, NULL, NULL, NULL};
	struct child *c = xcalloc(1, sizeof(*c));
	int sock;

	/* A root reeld switches users (confine.c); the worker verifies it. */
	if (geteuid() == 0) {
		argv[5] = "--user";
		argv[6] = (char *)child_cfg->worker_user;
	}

	c->c_spawn_us = clock_monotonic_us();
	if (spawn_worker(child_cfg->worker_path, argv, &c->c_pid, &sock,
		&c->c_exec_errno) != 0) {
		log_warn("%s: cannot start %s worker", __func__, start->stage);
		free(c);
		return NULL;
	}
	c->c_peer =
	    peer_new(child_base, sock, DIR_FROM_WORKER, child_on_msg, c);
	return c;
}

/*
 * Starts a worker for one stage and hands it its job. Returns NULL only
 * when no process could be created (fork or socket failure).
 */
struct child *
child_start(
    const struct msg_job_start *start, const struct child_ops *ops, void *arg)
{
	struct msg m;
	struct child *c = child_spawn(start);

	if (c == NULL)
		return NULL;
	c->c_gen = next_gen++;
	c->c_ops = ops;
	c->c_arg = arg;
	str_copy(c->c_stage, start->stage, sizeof(c->c_stage));
	c->c_kill_ev = evtimer_new(child_base, child_kill_cb, c);
	c->c_stall_ev = evtimer_new(child_base, child_stall_cb, c);
	LIST_INSERT_HEAD(&children, c, c_entry);
	nchildren++;
	msg_init(&m, MSG_JOB_START);
	m.u.job_start = *start;
	m.u.job_start.gen = c->c_gen;
	if (peer_send(c->c_peer, &m) != 0)
		child_protocol_error(
		    c, "cannot send the job: %s", strerror(errno));
	child_arm_stall(c);
	log_debug("%s: %s worker pid %d gen %u", __func__, c->c_stage,
	    (int)c->c_pid, c->c_gen);
	return c;
}

static void
child_arm_stall(struct child *c)
{
	struct timeval tv = {child_cfg->stage_stall_seconds, 0};

	evtimer_add(c->c_stall_ev, &tv);
}

void
child_stop(struct child *c, const char *code)
{
	struct timeval tv = {KILL_GRACE_SECONDS, 0};

	if (c->c_exited || c->c_stop_code != NULL)
		return;
	c->c_stop_code = code;
	evtimer_del(c->c_stall_ev);
	if (kill(-c->c_pid, SIGTERM) != 0 && errno != ESRCH)
		log_warn("%s: kill %d", __func__, (int)c->c_pid);
	evtimer_add(c->c_kill_ev, &tv);
}

void
child_stop_all(const char *code)
{
	struct child *c;

	LIST_FOREACH(c, &children, c_entry)
	child_stop(c, code);
}

static void
child_kill_cb(evutil_socket_t fd, short what, void *arg)
{
	struct child *c = arg;

	(void)fd;
	(void)what;
	if (!c->c_exited && kill(-c->c_pid, SIGKILL) != 0 && errno != ESRCH)
		log_warn("%s: kill %d", __func__, (int)c->c_pid);
}

static void
child_stall_cb(evutil_socket_t fd, short what, void *arg)
{
	struct child *c = arg;

	(void)fd;
	(void)what;
	log_warnx("%s worker pid %d silent for %u s", c->c_stage, (int)c->c_pid,
	    child_cfg->stage_stall_seconds);
	child_stop(c, "WORKER_STALLED");
}

static void
child_protocol_error(struct child *c, const char *fmt, ...)
{
	va_list ap;

	if (c->c_protocol_err[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(
		    c->c_protocol_err, sizeof(c->c_protocol_err), fmt, ap);
		va_end(ap);
		log_warnx("%s worker pid %d: %s", c->c_stage, (int)c->c_pid,
		    c->c_protocol_err);
	}
	child_stop(c, "PROTOCOL_ERROR");
}

static void
child_on_msg(struct peer *p, struct msg *m, const char *error, void *arg)
{
	struct child *c = arg;

	(void)p;
	if (m == NULL) {
		if (error != NULL)
			child_protocol_error(c, "malformed message: %s", error);
		c->c_closed = true;
		child_maybe_finish(c);
		return;
	}
	if (c->c_stop_code == NULL)
		child_arm_stall(c);
	child_handle(c, m);
	if (m->fd >= 0)
		close(m->fd);
	msg_clear(m);
}

static uint32_t
msg_gen(const struct msg *m)
{
	switch (m->type) {
	case MSG_HELLO:
		return m->u.hello.gen;
	case MSG_PROGRESS:
		return m->u.progress.gen;
	case MSG_STAGE_DONE:
		return m->u.stage_done.gen;
	case MSG_STAGE_FAIL:
		return m->u.stage_fail.gen;
	default:
		return 0;
	}
}

static void
child_handle(struct child *c, const struct msg *m)
{
	if (msg_gen(m) != c->c_gen)
		return child_protocol_error(c, "%s for generation %u, not %u",
		    msg_type_name(m->type), msg_gen(m), c->c_gen);
	if (c->c_done || c->c_failed)
		return child_protocol_error(
		    c, "%s after the stage ended", msg_type_name(m->type));
	if (!c->c_hello && m->type != MSG_HELLO)
		return child_protocol_error(
		    c, "%s before HELLO", msg_type_name(m->type));
	switch (m->type) {
	case MSG_HELLO:
		if (c->c_hello)
			return child_protocol_error(c, "second HELLO");
		c->c_hello = true;
		break;
	case MSG_PROGRESS:
		if (c->c_stop_code == NULL && c->c_ops->progress != NULL)
			c->c_ops->progress(c->c_arg, m->u.progress.permille);
		break;
	case MSG_STAGE_DONE:
		c->c_done = true;
		c->c_result = json_incref(m->u.stage_done.result);
		c->c_reported_rss_kb = m->u.stage_done.peak_rss_kb;
		break;
	case MSG_STAGE_FAIL:
		c->c_failed = true;
		c->c_reported_rss_kb = m->u.stage_fail.peak_rss_kb;
		str_copy(c->c_fail_msg, m->u.stage_fail.message,
		    sizeof(c->c_fail_msg));
		break;
	default:
		child_protocol_error(
		    c, "unexpected %s", msg_type_name(m->type));
	}
}

static struct child *
child_by_pid(pid_t pid)
{
	struct child *c;

	LIST_FOREACH(c, &children, c_entry)
	{
		if (c->c_pid == pid && !c->c_exited)
			return c;
	}
	return NULL;
}

/* Runs from the SIGCHLD event, in loop context. */
void
child_reap(void)
{
	struct child *c;
	struct rusage ru;
	pid_t pid;
	int status;

	while ((pid = wait4(-1, &status, WNOHANG, &ru)) > 0) {
		c = child_by_pid(pid);
		if (c == NULL) {
			log_warnx("%s: unknown child %d", __func__, (int)pid);
			continue;
		}
		c->c_exited = true;
		c->c_status = status;
		c->c_exit_us = clock_monotonic_us();
		c->c_maxrss_kb = ru.ru_maxrss;
		c->c_cpu_s = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
			     (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
		evtimer_del(c->c_stall_ev);
		evtimer_del(c->c_kill_ev);
		if (c->c_closed) {
			child_maybe_finish(c);
			continue;
		}
		/*
		 * A final message may still sit in the socket buffer. Reaching
		 * EOF there finishes (and frees) the child; otherwise the EOF
		 * event does it later.
		 */
		peer_drain(c->c_peer);
	}
	if (pid < 0 && errno != ECHILD)
		log_warn("%s: wait4", __func__);
}

static void
child_maybe_finish(struct child *c)
{
	struct child_outcome out;

	if (!c->c_exited || !c->c_closed)
		return;
	child_judge(c, &out);
	LIST_REMOVE(c, c_entry);
	nchildren--;
	c->c_ops->finished(c->c_arg, &out);
	child_free(c);
}

/* Why the sandbox's signals came (docs/security.md), else "". */
static void
judge_signal_cause(const struct child *c, int sig, char *cause, size_t causelen)
{
	unsigned cpu = child_cfg->worker_cpu_seconds;

	cause[0] = '\0';
	if (sig == SIGSYS)
		snprintf(cause, causelen,
		    ": the worker sandbox forbids that system call");
	else if (sig == SIGXCPU || (sig == SIGKILL && c->c_cpu_s >= cpu))
		snprintf(cause, causelen,
		    ": it used up its CPU time limit of %u s "
		    "(--worker-cpu-seconds)",
		    cpu);
	else if (sig == SIGXFSZ)
		snprintf(cause, causelen,
		    ": it wrote past the file size limit of %u MB "
		    "(--worker-file-size-mb)",
		    child_cfg->worker_file_size_mb);
}

static void
judge_signal(const struct child *c, struct child_outcome *out)
{
	int sig = WTERMSIG(c->c_status);
	const char *abbrev = sigabbrev_np(sig);
	char cause[128];

	judge_signal_cause(c, sig, cause, sizeof(cause));
	out->code = "WORKER_CRASHED";
	snprintf(out->message, sizeof(out->message),
	    "%s worker killed by signal %d (SIG%s)%s%s", c->c_stage, sig,
	    abbrev != NULL ? abbrev : "?",
	    WCOREDUMP(c->c_status) ? ", core dumped" : "", cause);
}

static void
judge_exit(const struct child *c, struct child_outcome *out)
{
	int code = WEXITSTATUS(c->c_status);

	out->code = "STAGE_FAILED";
	if (c->c_exec_errno != 0) {
		out->code = "WORKER_EXEC_FAILED";
		snprintf(out->message, sizeof(out->message),
		    "cannot start worker %s: %s", child_cfg->worker_path,
		    strerror(c->c_exec_errno));
	} else if (c->c_failed) {
		out->input_fault = code == EX_DATAERR;
		snprintf(
		    out->message, sizeof(out->message), "%s", c->c_fail_msg);
	} else if (code == 0) {
		out->code = "PROTOCOL_ERROR";
		snprintf(out->message, sizeof(out->message),
		    "%s worker exited without a result", c->c_stage);
	} else {
		snprintf(out->message, sizeof(out->message),
		    "%s worker exited with status %d", c->c_stage, code);
	}
}

/* The one place where a worker's end becomes an outcome. */
static void
child_judge(const struct child *c, struct child_outcome *out)
{
	memset(out, 0, sizeof(*out));
	out->result = c->c_result;
	out->wall_s = (c->c_exit_us - c->c_spawn_us) / 1e6;
	out->cpu_s = c->c_cpu_s;
	out->peak_rss_kb =
	    c->c_reported_rss_kb > 0 ? c->c_reported_rss_kb : c->c_maxrss_kb;
	if (c->c_stop_code != NULL && c->c_protocol_err[0] != '\0') {
		out->end = CHILD_FAILED;
		out->code = c->c_stop_code;
		snprintf(out->message, sizeof(out->message),
		    "%s worker sent a malformed message: %s", c->c_stage,
		    c->c_protocol_err);
	} else if (c->c_stop_code != NULL &&
		   strcmp(c->c_stop_code, "WORKER_STALLED") == 0) {
		out->end = CHILD_FAILED;
		out->code = c->c_stop_code;
		snprintf(out->message, sizeof(out->message),
		    "%s worker stalled: no message for %u s", c->c_stage,
		    child_cfg->stage_stall_seconds);
	} else if (c->c_stop_code != NULL) {
		out->end = CHILD_CANCELLED;
		out->code = c->c_stop_code;
	} else if (WIFEXITED(c->c_status) && WEXITSTATUS(c->c_status) == 0 &&
		   c->c_done) {
		out->end = CHILD_OK;
	} else {
		out->end = CHILD_FAILED;
		if (WIFSIGNALED(c->c_status))
			judge_signal(c, out);
		else
			judge_exit(c, out);
	}
}

static void
child_free(struct child *c)
{
	event_free(c->c_kill_ev);
	event_free(c->c_stall_ev);
	peer_free(c->c_peer);
	json_decref(c->c_result);
	free(c);
}
