/*
 * A test-only stand-in for reel-worker, exec'd by reeld exactly like it:
 * "reel-worker --stage NAME --job JOB_ID" (other options are ignored) with
 * the socket to reeld on fd 3. It links only ipc/ and common/, so tests of
 * the supervisor need neither FFmpeg nor media.
 *
 * Like reel-worker it refuses to run when reeld passed --user but it still
 * has root, and it installs the worker's seccomp filter (worker/sandbox.c)
 * right after HELLO, so every script runs confined.
 *
 * It reads JOB_START, answers HELLO {gen, pid}, then runs a script taken
 * from the job config (extension keys, which reeld passes through): key
 * "x-fake.<stage>", else "x-fake", else the default ("progress,done";
 * "done" for the probe). A script is comma-separated actions, run in
 * order:
 *
 *   progress   11 PROGRESS messages 0, 100, ... 1000, 20 ms apart
 *   sleep=MS   sleep MS milliseconds
 *   done       STAGE_DONE, then exit 0. The probe stage's result is fixed
 *              metadata; style_extraction first writes job_dir/style.json
 *   fail=TEXT  STAGE_FAIL with TEXT, then exit 65
 *   exit=N     exit N without a message
 *   segv       die by a real SIGSEGV
 *   abort      die by abort(3), SIGABRT
 *   hang       pause for ever (signals keep their default actions)
 *   garbage    a frame of 64 bytes that are not msgpack, then sleep 5 s
 *   oversize   a length prefix of 1 MiB and nothing else, then sleep 5 s
 *   random     from /dev/urandom: progress,done (70%), segv (10%),
 *              abort (10%), exit=3 (10%)
 *   forbidden=CALL  make a call the sandbox forbids: socket, socketpair,
 *              exec, fork or ptrace. It should die by SIGSYS; if the call
 *              returns, STAGE_FAIL says so, exit 65
 *   write=MB   write MB MiB to job_dir/fake.bin (RLIMIT_FSIZE: SIGXFSZ)
 *   spin       burn CPU for ever (RLIMIT_CPU: SIGXCPU)
 *
 * A script that ends without done, fail or exit exits 0 with no result.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sandbox.h"
#include "util.h"
#include "wire.h"

#define FAKE_SOCKET_FD 3
#define FAKE_START_TIMEOUT_MS 30000

struct fake {
	const char *stage;
	const char *user;
	struct msg start;
	uint32_t gen;
};

static void
fake_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		continue;
}

static void
fake_send(const struct msg *m)
{
	if (wire_send(FAKE_SOCKET_FD, m) != 0)
		fatal("send %s", msg_type_name(m->type));
}

static void
fake_write_raw(const void *buf, size_t len)
{
	if (write(FAKE_SOCKET_FD, buf, len) != (ssize_t)len)
		fatal("write");
}

static void
fake_progress(const struct fake *f)
{
	struct msg m;
	uint32_t p;

	for (p = 0; p <= 1000; p += 100) {
		msg_init(&m, MSG_PROGRESS);
		m.u.progress.gen = f->gen;
		m.u.progress.permille = p;
		fake_send(&m);
		fake_sleep_ms(20);
	}
}

/* The style_extraction artifact, so that reeld can load a style. */
static void
fake_write_style(const struct fake *f)
{
	char path[MSG_PATH_SIZE + 16];
	json_t *style;

	snprintf(
	    path, sizeof(path), "%s/style.json", f->start.u.job_start.job_dir);
	style = json_pack("{s:s, s:b}", "version", "1.0", "fake", 1);
	if (style == NULL || json_dump_file(style, path, JSON_INDENT(2)) != 0)
		fatalx("cannot write %s", path);
	json_decref(style);
}

static __dead void
fake_done(const struct fake *f)
{
	struct msg m;

	msg_init(&m, MSG_STAGE_DONE);
	m.u.stage_done.gen = f->gen;
	if (strcmp(f->stage, "probe") == 0)
		m.u.stage_done.result = json_pack(
		    "{s:i, s:i, s:f, s:f, s:s, s:i, s:s}", "width", 320,
		    "height", 180, "duration_seconds", 1.0, "frame_rate", 25.0,
		    "codec", "fake", "bitrate_kbps", 0, "format", "fake");
	if (strcmp(f->stage, "style_extraction") == 0)
		fake_write_style(f);
	fake_send(&m);
	msg_clear(&m);
	exit(0);
}

static __dead void
fake_fail(const struct fake *f, const char *text)
{
	struct msg m;

	msg_init(&m, MSG_STAGE_FAIL);
	m.u.stage_fail.gen = f->gen;
	str_copy(m.u.stage_fail.message, text, sizeof(m.u.stage_fail.message));
	fake_send(&m);
	exit(EX_DATAERR);
}

/*
 * Dies by the signal itself: a sanitizer's handler must not turn it into an
 * ordinary exit, so the default action is restored first.
 */
static __dead void
fake_die(int sig)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(sig, &sa, NULL);
	raise(sig);
	fatalx("signal %d did not kill the process", sig);
}

static __dead void
fake_hang(void)
{
	for (;;)
		pause();
}

static void
fake_garbage(void)
{
	unsigned char frame[4 + 64] = {0, 0, 0, 64};
	int fd;

	if ((fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)) == -1 ||
	    read(fd, frame + 4, 64) != 64)
		fatal("/dev/urandom");
	close(fd);
	/* 0xc1 is never used in msgpack: the body cannot parse. */
	frame[4] = 0xc1;
	fake_write_raw(frame, sizeof(frame));
	fake_sleep_ms(5000);
}

static void
fake_oversize(void)
{
	const unsigned char prefix[4] = {0, 0x10, 0, 0};

	fake_write_raw(prefix, sizeof(prefix));
	fake_sleep_ms(5000);
}

/* Each returns only if the sandbox let the call through. */
static void
fake_forbidden(const struct fake *f, const char *call)
{
	char text[128];
	int sv[2];

	if (strcmp(call, "socket") == 0)
		(void)socket(AF_INET, SOCK_STREAM, 0);
	else if (strcmp(call, "socketpair") == 0)
		(void)socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	else if (strcmp(call, "exec") == 0)
		execl("/bin/true", "true", (char *)NULL);
	else if (strcmp(call, "fork") == 0)
		(void)fork();
	else if (strcmp(call, "ptrace") == 0)
		(void)ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	else
		fatalx("unknown forbidden call \"%s\"", call);
	snprintf(text, sizeof(text), "the sandbox let %s through", call);
	fake_fail(f, text);
}

static void
fake_write(const struct fake *f, long mb)
{
	static char chunk[64 * 1024];
	char path[MSG_PATH_SIZE + 16];
	int fd;

	snprintf(
	    path, sizeof(path), "%s/fake.bin", f->start.u.job_start.job_dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) ==
	    -1)
		fatal("%s", path);
	for (long i = 0; i < mb * 16; i++) {
		if (write(fd, chunk, sizeof(chunk)) != (ssize_t)sizeof(chunk))
			fatal("write %s", path);
	}
	close(fd);
}

static __dead void
fake_spin(void)
{
	volatile unsigned long n = 0;

	for (;;)
		n++;
}

static unsigned
fake_random_percent(void)
{
	unsigned char b[2];
	int fd;

	if ((fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)) == -1 ||
	    read(fd, b, sizeof(b)) != (ssize_t)sizeof(b))
		fatal("/dev/urandom");
	close(fd);
	return (unsigned)(b[0] << 8 | b[1]) % 100;
}

static void fake_action(const struct fake *f, const char *action);

static void
fake_random(const struct fake *f)
{
	unsigned r = fake_random_percent();

	if (r < 70) {
		fake_action(f, "progress");
		fake_action(f, "done");
	} else if (r < 80) {
		fake_action(f, "segv");
	} else if (r < 90) {
		fake_action(f, "abort");
	} else {
		fake_action(f, "exit=3");
	}
}

static long
fake_number(const char *action, const char *s)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || n < 0)
		fatalx("bad number in action \"%s\"", action);
	return n;
}

static void
fake_action(const struct fake *f, const char *action)
{
	if (strcmp(action, "progress") == 0)
		fake_progress(f);
	else if (strncmp(action, "sleep=", 6) == 0)
		fake_sleep_ms(fake_number(action, action + 6));
	else if (strcmp(action, "done") == 0)
		fake_done(f);
	else if (strncmp(action, "fail=", 5) == 0)
		fake_fail(f, action + 5);
	else if (strncmp(action, "exit=", 5) == 0)
		exit((int)fake_number(action, action + 5) & 0xff);
	else if (strcmp(action, "segv") == 0)
		fake_die(SIGSEGV);
	else if (strcmp(action, "abort") == 0)
		abort();
	else if (strcmp(action, "hang") == 0)
		fake_hang();
	else if (strcmp(action, "ignoreterm") == 0)
		signal(SIGTERM, SIG_IGN);
	else if (strcmp(action, "garbage") == 0)
		fake_garbage();
	else if (strcmp(action, "oversize") == 0)
		fake_oversize();
	else if (strcmp(action, "random") == 0)
		fake_random(f);
	else if (strncmp(action, "forbidden=", 10) == 0)
		fake_forbidden(f, action + 10);
	else if (strncmp(action, "write=", 6) == 0)
		fake_write(f, fake_number(action, action + 6));
	else if (strcmp(action, "spin") == 0)
		fake_spin();
	else
		fatalx("unknown action \"%s\"", action);
}

static const char *
fake_config(const struct fake *f, const char *key)
{
	const struct msg_config *c = &f->start.u.job_start.config;
	unsigned i;

	for (i = 0; i < c->count; i++) {
		if (strcmp(c->kv[i].key, key) == 0)
			return c->kv[i].value;
	}
	return NULL;
}

static void
fake_run_script(const struct fake *f)
{
	char key[MSG_CONFIG_KEY_SIZE + 32], script[MSG_CONFIG_VALUE_SIZE];
	const char *s;
	char *action, *save = NULL;

	snprintf(key, sizeof(key), "x-fake.%s", f->stage);
	if ((s = fake_config(f, key)) == NULL &&
	    (s = fake_config(f, "x-fake")) == NULL)
		s = strcmp(f->stage, "probe") == 0 ? "done" : "progress,done";
	log_debug("%s: script \"%s\"", f->stage, s);
	str_copy(script, s, sizeof(script));
	for (action = strtok_r(script, ",", &save); action != NULL;
	     action = strtok_r(NULL, ",", &save))
		fake_action(f, action);
}

static void
fake_parse_args(struct fake *f, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"stage", required_argument, NULL, 's'},
	    {"job", required_argument, NULL, 'j'},
	    {"user", required_argument, NULL, 'u'},
	    {NULL, 0, NULL, 0},
	};
	int ch;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 's')
			f->stage = optarg;
		else if (ch == 'u')
			f->user = optarg;
	}
}

/* As reel-worker: reeld said it switched users, so root must be gone. */
static void
fake_check_user(const struct fake *f)
{
	uid_t r, e, s;

	if (f->user == NULL)
		return;
	if (getresuid(&r, &e, &s) != 0)
		fatal("getresuid");
	if (r == 0 || e == 0 || s == 0)
		fatalx(
		    "switched to %s but still root: refusing to run", f->user);
}

int
main(int argc, char **argv)
{
	struct fake f;
	struct wire w;
	struct msg hello;
	char err[256];

	log_init(1, "fake-worker");
	memset(&f, 0, sizeof(f));
	fake_parse_args(&f, argc, argv);
	fake_check_user(&f);
	wire_init(&w, FAKE_SOCKET_FD);
	if (wire_recv(&w, DIR_TO_WORKER, FAKE_START_TIMEOUT_MS, &f.start, err,
		sizeof(err)) != 0) {
		log_warnx("job start: %s", err);
		wire_release(&w);
		return EX_PROTOCOL;
	}
	if (f.start.type != MSG_JOB_START) {
		log_warnx(
		    "expected JOB_START, got %s", msg_type_name(f.start.type));
		return EX_PROTOCOL;
	}
	if (f.stage == NULL)
		f.stage = f.start.u.job_start.stage;
	f.gen = f.start.u.job_start.gen;
	msg_init(&hello, MSG_HELLO);
	hello.u.hello.gen = f.gen;
	hello.u.hello.pid = (int32_t)getpid();
	fake_send(&hello);
	if (sandbox_confine() != 0)
		fatal("sandbox");
	fake_run_script(&f);
	wire_release(&w);
	return 0;
}
