/*
 * Tests for the worker skeleton. In-process: the stage table, progress
 * throttling over a socketpair, job config lookup, and the exit when reeld
 * is gone. Out of process: the built $BIN/reel-worker (BIN defaults to
 * "build") run the way reeld runs it, with a socketpair end on fd 3: the
 * messages it sends, in order, and its exit code for a probe that works,
 * a stage without an implementation, a stage mismatch, bad input media,
 * a missing stage library,
 * garbage or silence on fd 3, and no fd 3 at all.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check_main.h"
#include "msg.h"
#include "util.h"
#include "wire.h"
#include "worker.h"

#define JOB_ID "job_0123456789ab"
#define GEN 7

struct child {
	pid_t pid;
	int sock;
	/* The worker's stderr. */
	int err;
};

static char dir[64];
static char video[128];
static char text[128];
/* Where the worker under test is: $BIN, or a test's own copy. */
static const char *worker_dir;

static void
setup_media(void)
{
	char cmd[512];
	FILE *f;

	snprintf(dir, sizeof(dir), "/tmp/check_worker_skeleton.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(video, sizeof(video), "%s/clip.mp4", dir);
	snprintf(text, sizeof(text), "%s/notes.txt", dir);
	snprintf(cmd, sizeof(cmd),
	    "ffmpeg -nostdin -hide_banner -loglevel error -y -f lavfi -i "
	    "testsrc2=size=320x180:rate=25:duration=2 -f lavfi -i "
	    "sine=frequency=440:duration=2 -c:v libx264 -pix_fmt yuv420p "
	    "-c:a aac %s",
	    video);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_ptr_nonnull(f = fopen(text, "w"));
	fputs("not a video\n", f);
	fclose(f);
}

static void
teardown_media(void)
{
	remove_tree(dir);
}

static const char *
bin_dir(void)
{
	const char *bin = getenv("BIN");

	return bin != NULL && *bin != '\0' ? bin : "build";
}

static void
worker_path(char *buf, size_t size)
{
	snprintf(buf, size, "%s/reel-worker",
	    worker_dir != NULL ? worker_dir : bin_dir());
	ck_assert_msg(access(buf, X_OK) == 0, "%s: %s (make it first)", buf,
	    strerror(errno));
}

/* In the child: the socket on fd 3 (or no fd 3), stderr to a pipe. */
static void
child_exec(const char *path, const char *stage, int sock, int errfd)
{
	dup2(errfd, STDERR_FILENO);
	if (sock < 0)
		close(3);
	else if (sock == 3)
		fcntl(3, F_SETFD, 0);
	else
		dup2(sock, 3);
	execl(path, "reel-worker", "--stage", stage, "--job", JOB_ID,
	    (char *)NULL);
	_exit(127);
}

static struct child
spawn(const char *stage, bool with_fd3)
{
	struct child c;
	char path[256];
	int sv[2], ep[2];

	worker_path(path, sizeof(path));
	ck_assert_int_eq(
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(pipe2(ep, O_CLOEXEC), 0);
	c.pid = fork();
	ck_assert_int_ge(c.pid, 0);
	if (c.pid == 0)
		child_exec(path, stage, with_fd3 ? sv[1] : -1, ep[1]);
	close(sv[1]);
	close(ep[1]);
	c.sock = sv[0];
	c.err = ep[0];
	return c;
}

/* Waits for the worker; returns its exit code, or 128 + signal. */
static int
reap(struct child *c, char *errtext, size_t errsize)
{
	ssize_t n, len = 0;
	int status;

	while (len < (ssize_t)errsize - 1 &&
	       (n = read(c->err, errtext + len, errsize - 1 - len)) > 0)
		len += n;
	errtext[len] = '\0';
	ck_assert_int_eq(waitpid(c->pid, &status, 0), c->pid);
	close(c->sock);
	close(c->err);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

static void
send_start(int sock, const char *stage, const char *source)
{
	struct msg m;

	msg_init(&m, MSG_JOB_START);
	str_copy(m.u.job_start.job_id, JOB_ID, sizeof(m.u.job_start.job_id));
	m.u.job_start.gen = GEN;
	str_copy(m.u.job_start.stage, stage, sizeof(m.u.job_start.stage));
	str_copy(m.u.job_start.job_dir, dir, sizeof(m.u.job_start.job_dir));
	str_copy(m.u.job_start.source, source, sizeof(m.u.job_start.source));
	ck_assert_int_eq(wire_send(sock, &m), 0);
}

static void
recv_msg(struct wire *w, struct msg *m)
{
	char err[256];

	ck_assert_msg(
	    wire_recv(w, DIR_FROM_WORKER, 10000, m, err, sizeof(err)) == 0,
	    "worker: %s", err);
}

static void
expect_hello(struct wire *w, pid_t pid)
{
	struct msg m;

	recv_msg(w, &m);
	ck_assert_str_eq(msg_type_name(m.type), "HELLO");
	ck_assert_uint_eq(m.u.hello.gen, GEN);
	ck_assert_int_eq(m.u.hello.pid, pid);
}

/* Skips PROGRESS (checking it only climbs) up to the final message. */
static void
expect_final(struct wire *w, struct msg *m)
{
	unsigned last = 0;

	for (;;) {
		recv_msg(w, m);
		if (m->type != MSG_PROGRESS)
			break;
		ck_assert_uint_eq(m->u.progress.gen, GEN);
		ck_assert_uint_gt(m->u.progress.permille, last);
		ck_assert_uint_le(m->u.progress.permille, 1000);
		last = m->u.progress.permille;
	}
}

static void
expect_closed(struct wire *w)
{
	struct msg m;
	char err[256];

	ck_assert_int_eq(
	    wire_recv(w, DIR_FROM_WORKER, 10000, &m, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "connection closed");
}

/* Runs stage on source; checks HELLO, STAGE_FAIL with reason, the code. */
static void
run_fails(const char *argv_stage, const char *msg_stage, const char *source,
    const char *reason, int want)
{
	struct child c = spawn(argv_stage, true);
	struct wire w;
	struct msg m;
	char errtext[4096];

	wire_init(&w, c.sock);
	send_start(c.sock, msg_stage, source);
	expect_hello(&w, c.pid);
	expect_final(&w, &m);
	ck_assert_str_eq(msg_type_name(m.type), "STAGE_FAIL");
	ck_assert_uint_eq(m.u.stage_fail.gen, GEN);
	ck_assert_msg(strstr(m.u.stage_fail.message, reason) != NULL,
	    "\"%s\" does not say \"%s\"", m.u.stage_fail.message, reason);
	expect_closed(&w);
	wire_release(&w);
	ck_assert_int_eq(reap(&c, errtext, sizeof(errtext)), want);
	/* The cause reaches the journal too. */
	ck_assert_ptr_nonnull(strstr(errtext, reason));
}

START_TEST(test_table)
{
	static const char *const media[] = {"probe", "video_analysis",
	    "audio_analysis", "style_application", "rendering"};
	static const char *const nolibav[] = {
	    "motion_analysis", "style_extraction"};
	size_t i;

	for (i = 0; i < sizeof(media) / sizeof(media[0]); i++) {
		ck_assert_ptr_nonnull(stage_find(media[i]));
		ck_assert_str_eq(stage_find(media[i])->name, media[i]);
		ck_assert_ptr_nonnull(stage_find(media[i])->run);
		ck_assert_ptr_null(stage_find_nolibav(media[i]));
	}
	for (i = 0; i < sizeof(nolibav) / sizeof(nolibav[0]); i++) {
		ck_assert_ptr_nonnull(stage_find_nolibav(nolibav[i]));
		ck_assert_str_eq(
		    stage_find_nolibav(nolibav[i])->name, nolibav[i]);
		ck_assert_ptr_null(stage_find(nolibav[i]));
	}
	ck_assert_ptr_null(stage_find("colourise"));
	ck_assert_ptr_null(stage_find_nolibav("colourise"));
	ck_assert_ptr_null(stage_find(""));
	ck_assert_ptr_null(stage_find(NULL));
	ck_assert_ptr_null(stage_find_nolibav(NULL));
}
END_TEST

/* Drains what the skeleton sent; returns the count, fills permille[]. */
static int
drain_progress(int sock, unsigned *permille, int max)
{
	struct wire w;
	struct msg m;
	char err[256];
	int n = 0;

	wire_init(&w, sock);
	while (wire_recv(&w, DIR_FROM_WORKER, 0, &m, err, sizeof(err)) == 0) {
		ck_assert_int_eq(m.type, MSG_PROGRESS);
		ck_assert_uint_eq(m.u.progress.gen, GEN);
		ck_assert_int_lt(n, max);
		permille[n++] = m.u.progress.permille;
	}
	wire_release(&w);
	return n;
}

START_TEST(test_progress_throttle)
{
	struct stage_ctx ctx;
	unsigned got[200];
	int sv[2], i, n;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	memset(&ctx, 0, sizeof(ctx));
	ctx.skeleton = worker_skel_new(sv[0], GEN, NULL);
	for (i = 0; i <= 1000; i++)
		stage_progress(&ctx, i / 1000.0);
	/* Backwards, again, out of range: none of these is news. */
	stage_progress(&ctx, 0.5);
	stage_progress(&ctx, 1.0);
	stage_progress(&ctx, 7.0);
	stage_progress(&ctx, NAN);
	n = drain_progress(sv[1], got, 200);
	/* Every 1%; a 100 ms stall of this loop could add a few more. */
	ck_assert_int_ge(n, 100);
	ck_assert_int_le(n, 110);
	for (i = 1; i < n; i++)
		ck_assert_uint_gt(got[i], got[i - 1]);
	ck_assert_uint_eq(got[n - 1], 1000);
	worker_skel_free(ctx.skeleton);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_progress_time)
{
	struct timespec pause = {0, 150 * 1000 * 1000};
	struct stage_ctx ctx;
	unsigned got[4];
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	memset(&ctx, 0, sizeof(ctx));
	ctx.skeleton = worker_skel_new(sv[0], GEN, NULL);
	/* A small step soon after the start waits... */
	stage_progress(&ctx, 0.001);
	ck_assert_int_eq(drain_progress(sv[1], got, 4), 0);
	/* ...and goes out once 100 ms have passed. */
	nanosleep(&pause, NULL);
	stage_progress(&ctx, 0.002);
	ck_assert_int_eq(drain_progress(sv[1], got, 4), 1);
	ck_assert_uint_eq(got[0], 2);
	worker_skel_free(ctx.skeleton);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_progress_without_skeleton)
{
	struct stage_ctx ctx;

	memset(&ctx, 0, sizeof(ctx));
	stage_progress(&ctx, 0.5);
	ctx.skeleton = worker_skel_new(-1, GEN, NULL);
	stage_progress(&ctx, 0.7);
	worker_skel_free(ctx.skeleton);
}
END_TEST

/* reeld gone: the next progress report ends the worker with 71. */
START_TEST(test_progress_peer_gone)
{
	struct stage_ctx ctx;
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[1]);
	memset(&ctx, 0, sizeof(ctx));
	ctx.skeleton = worker_skel_new(sv[0], GEN, NULL);
	stage_progress(&ctx, 0.5);
	ck_abort_msg("stage_progress returned with reeld gone");
}
END_TEST

START_TEST(test_config_and_fail)
{
	struct msg_config cfg;
	struct stage_ctx ctx;

	memset(&cfg, 0, sizeof(cfg));
	cfg.count = 2;
	str_copy(cfg.kv[0].key, "quality", sizeof(cfg.kv[0].key));
	str_copy(cfg.kv[0].value, "high", sizeof(cfg.kv[0].value));
	str_copy(cfg.kv[1].key, "lut", sizeof(cfg.kv[1].key));
	str_copy(cfg.kv[1].value, "off", sizeof(cfg.kv[1].value));
	memset(&ctx, 0, sizeof(ctx));
	ck_assert_ptr_null(stage_config(&ctx, "quality"));
	ctx.skeleton = worker_skel_new(-1, GEN, &cfg);
	ck_assert_str_eq(stage_config(&ctx, "quality"), "high");
	ck_assert_str_eq(stage_config(&ctx, "lut"), "off");
	ck_assert_ptr_null(stage_config(&ctx, "speed"));
	ck_assert_int_eq(
	    stage_fail(&ctx, STAGE_E_IO, "disk %s", "full"), STAGE_E_IO);
	ck_assert_str_eq(ctx.error, "disk full");
	worker_skel_free(ctx.skeleton);
}
END_TEST

START_TEST(test_probe_done)
{
	struct child c = spawn("probe", true);
	const json_t *r;
	struct wire w;
	struct msg m;
	char errtext[4096];

	wire_init(&w, c.sock);
	send_start(c.sock, "probe", video);
	expect_hello(&w, c.pid);
	expect_final(&w, &m);
	ck_assert_str_eq(msg_type_name(m.type), "STAGE_DONE");
	ck_assert_uint_eq(m.u.stage_done.gen, GEN);
	r = m.u.stage_done.result;
	ck_assert(json_is_object(r));
	ck_assert_int_eq(json_integer_value(json_object_get(r, "width")), 320);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "height")), 180);
	ck_assert_str_eq(
	    json_string_value(json_object_get(r, "format")), "mp4");
	ck_assert_str_eq(
	    json_string_value(json_object_get(r, "codec")), "h264");
	ck_assert_double_eq_tol(
	    json_real_value(json_object_get(r, "duration_seconds")), 2.0, 0.1);
	ck_assert(json_is_true(json_object_get(r, "has_audio")));
	msg_clear(&m);
	expect_closed(&w);
	wire_release(&w);
	ck_assert_int_eq(reap(&c, errtext, sizeof(errtext)), 0);
}
END_TEST

START_TEST(test_bad_media)
{
	run_fails("probe", "probe", text, "not a recognised media file",
	    STAGE_E_DATA);
}
END_TEST

START_TEST(test_stage_mismatch)
{
	run_fails("probe", "rendering", video,
	    "JOB_START is for stage rendering, this worker runs probe",
	    STAGE_E_PROTOCOL);
}
END_TEST

START_TEST(test_unknown_stage)
{
	run_fails("colourise", "colourise", video, "unknown stage colourise",
	    STAGE_E_USAGE);
}
END_TEST

/*
 * A worker with only the library of the stages without media beside it
 * cannot run a media stage: the one library it needs is named.
 */
START_TEST(test_missing_library)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd),
	    "cp %s/reel-worker %s/reel-stages-nolibav.so %s/", bin_dir(),
	    bin_dir(), dir);
	ck_assert_int_eq(system(cmd), 0);
	worker_dir = dir;
	run_fails("probe", "probe", video,
	    "reel-stages.so: cannot open shared object file", STAGE_E_OS);
	worker_dir = NULL;
}
END_TEST

static void
garbage_exit(const void *bytes, size_t len, const char *reason)
{
	struct child c = spawn("probe", true);
	char errtext[4096];

	if (len > 0)
		ck_assert_int_eq(write(c.sock, bytes, len), (ssize_t)len);
	/* EOF after the bytes, so a short frame is not waited for. */
	shutdown(c.sock, SHUT_WR);
	ck_assert_int_eq(reap(&c, errtext, sizeof(errtext)), STAGE_E_PROTOCOL);
	ck_assert_msg(strstr(errtext, reason) != NULL, "stderr: %s", errtext);
}

START_TEST(test_garbage)
{
	static const char junk[] = "\0\0\0\5junk!";
	static const char huge[] = "\xff\xff\xff\xff";

	garbage_exit(junk, sizeof(junk) - 1, "no JOB_START from reeld");
	garbage_exit(huge, sizeof(huge) - 1, "no JOB_START from reeld");
	garbage_exit("", 0, "connection closed");
}
END_TEST

/* A worker's own message type is refused in this direction. */
START_TEST(test_wrong_direction)
{
	struct child c = spawn("probe", true);
	struct msg m;
	char errtext[4096];

	msg_init(&m, MSG_HELLO);
	m.u.hello.gen = GEN;
	m.u.hello.pid = 1;
	ck_assert_int_eq(wire_send(c.sock, &m), 0);
	ck_assert_int_eq(reap(&c, errtext, sizeof(errtext)), STAGE_E_PROTOCOL);
}
END_TEST

START_TEST(test_no_fd3)
{
	struct child c = spawn("probe", false);
	char errtext[4096];

	ck_assert_int_eq(reap(&c, errtext, sizeof(errtext)), STAGE_E_USAGE);
	ck_assert_msg(strstr(errtext, "fd 3") != NULL, "stderr: %s", errtext);
}
END_TEST

START_TEST(test_usage)
{
	char path[256];
	pid_t pid;
	int status, fd;

	worker_path(path, sizeof(path));
	if ((pid = fork()) == 0) {
		if ((fd = open("/dev/null", O_WRONLY)) >= 0)
			dup2(fd, STDERR_FILENO);
		execl(path, "reel-worker", "--stage", "probe", (char *)NULL);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), STAGE_E_USAGE);
}
END_TEST

static Suite *
worker_skeleton_suite(void)
{
	Suite *s = suite_create("worker_skeleton");
	TCase *unit = tcase_create("in_process");
	TCase *bin = tcase_create("binary");

	tcase_add_test(unit, test_table);
	tcase_add_test(unit, test_progress_throttle);
	tcase_add_test(unit, test_progress_time);
	tcase_add_test(unit, test_progress_without_skeleton);
	tcase_add_exit_test(unit, test_progress_peer_gone, STAGE_E_OS);
	tcase_add_test(unit, test_config_and_fail);
	suite_add_tcase(s, unit);

	tcase_add_unchecked_fixture(bin, setup_media, teardown_media);
	tcase_set_timeout(bin, 30);
	tcase_add_test(bin, test_probe_done);
	tcase_add_test(bin, test_bad_media);
	tcase_add_test(bin, test_stage_mismatch);
	tcase_add_test(bin, test_unknown_stage);
	tcase_add_test(bin, test_missing_library);
	tcase_add_test(bin, test_garbage);
	tcase_add_test(bin, test_wrong_direction);
	tcase_add_test(bin, test_no_fd3);
	tcase_add_test(bin, test_usage);
	suite_add_tcase(s, bin);
	return s;
}

CHECK_MAIN(worker_skeleton_suite)
