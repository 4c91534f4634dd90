/*
 * Tests for reelstat and the table helpers it shares with reelctl. The
 * reelstat cases build a job table with jobtab_create in a temporary
 * directory, run the real binary ($BIN/reelstat, BIN defaulting to "build")
 * and check its output and exit code: live, dead and stale reeld, a writer
 * stopped mid-update, bad tables, --watch, and a terminal's width.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "check_main.h"
#include "jobtab.h"
#include "table.h"
#include "util.h"

#define OUT_SIZE 65536

struct run {
	int status;
	char out[OUT_SIZE];
	char err[OUT_SIZE];
};

static char tmpdir[64];
static char path[128];
static char bin[512];
static int64_t now;

static void
setup(void)
{
	const char *dir = getenv("BIN");

	snprintf(bin, sizeof(bin), "%s/reelstat",
	    dir != NULL && dir[0] != '\0' ? dir : "build");
	ck_assert_msg(access(bin, X_OK) == 0, "%s: %s (make %s)", bin,
	    strerror(errno), bin);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_reelstat.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(path, sizeof(path), "%s/%s", tmpdir, REEL_JOBTAB_NAME);
	now = clock_realtime_ms();
}

static void
teardown(void)
{
	remove_tree(tmpdir);
}

static void
slurp(const char *name, char *buf)
{
	char file[160];
	ssize_t n;
	int fd;

	snprintf(file, sizeof(file), "%s/%s", tmpdir, name);
	fd = open(file, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	n = read(fd, buf, OUT_SIZE - 1);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	close(fd);
	unlink(file);
}

static void
redirect(int to, const char *name)
{
	char file[160];
	int fd;

	snprintf(file, sizeof(file), "%s/%s", tmpdir, name);
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd == -1 || dup2(fd, to) == -1)
		_exit(127);
	close(fd);
}

static pid_t
spawn(char *const argv[])
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		redirect(STDOUT_FILENO, "out");
		redirect(STDERR_FILENO, "err");
		execv(bin, argv);
		_exit(127);
	}
	return pid;
}

static void
collect(pid_t pid, struct run *r)
{
	ck_assert_int_eq(waitpid(pid, &r->status, 0), pid);
	slurp("out", r->out);
	slurp("err", r->err);
}

/* Runs reelstat with up to three arguments; returns its exit code. */
static int
run3(struct run *r, const char *a, const char *b, const char *c)
{
	char *argv[] = {bin, (char *)a, (char *)b, (char *)c, NULL};

	collect(spawn(argv), r);
	ck_assert_msg(
	    WIFEXITED(r->status), "reelstat died: status %d", r->status);
	return WEXITSTATUS(r->status);
}

static json_t *
run_json(struct run *r, int want_rc)
{
	json_error_t jerr;
	json_t *root;
	int rc;

	rc = run3(r, "--table", path, "--json");
	ck_assert_msg(
	    rc == want_rc, "exit %d, want %d; stderr: %s", rc, want_rc, r->err);
	root = json_loads(r->out, 0, &jerr);
	ck_assert_msg(root != NULL, "bad JSON (%s): %s", jerr.text, r->out);
	return root;
}

static void
put_job(struct jobtab *jt, uint32_t slot, const char *id, uint8_t status,
    int64_t created_ago)
{
	struct jobtab_job j;

	memset(&j, 0, sizeof(j));
	str_copy(j.job_id, id, sizeof(j.job_id));
	str_copy(j.video_id, "vid_aaaaaaaaaaaa", sizeof(j.video_id));
	j.status = status;
	j.created_ms = now - created_ago;
	j.updated_ms = now - 1000;
	if (status == JOB_PROCESSING) {
		j.stage = STAGE_STYLE_EXTRACTION;
		j.progress = 60;
		j.worker_pid = 4321;
		j.started_ms = now - 20000;
	}
	if (status == JOB_FAILED) {
		j.error_stage = STAGE_AUDIO_ANALYSIS;
		j.progress = 27;
		j.started_ms = now - 39000;
		j.completed_ms = now - 37500;
		str_copy(j.error, "decoder exploded", sizeof(j.error));
	}
	jobtab_write_job(jt, slot, &j);
}

/* Three jobs in slot order unlike their creation order, reeld = pid. */
static struct jobtab *
make_table(pid_t pid, int64_t heartbeat_ago)
{
	struct jobtab *jt = jobtab_create(path, 8);
	struct jobtab_info in = {0};

	ck_assert_ptr_nonnull(jt);
	jobtab_set_pid(jt, pid, now - 65000);
	jobtab_heartbeat(jt, now - heartbeat_ago);
	in.submitted = 12;
	in.completed = 8;
	in.failed = 1;
	in.cancelled = 1;
	in.queue_depth = 1;
	in.running = 1;
	jobtab_write_counters(jt, &in);
	put_job(jt, 3, "job_000000000003", JOB_QUEUED, 5000);
	put_job(jt, 0, "job_000000000000", JOB_PROCESSING, 30000);
	put_job(jt, 6, "job_000000000006", JOB_FAILED, 40000);
	return jt;
}

static pid_t
dead_pid(void)
{
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return pid;
}

static const char *
job_str(json_t *jobs, size_t i, const char *key)
{
	return json_string_value(json_object_get(json_array_get(jobs, i), key));
}

static json_int_t
job_int(json_t *jobs, size_t i, const char *key)
{
	return json_integer_value(
	    json_object_get(json_array_get(jobs, i), key));
}

START_TEST(test_json_live)
{
	struct jobtab *jt = make_table(getpid(), 0);
	static struct run r;
	json_t *root = run_json(&r, 0), *reeld, *jobs, *err;

	ck_assert_str_eq(r.err, "");
	reeld = json_object_get(root, "reeld");
	ck_assert_int_eq(
	    json_integer_value(json_object_get(reeld, "pid")), getpid());
	ck_assert(json_is_true(json_object_get(reeld, "alive")));
	ck_assert(json_is_false(json_object_get(reeld, "stale")));
	ck_assert_int_ge(
	    json_integer_value(json_object_get(reeld, "uptime_ms")), 65000);
	ck_assert_int_eq(json_integer_value(json_object_get(
			     json_object_get(root, "counters"), "submitted")),
	    12);
	jobs = json_object_get(root, "jobs");
	ck_assert_uint_eq(json_array_size(jobs), 3);
	ck_assert_str_eq(job_str(jobs, 0, "job_id"), "job_000000000006");
	ck_assert_str_eq(job_str(jobs, 1, "job_id"), "job_000000000000");
	ck_assert_str_eq(job_str(jobs, 2, "job_id"), "job_000000000003");
	ck_assert_str_eq(job_str(jobs, 0, "status"), "failed");
	ck_assert_int_eq(job_int(jobs, 0, "elapsed_ms"), 1500);
	err = json_object_get(json_array_get(jobs, 0), "error");
	ck_assert_str_eq(
	    json_string_value(json_object_get(err, "stage")), "audio_analysis");
	ck_assert_str_eq(json_string_value(json_object_get(err, "message")),
	    "decoder exploded");
	ck_assert_str_eq(job_str(jobs, 1, "stage"), "style_extraction");
	ck_assert_int_eq(job_int(jobs, 1, "progress"), 60);
	ck_assert_int_eq(job_int(jobs, 1, "worker_pid"), 4321);
	ck_assert_int_eq(job_int(jobs, 1, "slot"), 0);
	ck_assert(
	    json_is_null(json_object_get(json_array_get(jobs, 2), "stage")));
	ck_assert_int_ge(job_int(jobs, 2, "elapsed_ms"), 5000);
	ck_assert_int_lt(job_int(jobs, 2, "elapsed_ms"), 15000);
	json_decref(root);
	jobtab_close(jt);
}
END_TEST

START_TEST(test_text_live)
{
	struct jobtab *jt = make_table(getpid(), 0);
	static struct run r;
	char head[64];
	const char *failed, *proc, *queued;

	ck_assert_int_eq(run3(&r, "--table", path, NULL), 0);
	ck_assert_str_eq(r.err, "");
	snprintf(head, sizeof(head), "reeld pid %d running, up 1m0", getpid());
	ck_assert_msg(strstr(r.out, head) != NULL, "%s", r.out);
	ck_assert_ptr_nonnull(strstr(r.out, "submitted 12, completed 8"));
	ck_assert_ptr_nonnull(strstr(r.out, "queued 1, running 1"));
	ck_assert_ptr_nonnull(strstr(r.out, "3 of 8 slots in use"));
	failed = strstr(r.out, "job_000000000006 failed ");
	proc = strstr(r.out, "job_000000000000 processing style_extraction");
	queued = strstr(r.out, "job_000000000003 queued ");
	ck_assert_msg(
	    failed != NULL && proc != NULL && queued != NULL, "%s", r.out);
	ck_assert(failed < proc && proc < queued);
	ck_assert_ptr_nonnull(strstr(r.out, "[######....]  60%"));
	ck_assert_ptr_nonnull(strstr(r.out, "1.5s"));
	ck_assert_ptr_nonnull(
	    strstr(r.out, "\n    error: audio_analysis: decoder exploded\n"));
	ck_assert_ptr_nonnull(strstr(proc, "4321"));
	jobtab_close(jt);
}
END_TEST

START_TEST(test_dead_reeld)
{
	pid_t pid = dead_pid();
	struct jobtab *jt = make_table(pid, 0);
	static struct run r;
	char want[96];
	json_t *root, *reeld;

	ck_assert_int_eq(run3(&r, "--table", path, NULL), 2);
	snprintf(want, sizeof(want), "reelstat: reeld (pid %d) is not running",
	    (int)pid);
	ck_assert_msg(strstr(r.err, want) != NULL, "stderr: %s", r.err);
	ck_assert_ptr_nonnull(strstr(r.err, "its last state, not live"));
	ck_assert_ptr_nonnull(strstr(r.out, "job_000000000003"));
	root = run_json(&r, 2);
	reeld = json_object_get(root, "reeld");
	ck_assert(json_is_false(json_object_get(reeld, "alive")));
	ck_assert_uint_eq(json_array_size(json_object_get(root, "jobs")), 3);
	json_decref(root);
	jobtab_close(jt);
}
END_TEST

START_TEST(test_stale_heartbeat)
{
	struct jobtab *jt = make_table(getpid(), 12300);
	static struct run r;
	json_t *root, *reeld;

	ck_assert_int_eq(run3(&r, "--table", path, NULL), 2);
	ck_assert_msg(strstr(r.err, "is not responding: heartbeat 12.") != NULL,
	    "stderr: %s", r.err);
	ck_assert_ptr_nonnull(strstr(r.err, " s old; the table below is"));
	root = run_json(&r, 2);
	reeld = json_object_get(root, "reeld");
	ck_assert(json_is_true(json_object_get(reeld, "alive")));
	ck_assert(json_is_true(json_object_get(reeld, "stale")));
	ck_assert_int_ge(
	    json_integer_value(json_object_get(reeld, "heartbeat_age_ms")),
	    12300);
	json_decref(root);
	jobtab_close(jt);
}
END_TEST

/* Just under the limit is still live: three missed beats, not two. */
START_TEST(test_recent_heartbeat_live)
{
	struct jobtab *jt = make_table(getpid(), 2000);
	static struct run r;

	ck_assert_int_eq(run3(&r, "--table", path, NULL), 0);
	ck_assert_str_eq(r.err, "");
	jobtab_close(jt);
}
END_TEST

/* reeld stopped mid-write of a slot: reelstat still ends, and says so. */
START_TEST(test_stopped_mid_update)
{
	struct jobtab *jt = make_table(getpid(), 0);
	static struct run r;
	uint32_t odd = 1;
	int64_t t0 = clock_monotonic_us();
	int fd = open(path, O_WRONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, &odd, sizeof(odd),
			     JOBTAB_HEADER_SIZE + 6 * JOBTAB_SLOT_SIZE),
	    sizeof(odd));
	close(fd);
	ck_assert_int_eq(run3(&r, "--table", path, NULL), 2);
	ck_assert_int_lt(clock_monotonic_us() - t0, 3000000);
	ck_assert_msg(
	    strstr(r.err, "stopped in the middle of an update") != NULL,
	    "stderr: %s", r.err);
	ck_assert_ptr_nonnull(strstr(r.out, "1 slot(s) unreadable"));
	ck_assert_ptr_nonnull(strstr(r.out, "job_000000000003"));
	jobtab_close(jt);
}
END_TEST

START_TEST(test_bad_tables)
{
	static struct run r;
	int fd;

	ck_assert_int_eq(run3(&r, "--table", path, NULL), 1);
	ck_assert_ptr_nonnull(strstr(r.err, strerror(ENOENT)));
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	ck_assert_int_eq(write(fd, "not a table at all, just text...",
			     JOBTAB_HEADER_SIZE / 8),
	    JOBTAB_HEADER_SIZE / 8);
	close(fd);
	ck_assert_int_eq(run3(&r, "--table", path, NULL), 1);
	ck_assert_ptr_nonnull(strstr(r.err, "shorter than"));
	ck_assert_int_eq(truncate(path, JOBTAB_HEADER_SIZE * 4), 0);
	ck_assert_int_eq(run3(&r, "--json", "--table", path), 1);
	ck_assert_ptr_nonnull(strstr(r.err, "bad magic"));
	ck_assert_str_eq(r.out, "");
	ck_assert_int_eq(run3(&r, "--bogus", NULL, NULL), 1);
	ck_assert_ptr_nonnull(strstr(r.err, "usage:"));
	ck_assert_int_eq(run3(&r, "--help", NULL, NULL), 0);
	ck_assert_ptr_nonnull(strstr(r.out, "exit status"));
}
END_TEST

START_TEST(test_runtime_dir)
{
	struct jobtab *jt = make_table(getpid(), 0);
	static struct run r;

	ck_assert_int_eq(run3(&r, "--runtime-dir", tmpdir, "--json"), 0);
	ck_assert_ptr_nonnull(strstr(r.out, path));
	setenv("RUNTIME_DIRECTORY", tmpdir, 1);
	ck_assert_int_eq(run3(&r, NULL, NULL, NULL), 0);
	ck_assert_ptr_nonnull(strstr(r.out, "3 of 8 slots in use"));
	jobtab_close(jt);
}
END_TEST

static int
count_frames(const char *text)
{
	const char *p = text;
	int frames = 0;

	for (; (p = strstr(p, "\033[H\033[2J")) != NULL; p++)
		frames++;
	return frames;
}

/* Waits (up to 10 s) until the running reelstat has drawn n frames. */
static void
wait_frames(int n)
{
	static char buf[OUT_SIZE];
	char file[160];
	ssize_t len;
	int fd;

	snprintf(file, sizeof(file), "%s/out", tmpdir);
	for (int i = 0; i < 200; i++) {
		usleep(50 * 1000);
		if ((fd = open(file, O_RDONLY)) == -1)
			continue;
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[len > 0 ? len : 0] = '\0';
		if (count_frames(buf) >= n)
			return;
	}
	ck_abort_msg("reelstat --watch drew fewer than %d frames", n);
}

START_TEST(test_watch)
{
	struct jobtab *jt = make_table(getpid(), 0);
	char *argv[] = {bin, "--table", path, "--watch", "0.1", NULL};
	static struct run r;
	pid_t pid;

	pid = spawn(argv);
	wait_frames(3);
	ck_assert_int_eq(kill(pid, SIGINT), 0);
	collect(pid, &r);
	ck_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
	ck_assert_int_ge(count_frames(r.out), 3);
	ck_assert_ptr_nonnull(strstr(r.out, "job_000000000006"));
	jobtab_close(jt);
}
END_TEST

/* Reads everything the child wrote to the pty until it hangs up. */
static void
pty_drain(int master, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;

	while (
	    len < size - 1 && (n = read(master, buf + len, size - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
}

static pid_t
spawn_on_pty(int master, char *const argv[])
{
	struct winsize ws = {.ws_row = 24, .ws_col = 80};
	pid_t pid;
	int slave;

	slave = open(ptsname(master), O_RDWR | O_NOCTTY);
	ck_assert_int_ge(slave, 0);
	ck_assert_int_eq(ioctl(slave, TIOCSWINSZ, &ws), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (dup2(slave, STDOUT_FILENO) == -1)
			_exit(127);
		execv(bin, argv);
		_exit(127);
	}
	close(slave);
	return pid;
}

/* On a terminal the error column is cut to fit, and escapes are blanked. */
START_TEST(test_tty_width)
{
	struct jobtab *jt = make_table(getpid(), 0);
	char *argv[] = {bin, "--table", path, NULL};
	static char out[OUT_SIZE];
	struct jobtab_job j;
	char *line, *save;
	int master, status, long_lines = 0;
	pid_t pid;

	jobtab_read_job(jt, 6, &j);
	memset(j.error, 'E', sizeof(j.error) - 1);
	memcpy(j.error, "\033[31mred", 8);
	jobtab_write_job(jt, 6, &j);
	master = posix_openpt(O_RDWR | O_NOCTTY);
	ck_assert_int_ge(master, 0);
	ck_assert(grantpt(master) == 0 && unlockpt(master) == 0);
	pid = spawn_on_pty(master, argv);
	pty_drain(master, out, sizeof(out));
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_ptr_null(strchr(out, '\033'));
	ck_assert_ptr_nonnull(strstr(out, " [31mred"));
	for (line = strtok_r(out, "\r\n", &save); line != NULL;
	     line = strtok_r(NULL, "\r\n", &save)) {
		ck_assert_msg(
		    strlen(line) <= 80, "%zu: %s", strlen(line), line);
		if (strstr(line, "EEE...") != NULL)
			long_lines++;
	}
	ck_assert_int_eq(long_lines, 1);
	close(master);
	jobtab_close(jt);
}
END_TEST

START_TEST(test_table_progress)
{
	char buf[64];

	table_progress(buf, sizeof(buf), 45, 20);
	ck_assert_str_eq(buf, "[#########...........]  45%");
	table_progress(buf, sizeof(buf), 100, 10);
	ck_assert_str_eq(buf, "[##########] 100%");
	table_progress(buf, sizeof(buf), -3, 4);
	ck_assert_str_eq(buf, "[....]   0%");
	table_progress(buf, sizeof(buf), 250, 4);
	ck_assert_str_eq(buf, "[####] 100%");
}
END_TEST

START_TEST(test_table_duration)
{
	char buf[32];

	table_duration(buf, sizeof(buf), -5);
	ck_assert_str_eq(buf, "0ms");
	table_duration(buf, sizeof(buf), 850);
	ck_assert_str_eq(buf, "850ms");
	table_duration(buf, sizeof(buf), 12345);
	ck_assert_str_eq(buf, "12.3s");
	table_duration(buf, sizeof(buf), 245000);
	ck_assert_str_eq(buf, "4m05s");
	table_duration(buf, sizeof(buf), 7380000);
	ck_assert_str_eq(buf, "2h03m");
	table_duration(buf, sizeof(buf), 273600000);
	ck_assert_str_eq(buf, "3d04h");
}
END_TEST

START_TEST(test_table_cell)
{
	char buf[16];

	table_cell(buf, sizeof(buf), "plain", 0);
	ck_assert_str_eq(buf, "plain");
	table_cell(buf, sizeof(buf), "tab\there\nnl\033", 0);
	ck_assert_str_eq(buf, "tab here nl ");
	table_cell(buf, sizeof(buf), "abcdefghij", 8);
	ck_assert_str_eq(buf, "abcde...");
	table_cell(buf, sizeof(buf), "abcdefgh", 8);
	ck_assert_str_eq(buf, "abcdefgh");
	table_cell(buf, sizeof(buf), "abcdef", 2);
	ck_assert_str_eq(buf, "ab");
	/* "é" is two bytes, one column; a cut never splits it. */
	table_cell(buf, sizeof(buf), "\xc3\xa9t\xc3\xa9\xc3\xa9t\xc3\xa9", 5);
	ck_assert_str_eq(buf, "\xc3\xa9t...");
	table_cell(buf, 4, "\xc3\xa9\xc3\xa9", 0);
	ck_assert_str_eq(buf, "\xc3\xa9");
	table_cell(buf, sizeof(buf), "0123456789abcdefghij", 0);
	ck_assert_uint_eq(strlen(buf), sizeof(buf) - 1);
}
END_TEST

static Suite *
cli_reelstat_suite(void)
{
	Suite *s = suite_create("cli_reelstat");
	TCase *tc = tcase_create("reelstat");
	TCase *tt = tcase_create("table");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_json_live);
	tcase_add_test(tc, test_text_live);
	tcase_add_test(tc, test_dead_reeld);
	tcase_add_test(tc, test_stale_heartbeat);
	tcase_add_test(tc, test_recent_heartbeat_live);
	tcase_add_test(tc, test_stopped_mid_update);
	tcase_add_test(tc, test_bad_tables);
	tcase_add_test(tc, test_runtime_dir);
	tcase_add_test(tc, test_watch);
	tcase_add_test(tc, test_tty_width);
	suite_add_tcase(s, tc);
	tcase_add_test(tt, test_table_progress);
	tcase_add_test(tt, test_table_duration);
	tcase_add_test(tt, test_table_cell);
	suite_add_tcase(s, tt);
	return s;
}

CHECK_MAIN(cli_reelstat_suite)
