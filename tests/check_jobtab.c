/*
 * Tests for shm/jobtab.c: the file layout and its validation, read-only
 * mappings, bounded strings, readers of a writer stopped mid-update, and the
 * torn-read test: a forked reader copies slots a million times while the
 * parent rewrites them at full speed, and no copy may mix two writes.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_main.h"
#include "jobtab.h"
#include "util.h"

#define TORN_SLOTS 4
#define TORN_READS 1000000
/*
 * The test means something only when the reader saw the slots change
 * under it; on a loaded machine the two processes may share a core, so
 * the reader goes on (up to 50x) until it has seen this many changes.
 */
#define TORN_CHANGES_MIN 10000
#define TORN_READS_MAX (50 * TORN_READS)

/* Byte offsets inside the file, as docs/reelstat.md documents them. */
#define OFF_MAGIC 0
#define OFF_ABI 8
#define OFF_SLOT_SIZE 16
#define OFF_SLOT_COUNT 20
#define OFF_HDR_SEQ 24
#define OFF_SLOT(n) (JOBTAB_HEADER_SIZE + (n)*JOBTAB_SLOT_SIZE)

struct torn_result {
	uint64_t reads;
	uint64_t torn;
	uint64_t timeouts;
	uint64_t changes;
	double secs;
};

static char tmpdir[64];
static char path[128];

static void
setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_jobtab.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(path, sizeof(path), "%s/jobs.shm", tmpdir);
}

static void
teardown(void)
{
	remove_tree(tmpdir);
}

/* Every field derives from n, so a copy that mixes two writes shows. */
static void
fill_job(struct jobtab_job *j, uint64_t n)
{
	char digits[24];
	size_t len, dlen;

	memset(j, 0, sizeof(*j));
	j->in_use = 1;
	j->status = n % JOB_STATUS_COUNT;
	j->stage = n % (STAGE_LAST + 1);
	j->progress = n % 101;
	j->error_stage = (n / 7) % (STAGE_LAST + 1);
	j->template_only = n & 1;
	j->worker_pid = (int32_t)(n & 0x7fffffff);
	j->created_ms = (int64_t)n;
	j->updated_ms = (int64_t)n * 3;
	j->started_ms = (int64_t)n + 7;
	j->completed_ms = ~(int64_t)n;
	snprintf(
	    j->job_id, sizeof(j->job_id), "job_%012llx", (unsigned long long)n);
	snprintf(j->video_id, sizeof(j->video_id), "vid_%012llx",
	    (unsigned long long)(n * 5));
	snprintf(j->template_id, sizeof(j->template_id), "vid_%012llx",
	    (unsigned long long)(n * 11));
	dlen = (size_t)snprintf(
	    digits, sizeof(digits), "%llu", (unsigned long long)n);
	len = n % (JOBTAB_ERROR_SIZE - 1) + 1;
	for (size_t i = 0; i < len; i++)
		j->error[i] = digits[i % dlen];
}

static bool
job_consistent(const struct jobtab_job *got)
{
	struct jobtab_job want;

	fill_job(&want, (uint64_t)got->created_ms);
	return memcmp(&want, got, sizeof(want)) == 0;
}

static void
patch_file(off_t off, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, buf, len, off), (ssize_t)len);
	close(fd);
}

static void
patch_u32(off_t off, uint32_t v)
{
	patch_file(off, &v, sizeof(v));
}

/* Creates a table, applies one patch, and expects open_ro to name it. */
static void
expect_rejected(const char *why)
{
	char err[256];
	struct jobtab *jt;

	jt = jobtab_open_ro(path, err, sizeof(err));
	ck_assert_ptr_null(jt);
	ck_assert_msg(
	    strstr(err, why) != NULL, "error \"%s\" lacks \"%s\"", err, why);
	ck_assert_ptr_nonnull(strstr(err, path));
}

static struct jobtab *
make_table(uint32_t slots)
{
	struct jobtab *jt = jobtab_create(path, slots);

	ck_assert_ptr_nonnull(jt);
	return jt;
}

START_TEST(test_create_layout)
{
	struct jobtab *jt = make_table(10);
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(
	    st.st_size, JOBTAB_HEADER_SIZE + 10 * JOBTAB_SLOT_SIZE);
	ck_assert_int_eq(st.st_mode & 07777, 0644);
	ck_assert_uint_eq(jobtab_slot_count(jt), 10);
	jobtab_close(jt);
	ck_assert_ptr_null(jobtab_create(path, 0));
	ck_assert_ptr_null(jobtab_create(path, JOBTAB_MAX_SLOTS + 1));
}
END_TEST

START_TEST(test_round_trip)
{
	struct jobtab *jt = make_table(8), *ro;
	struct jobtab_job in, out;
	char err[256] = "junk";

	fill_job(&in, 0x1234);
	jobtab_write_job(jt, 5, &in);
	fill_job(&in, 77);
	jobtab_write_job(jt, 0, &in);
	ro = jobtab_open_ro(path, err, sizeof(err));
	ck_assert_ptr_nonnull(ro);
	ck_assert_str_eq(err, "");
	ck_assert_uint_eq(jobtab_slot_count(ro), 8);
	jobtab_read_job(ro, 0, &out);
	ck_assert_mem_eq(&in, &out, sizeof(in));
	jobtab_read_job(ro, 5, &out);
	ck_assert_int_eq(out.created_ms, 0x1234);
	ck_assert(job_consistent(&out));
	jobtab_read_job(ro, 1, &out);
	ck_assert_int_eq(out.in_use, 0);
	ck_assert_int_eq(jobtab_try_read_job(ro, 8, &out), -1);
	jobtab_clear_job(jt, 5);
	jobtab_read_job(ro, 5, &out);
	ck_assert_int_eq(out.in_use, 0);
	ck_assert_str_eq(out.job_id, "");
	jobtab_close(ro);
	jobtab_close(jt);
}
END_TEST

START_TEST(test_write_marks_in_use)
{
	struct jobtab *jt = make_table(2);
	struct jobtab_job in, out;

	fill_job(&in, 9);
	in.in_use = 0;
	jobtab_write_job(jt, 1, &in);
	jobtab_read_job(jt, 1, &out);
	ck_assert_int_eq(out.in_use, 1);
	jobtab_close(jt);
}
END_TEST

START_TEST(test_counters_round_trip)
{
	struct jobtab *jt = make_table(4), *ro;
	struct jobtab_info in = {0}, out;

	in.pid = 999; /* not written by write_counters */
	in.submitted = 1ULL << 40;
	in.completed = 7;
	in.failed = 3;
	in.cancelled = 2;
	in.queue_depth = 11;
	in.running = 4;
	jobtab_set_pid(jt, 4242, 1700000000123LL);
	jobtab_write_counters(jt, &in);
	ro = jobtab_open_ro(path, NULL, 0);
	ck_assert_ptr_nonnull(ro);
	ck_assert_int_eq(jobtab_try_read_info(ro, &out), 0);
	ck_assert_int_eq(out.pid, 4242);
	ck_assert_uint_eq(out.slot_count, 4);
	ck_assert_int_eq(out.start_ms, 1700000000123LL);
	ck_assert_int_eq(out.heartbeat_ms, 1700000000123LL);
	ck_assert_uint_eq(out.submitted, 1ULL << 40);
	ck_assert_uint_eq(out.completed, 7);
	ck_assert_uint_eq(out.failed, 3);
	ck_assert_uint_eq(out.cancelled, 2);
	ck_assert_uint_eq(out.queue_depth, 11);
	ck_assert_uint_eq(out.running, 4);
	jobtab_heartbeat(jt, 1700000009000LL);
	jobtab_read_info(ro, &out);
	ck_assert_int_eq(out.heartbeat_ms, 1700000009000LL);
	ck_assert_int_eq(out.start_ms, 1700000000123LL);
	jobtab_close(ro);
	jobtab_close(jt);
}
END_TEST

START_TEST(test_replace_keeps_old_view)
{
	struct jobtab *jt = make_table(3), *old, *fresh;
	struct jobtab_job in, out;

	fill_job(&in, 31337);
	jobtab_write_job(jt, 2, &in);
	old = jobtab_open_ro(path, NULL, 0);
	jobtab_close(jt);
	jt = make_table(5);
	fresh = jobtab_open_ro(path, NULL, 0);
	ck_assert_ptr_nonnull(old);
	ck_assert_ptr_nonnull(fresh);
	jobtab_read_job(old, 2, &out);
	ck_assert_mem_eq(&in, &out, sizeof(in));
	ck_assert_uint_eq(jobtab_slot_count(fresh), 5);
	jobtab_read_job(fresh, 2, &out);
	ck_assert_int_eq(out.in_use, 0);
	jobtab_close(old);
	jobtab_close(fresh);
	jobtab_close(jt);
}
END_TEST

START_TEST(test_reject_bad_magic)
{
	jobtab_close(make_table(2));
	patch_file(OFF_MAGIC, "NOTREEL!", 8);
	expect_rejected("bad magic");
}
END_TEST

START_TEST(test_reject_abi)
{
	char why[32];

	jobtab_close(make_table(2));
	patch_u32(OFF_ABI, JOBTAB_ABI_VERSION + 1);
	snprintf(why, sizeof(why), "ABI version %d", JOBTAB_ABI_VERSION + 1);
	expect_rejected(why);
}
END_TEST

START_TEST(test_reject_slot_size)
{
	jobtab_close(make_table(2));
	patch_u32(OFF_SLOT_SIZE, JOBTAB_SLOT_SIZE + 64);
	expect_rejected("slot size");
}
END_TEST

START_TEST(test_reject_slot_count)
{
	jobtab_close(make_table(2));
	patch_u32(OFF_SLOT_COUNT, 3);
	expect_rejected("3 slots need");
	patch_u32(OFF_SLOT_COUNT, JOBTAB_MAX_SLOTS + 1);
	expect_rejected("out of range");
}
END_TEST

START_TEST(test_reject_short_file)
{
	jobtab_close(make_table(4));
	ck_assert_int_eq(truncate(path, OFF_SLOT(3)), 0);
	expect_rejected("bytes, 4 slots need");
	ck_assert_int_eq(truncate(path, 100), 0);
	expect_rejected("shorter than");
	ck_assert_int_eq(unlink(path), 0);
	expect_rejected(strerror(ENOENT));
}
END_TEST

/* The mapping itself refuses: even writer calls on a reader's handle. */
START_TEST(test_reader_cannot_write)
{
	struct jobtab *jt = make_table(2), *ro;
	struct jobtab_job in;

	ro = jobtab_open_ro(path, NULL, 0);
	ck_assert_ptr_nonnull(ro);
	fill_job(&in, 5);
	jobtab_close(jt);
	/* The teardown will not run after the signal; the mapping outlives. */
	remove_tree(tmpdir);
	/* Die of the signal itself, not of a sanitizer's report of it. */
	signal(SIGSEGV, SIG_DFL);
	jobtab_write_job(ro, 0, &in);
}
END_TEST

START_TEST(test_strings_bounded)
{
	struct jobtab *jt = make_table(2), *ro;
	struct jobtab_job in, out;
	char longer[JOBTAB_ERROR_SIZE * 2];

	memset(&in, 'x', sizeof(in));
	in.status = JOB_FAILED;
	jobtab_write_job(jt, 0, &in);
	memset(&in, 0, sizeof(in));
	memset(longer, 'e', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	ck_assert_int_eq(str_copy(in.error, longer, sizeof(in.error)), -1);
	jobtab_write_job(jt, 1, &in);
	ro = jobtab_open_ro(path, NULL, 0);
	jobtab_read_job(ro, 0, &out);
	ck_assert_uint_eq(strlen(out.job_id), sizeof(out.job_id) - 1);
	ck_assert_uint_eq(strlen(out.video_id), sizeof(out.video_id) - 1);
	ck_assert_uint_eq(strlen(out.template_id), sizeof(out.template_id) - 1);
	ck_assert_uint_eq(strlen(out.error), JOBTAB_ERROR_SIZE - 1);
	jobtab_read_job(ro, 1, &out);
	ck_assert_uint_eq(strlen(out.error), JOBTAB_ERROR_SIZE - 1);
	ck_assert_int_eq(out.error[0], 'e');
	jobtab_close(ro);
	jobtab_close(jt);
}
END_TEST

/* A crafted file without terminators: the reader terminates anyway. */
START_TEST(test_reader_terminates_strings)
{
	struct jobtab *ro;
	struct jobtab_job out;
	char junk[sizeof(struct jobtab_job)];

	jobtab_close(make_table(1));
	memset(junk, 'z', sizeof(junk));
	patch_file(OFF_SLOT(0) + 8, junk, sizeof(junk));
	ro = jobtab_open_ro(path, NULL, 0);
	ck_assert_ptr_nonnull(ro);
	jobtab_read_job(ro, 0, &out);
	ck_assert_uint_eq(strlen(out.job_id), sizeof(out.job_id) - 1);
	ck_assert_uint_eq(strlen(out.error), JOBTAB_ERROR_SIZE - 1);
	jobtab_close(ro);
}
END_TEST

/* reeld stopped mid-write: readers give up in bounded time, never hang. */
START_TEST(test_stopped_writer)
{
	struct jobtab *jt = make_table(2), *ro;
	struct jobtab_job in, out;
	struct jobtab_info info;
	int64_t t0, waited;

	fill_job(&in, 12);
	jobtab_write_job(jt, 1, &in);
	jobtab_set_pid(jt, 77, 5);
	patch_u32(OFF_SLOT(1), 3);
	patch_u32(OFF_HDR_SEQ, 5);
	ro = jobtab_open_ro(path, NULL, 0);
	t0 = clock_monotonic_us();
	ck_assert_int_eq(jobtab_try_read_job(ro, 1, &out), -1);
	waited = clock_monotonic_us() - t0;
	ck_assert_int_ge(waited, JOBTAB_READ_TIMEOUT_MS * 1000);
	ck_assert_int_lt(waited, 2000 * 1000);
	ck_assert_int_eq(out.in_use, 0);
	ck_assert_int_eq(out.created_ms, 0);
	ck_assert_int_eq(jobtab_try_read_info(ro, &info), -1);
	ck_assert_int_eq(info.pid, 0);
	patch_u32(OFF_SLOT(1), 4);
	ck_assert_int_eq(jobtab_try_read_job(ro, 1, &out), 0);
	ck_assert_mem_eq(&in, &out, sizeof(in));
	jobtab_close(ro);
	jobtab_close(jt);
}
END_TEST

static void
torn_check(const struct jobtab_job *j, uint64_t *prev, struct torn_result *r)
{
	if (!job_consistent(j))
		r->torn++;
	if ((uint64_t)j->created_ms != *prev)
		r->changes++;
	*prev = (uint64_t)j->created_ms;
}

/* The forked reader: waits for the writer, then hammers the slots. */
static void
torn_reader(struct torn_result *r)
{
	struct jobtab *ro = jobtab_open_ro(path, NULL, 0);
	struct jobtab_job j;
	uint64_t prev[TORN_SLOTS] = {0};
	int64_t t0;

	memset(r, 0, sizeof(*r));
	if (ro == NULL)
		return;
	do
		jobtab_read_job(ro, TORN_SLOTS - 1, &j);
	while (!j.in_use);
	t0 = clock_monotonic_us();
	for (; r->reads < TORN_READS ||
	       (r->changes <= TORN_CHANGES_MIN && r->reads < TORN_READS_MAX);
	     r->reads++) {
		uint32_t slot = r->reads % TORN_SLOTS;

		if (jobtab_try_read_job(ro, slot, &j) == -1)
			r->timeouts++;
		else
			torn_check(&j, &prev[slot], r);
	}
	r->secs = (double)(clock_monotonic_us() - t0) / 1e6;
	jobtab_close(ro);
}

static bool
reader_done(int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	return poll(&pfd, 1, 0) == 1;
}

/* Writes slots round robin at full speed until the reader reports. */
static uint64_t
torn_writer(struct jobtab *jt, int fd)
{
	struct jobtab_job j;
	uint64_t n = 1;

	for (;; n++) {
		fill_job(&j, n);
		jobtab_write_job(jt, n % TORN_SLOTS, &j);
		if (n % 1024 == 0 && reader_done(fd))
			return n;
	}
}

START_TEST(test_torn_reads)
{
	struct jobtab *jt = make_table(TORN_SLOTS);
	struct torn_result r;
	uint64_t writes;
	int p[2], status;
	pid_t pid;

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(p[0]);
		torn_reader(&r);
		_exit(write(p[1], &r, sizeof(r)) == sizeof(r) ? 0 : 1);
	}
	close(p[1]);
	writes = torn_writer(jt, p[0]);
	ck_assert_int_eq(read(p[0], &r, sizeof(r)), sizeof(r));
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	printf("jobtab torn-read: %llu reads in %.2f s (%.0f checked reads/s), "
	       "%llu writes, %llu changes seen, %llu torn, %llu timeouts\n",
	    (unsigned long long)r.reads, r.secs, (double)r.reads / r.secs,
	    (unsigned long long)writes, (unsigned long long)r.changes,
	    (unsigned long long)r.torn, (unsigned long long)r.timeouts);
	ck_assert_uint_ge(r.reads, TORN_READS);
	ck_assert_uint_eq(r.torn, 0);
	ck_assert_uint_eq(r.timeouts, 0);
	/* Without real concurrency the test would prove nothing. */
	ck_assert_uint_gt(r.changes, TORN_CHANGES_MIN);
	close(p[0]);
	jobtab_close(jt);
}
END_TEST

static Suite *
jobtab_suite(void)
{
	Suite *s = suite_create("jobtab");
	TCase *tc = tcase_create("layout");
	TCase *conc = tcase_create("concurrency");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_create_layout);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_write_marks_in_use);
	tcase_add_test(tc, test_counters_round_trip);
	tcase_add_test(tc, test_replace_keeps_old_view);
	tcase_add_test(tc, test_reject_bad_magic);
	tcase_add_test(tc, test_reject_abi);
	tcase_add_test(tc, test_reject_slot_size);
	tcase_add_test(tc, test_reject_slot_count);
	tcase_add_test(tc, test_reject_short_file);
	tcase_add_test_raise_signal(tc, test_reader_cannot_write, SIGSEGV);
	tcase_add_test(tc, test_strings_bounded);
	tcase_add_test(tc, test_reader_terminates_strings);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(conc, setup, teardown);
	tcase_set_timeout(conc, 60);
	tcase_add_test(conc, test_stopped_writer);
	tcase_add_test(conc, test_torn_reads);
	suite_add_tcase(s, conc);
	return s;
}

CHECK_MAIN(jobtab_suite)
