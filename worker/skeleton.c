/*
 * The worker skeleton: everything a stage does not see. It reads exactly
 * one JOB_START from reeld, and once that message is valid it always sends
 * HELLO first and then exactly one of STAGE_DONE or STAGE_FAIL, whatever
 * the stage does, so reeld learns the cause of every failure it can be
 * told about. The exit code is the stage result (sysexits values). Right
 * after HELLO it installs the seccomp filter (sandbox.c), so the stage
 * library and every input are only ever touched inside it.
 *
 * Progress is throttled here, so a stage may report it for every frame.
 * If reeld is gone, the next send fails with EPIPE and the worker exits 71
 * at once: its work has no one to go to.
 */
#include <sys/prctl.h>
#include <sys/stat.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "msg.h"
#include "sandbox.h"
#include "util.h"
#include "wire.h"
#include "worker.h"

/* Progress goes out when it moved this much, or after this long. */
#define SKEL_PROGRESS_STEP 10
#define SKEL_PROGRESS_US 100000

struct worker_skel {
	int fd;
	uint32_t gen;
	struct msg_config config;
	/* Last permille sent, and when (monotonic clock). */
	unsigned permille;
	int64_t sent_us;
};

struct worker_skel *
worker_skel_new(int fd, uint32_t gen, const struct msg_config *config)
{
	struct worker_skel *sk = xcalloc(1, sizeof(*sk));

	sk->fd = fd;
	sk->gen = gen;
	if (config != NULL)
		sk->config = *config;
	sk->sent_us = clock_monotonic_us();
	return sk;
}

void
worker_skel_free(struct worker_skel *sk)
{
	free(sk);
}

/* A send that fails means reeld is unreachable: nothing left to do. */
static void
skel_send(const struct worker_skel *sk, const struct msg *m)
{
	if (wire_send(sk->fd, m) == 0)
		return;
	log_warn("cannot send %s to reeld", msg_type_name(m->type));
	_exit(STAGE_E_OS);
}

void
stage_progress(struct stage_ctx *ctx, double fraction)
{
	struct worker_skel *sk = ctx->skeleton;
	struct msg m;
	unsigned permille;
	int64_t now;

	/* The negated test also drops NaN. */
	if (sk == NULL || sk->fd < 0 || !(fraction >= 0.0))
		return;
	/* Rounded down: never claim more than is done. */
	permille = fraction >= 1.0 ? 1000 : (unsigned)(fraction * 1000.0);
	if (permille <= sk->permille)
		return;
	now = clock_monotonic_us();
	if (permille - sk->permille < SKEL_PROGRESS_STEP &&
	    now - sk->sent_us < SKEL_PROGRESS_US)
		return;
	msg_init(&m, MSG_PROGRESS);
	m.u.progress.gen = sk->gen;
	m.u.progress.permille = permille;
	skel_send(sk, &m);
	sk->permille = permille;
	sk->sent_us = now;
}

const char *
stage_config(const struct stage_ctx *ctx, const char *key)
{
	const struct worker_skel *sk = ctx->skeleton;
	unsigned i;

	if (sk == NULL || key == NULL)
		return NULL;
	for (i = 0; i < sk->config.count && i < MSG_CONFIG_MAX; i++) {
		if (strcmp(sk->config.kv[i].key, key) == 0)
			return sk->config.kv[i].value;
	}
	return NULL;
}

enum stage_result
stage_fail(struct stage_ctx *ctx, enum stage_result code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ctx->error, sizeof(ctx->error), fmt, ap);
	va_end(ap);
	return code;
}

static void
sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	/* Costs durability, never correctness: the rename is done. */
	if (fd < 0)
		return;
	(void)fsync(fd);
	close(fd);
}

/* Runs emit on a stream over fd, then closes fd; 0, or -1 with errno. */
static int
emit_to_fd(int fd, int (*emit)(FILE *f, const void *arg), const void *arg)
{
	FILE *f = fdopen(fd, "w");
	int rc, err;

	if (f == NULL) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	rc = emit(f, arg) < 0 || fflush(f) == EOF || fsync(fd) < 0 ? -1 : 0;
	err = errno;
	if (fclose(f) == EOF && rc == 0)
		return -1;
	errno = err;
	return rc;
}

enum stage_result
stage_write_file(struct stage_ctx *ctx, const char *name,
    int (*emit)(FILE *f, const void *arg), const void *arg)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	int fd, err = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", ctx->job_dir, name) >=
		sizeof(path) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", ctx->job_dir,
		name) >= sizeof(tmp))
		return stage_fail(
		    ctx, STAGE_E_IO, "job directory path too long");
	if ((fd = mkstemp(tmp)) < 0)
		return stage_fail(ctx, STAGE_E_IO, "cannot create %s: %s", tmp,
		    strerror(errno));
	errno = 0;
	if (fchmod(fd, 0644) < 0) {
		err = errno;
		close(fd);
	} else if (emit_to_fd(fd, emit, arg) < 0) {
		err = errno != 0 ? errno : EIO;
	}
	if (err == 0 && rename(tmp, path) < 0)
		err = errno;
	if (err != 0) {
		unlink(tmp);
		return stage_fail(ctx, STAGE_E_IO, "cannot write %s: %s", path,
		    strerror(err));
	}
	sync_dir(ctx->job_dir);
	return STAGE_OK;
}

static int
emit_json(FILE *f, const void *doc)
{
	return json_dumpf(doc, f, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
}

enum stage_result
stage_write_json(struct stage_ctx *ctx, const char *name, const json_t *doc)
{
	return stage_write_file(ctx, name, emit_json, doc);
}

const struct stage_ops *
stage_lookup(const struct stage_ops *table, size_t n, const char *name)
{
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (strcmp(table[i].name, name) == 0)
			return &table[i];
	}
	return NULL;
}

bool
stage_same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	if (stat(a, &sa) != 0 || stat(b, &sb) != 0)
		return strcmp(a, b) == 0;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int
worker_setup(const char *stage)
{
	struct sigaction sa;
	char name[16];

	snprintf(name, sizeof(name), "reel-%s", stage);
	if (prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0) == -1)
		log_warn("cannot set the process name");
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	/* reeld cancels and times out with SIGTERM: just die. */
	sa.sa_handler = SIG_DFL;
	sigaction(SIGTERM, &sa, NULL);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == -1) {
		log_warn("PR_SET_PDEATHSIG");
		return STAGE_E_OS;
	}
	/* The parent may have died before the signal was armed. */
	if (getppid() == 1) {
		log_warnx("parent is gone, nothing to report to");
		return STAGE_E_OS;
	}
	return 0;
}

int
worker_check_fd(int fd)
{
	struct stat sb;

	if (fstat(fd, &sb) == -1) {
		log_warn("fd %d (reel-worker is started by reeld, with its "
			 "socket on fd %d)",
		    fd, fd);
		return STAGE_E_USAGE;
	}
	if (!S_ISSOCK(sb.st_mode)) {
		log_warnx("fd %d is not a socket (reel-worker is started by "
			  "reeld)",
		    fd);
		return STAGE_E_USAGE;
	}
	return 0;
}

/* The default cause of a failure, when the stage gave none. */
static const char *
worker_code_text(enum stage_result code)
{
	switch (code) {
	case STAGE_E_USAGE:
		return "bad command line";
	case STAGE_E_DATA:
		return "input media is corrupt or unsupported";
	case STAGE_E_NOINPUT:
		return "an input or an earlier artifact is missing";
	case STAGE_E_OS:
		return "system error";
	case STAGE_E_IO:
		return "read or write error";
	case STAGE_E_TEMP:
		return "temporary failure";
	case STAGE_E_PROTOCOL:
		return "bad message from reeld";
	case STAGE_OK:
	case STAGE_E_SOFTWARE:
		break;
	}
	return "internal error";
}

static bool
worker_code_valid(int code)
{
	switch (code) {
	case STAGE_OK:
	case STAGE_E_USAGE:
	case STAGE_E_DATA:
	case STAGE_E_NOINPUT:
	case STAGE_E_SOFTWARE:
	case STAGE_E_OS:
	case STAGE_E_IO:
	case STAGE_E_TEMP:
	case STAGE_E_PROTOCOL:
		return true;
	}
	return false;
}

/* Reads the one JOB_START; anything else is reeld's mistake. */
static int
worker_read_start(int fd, struct msg *m)
{
	struct wire w;
	char err[256];
	int rc;

	wire_init(&w, fd);
	rc = wire_recv(
	    &w, DIR_TO_WORKER, WORKER_START_TIMEOUT_MS, m, err, sizeof(err));
	wire_release(&w);
	if (rc == -1) {
		log_warnx("no JOB_START from reeld: %s", err);
		return -1;
	}
	if (m->fd != -1) {
		close(m->fd);
		m->fd = -1;
	}
	if (m->type != MSG_JOB_START) {
		log_warnx("expected JOB_START from reeld, got %s",
		    msg_type_name(m->type));
		msg_clear(m);
		return -1;
	}
	return 0;
}

static void
worker_ctx_init(struct stage_ctx *ctx, const struct msg_job_start *js,
    struct worker_skel *sk)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->job_id = js->job_id;
	ctx->stage = js->stage;
	ctx->job_dir = js->job_dir;
	ctx->source = js->source[0] != '\0' ? js->source : NULL;
	ctx->template_path =
	    js->template_path[0] != '\0' ? js->template_path : NULL;
	ctx->template_only = js->template_only;
	ctx->skeleton = sk;
}

/*
 * The stage libraries beside this program, tried in this order; each is
 * loaded only after HELLO has gone out. The one that links FFmpeg costs
 * about 30 ms of dynamic linking, which reeld should not wait for to learn
 * that the worker runs, and which the stages without media skip. Both
 * must be installed: a missing first one fails every stage, by name.
 */
static const struct worker_library {
	const char *file;
	const char *finder;
} worker_libraries[] = {
    {"reel-stages-nolibav.so", "stage_find_nolibav"},
    {"reel-stages.so", "stage_find"},
};

/*
 * The library's entry for stage, or NULL. A library is never closed: the
 * process ends with its one stage, and unloading FFmpeg's dependencies
 * would leave their constructors' allocations behind as leaks.
 */
static const struct stage_ops *
worker_try_library(struct stage_ctx *ctx, const char *dir,
    const struct worker_library *wl, const char *stage, enum stage_result *rc)
{
	const struct stage_ops *(*find)(const char *);
	char path[PATH_MAX];
	void *lib;

	snprintf(path, sizeof(path), "%s/%s", dir, wl->file);
	if ((lib = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		*rc = stage_fail(ctx, STAGE_E_OS, "cannot load %s", dlerror());
		return NULL;
	}
	*(void **)&find = dlsym(lib, wl->finder);
	if (find == NULL) {
		*rc =
		    stage_fail(ctx, STAGE_E_OS, "%s has no stage table", path);
		return NULL;
	}
	return find(stage);
}

static enum stage_result
worker_load_stage(
    struct stage_ctx *ctx, const char *stage, const struct stage_ops **ops)
{
	enum stage_result rc = STAGE_OK;
	char dir[PATH_MAX];
	size_t i;
	ssize_t n;

	n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
	if (n <= 0)
		return stage_fail(ctx, STAGE_E_OS,
		    "cannot find this program: %s", strerror(errno));
	dir[n] = '\0';
	*strrchr(dir, '/') = '\0';
	for (i = 0; i < sizeof(worker_libraries) / sizeof(worker_libraries[0]);
	     i++) {
		*ops = worker_try_library(
		    ctx, dir, &worker_libraries[i], stage, &rc);
		if (*ops != NULL || rc != STAGE_OK)
			return *ops != NULL ? STAGE_OK : rc;
	}
	return stage_fail(ctx, STAGE_E_USAGE, "unknown stage %s", stage);
}

static enum stage_result
worker_dispatch(struct stage_ctx *ctx, const char *stage)
{
	const struct stage_ops *ops;
	int code;

	if (strcmp(ctx->stage, stage) != 0)
		return stage_fail(ctx, STAGE_E_PROTOCOL,
		    "JOB_START is for stage %s, this worker runs %s",
		    ctx->stage, stage);
	code = worker_load_stage(ctx, stage, &ops);
	if (code != STAGE_OK)
		return code;
	code = ops->run(ctx);
	if (!worker_code_valid(code))
		return stage_fail(ctx, STAGE_E_SOFTWARE,
		    "%s stage returned %d, not a stage result", stage, code);
	return code;
}

static bool
worker_peer_gone(int err)
{
	return err == EPIPE || err == ECONNRESET || err == ENOTCONN ||
	       err == EBADF;
}

/*
 * The process's high-water resident set in KiB (VmHWM), 0 if unknown. It
 * counts this program only: the kernel's ru_maxrss, which reeld also has,
 * includes reeld's memory that the vfork child ran in before exec.
 */
static uint32_t
worker_peak_rss_kb(void)
{
	char buf[4096], *p;
	ssize_t n;
	int fd;

	if ((fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if ((p = strstr(buf, "\nVmHWM:")) == NULL)
		return 0;
	return (uint32_t)strtoul(p + sizeof("\nVmHWM:") - 1, NULL, 10);
}

/* Sends the outcome; returns the exit code, which may now be a failure. */
static enum stage_result
worker_report(
    const struct worker_skel *sk, struct stage_ctx *ctx, enum stage_result code)
{
	struct msg m;

	if (code == STAGE_OK) {
		msg_init(&m, MSG_STAGE_DONE);
		m.u.stage_done.gen = sk->gen;
		m.u.stage_done.result = ctx->result;
		m.u.stage_done.peak_rss_kb = worker_peak_rss_kb();
		if (wire_send(sk->fd, &m) == 0)
			return STAGE_OK;
		if (worker_peer_gone(errno)) {
			log_warn("cannot send STAGE_DONE to reeld");
			return STAGE_E_OS;
		}
		code = stage_fail(ctx, STAGE_E_SOFTWARE,
		    "cannot send the %s result: %s", ctx->stage,
		    strerror(errno));
	}
	if (ctx->error[0] == '\0')
		snprintf(ctx->error, sizeof(ctx->error), "%s stage failed: %s",
		    ctx->stage, worker_code_text(code));
	log_warnx("%s", ctx->error);
	msg_init(&m, MSG_STAGE_FAIL);
	m.u.stage_fail.gen = sk->gen;
	m.u.stage_fail.peak_rss_kb = worker_peak_rss_kb();
	/* Both buffers hold 512 bytes; a longer cause is cut, not lost. */
	(void)str_copy(
	    m.u.stage_fail.message, ctx->error, sizeof(m.u.stage_fail.message));
	skel_send(sk, &m);
	return code;
}

static int
worker_job(int fd, const struct msg_job_start *js, const char *stage)
{
	struct worker_skel *sk;
	struct stage_ctx ctx;
	struct msg m;
	enum stage_result code;

	sk = worker_skel_new(fd, js->gen, &js->config);
	msg_init(&m, MSG_HELLO);
	m.u.hello.gen = js->gen;
	m.u.hello.pid = (int32_t)getpid();
	skel_send(sk, &m);
	worker_ctx_init(&ctx, js, sk);
	/* Before the stage library and any input: see sandbox.c. */
	if (sandbox_confine() != 0)
		code = stage_fail(&ctx, STAGE_E_OS,
		    "cannot enter the worker sandbox: %s", strerror(errno));
	else
		code = worker_dispatch(&ctx, stage);
	code = worker_report(sk, &ctx, code);
	json_decref(ctx.result);
	worker_skel_free(sk);
	return code;
}

int
worker_run(int fd, const char *stage)
{
	struct msg start;
	int code;

	if (worker_read_start(fd, &start) == -1)
		return STAGE_E_PROTOCOL;
	log_debug("job %s generation %u", start.u.job_start.job_id,
	    start.u.job_start.gen);
	code = worker_job(fd, &start.u.job_start, stage);
	msg_clear(&start);
	return code;
}
