/*
 * The write-ahead log: records of every size survive reopening in order;
 * a log cut at any byte of its last record, or corrupted anywhere in a
 * record, reopens with exactly the records before the damage and is cut
 * there with a warning; files that are not logs are refused untouched;
 * compaction replaces the log atomically, its abort or a crash leaves the
 * log as it was; and a full disk (a real 64 KiB tmpfs, and RLIMIT_FSIZE)
 * fails appends without ever losing an acknowledged record.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zlib.h>

#include "check_main.h"
#include "util.h"
#include "wal.h"

#define MAXR 4096
#define RH WAL_RECORD_HEADER_SIZE

struct seen {
	size_t n;
	size_t stop_at; /* 1-based record to refuse, 0 for none */
	unsigned type[MAXR];
	uint32_t len[MAXR];
	uint32_t crc[MAXR];
};

static char base[PATH_MAX], dir[PATH_MAX], path[PATH_MAX],
    tmppath[PATH_MAX + 8];
static uint8_t *payload; /* WAL_RECORD_MAX + 1 random bytes */

/* Once per run, in the runner: a failed test leaves nothing behind. */
static void
suite_setup(void)
{
	uint32_t x = 2463534242u;

	snprintf(base, sizeof(base), "/tmp/check_wal.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(base));
	payload = malloc(WAL_RECORD_MAX + 1);
	ck_assert_ptr_nonnull(payload);
	for (size_t i = 0; i <= WAL_RECORD_MAX; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		payload[i] = (uint8_t)x;
	}
}

static void
suite_teardown(void)
{
	remove_tree(base);
	free(payload);
}

/* Per test, in its own process: a fresh directory. */
static void
setup(void)
{
	snprintf(dir, sizeof(dir), "%s/t.XXXXXX", base);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/journal", dir);
	snprintf(tmppath, sizeof(tmppath), "%s.tmp", path);
}

static unsigned
rec_type(unsigned i)
{
	return 1 + (i * 37) % 255;
}

/* Sizes around the reader's 64 KiB buffer and the record limit. */
static size_t
rec_len(unsigned i)
{
	static const size_t sizes[] = {
	    0, 1, 5, 12, 100, 1000, 4096, 65524, 65536, 70000, 300, 7};

	return sizes[(i * 7) % (sizeof(sizes) / sizeof(sizes[0]))];
}

static const void *
rec_data(unsigned i, size_t len)
{
	return payload + (i * 7919u) % (WAL_RECORD_MAX + 1 - len);
}

static void
seen_add(struct seen *s, unsigned type, const void *data, size_t len)
{
	ck_assert_uint_lt(s->n, MAXR);
	s->type[s->n] = type;
	s->len[s->n] = (uint32_t)len;
	s->crc[s->n] = (uint32_t)crc32(0L, data, (uInt)len);
	s->n++;
}

static int
seen_fn(void *arg, unsigned type, const void *data, size_t len, char *err,
    size_t errlen)
{
	struct seen *s = arg;

	if (s->stop_at != 0 && s->n + 1 == s->stop_at) {
		snprintf(err, errlen, "stop here");
		return -1;
	}
	seen_add(s, type, data, len);
	return 0;
}

static void
seen_check(const struct seen *got, const struct seen *want, size_t n)
{
	ck_assert_uint_eq(got->n, n);
	for (size_t i = 0; i < n; i++) {
		ck_assert_uint_eq(got->type[i], want->type[i]);
		ck_assert_uint_eq(got->len[i], want->len[i]);
		ck_assert_uint_eq(got->crc[i], want->crc[i]);
	}
}

static struct seen *
seen_new(void)
{
	struct seen *s = calloc(1, sizeof(*s));

	ck_assert_ptr_nonnull(s);
	return s;
}

static void
put(struct wal *w, struct seen *want, unsigned i, size_t len, bool sync)
{
	const void *d = rec_data(i, len);

	ck_assert_int_eq(wal_append(w, rec_type(i), d, len, sync), 0);
	seen_add(want, rec_type(i), d, len);
}

static struct wal *
open_ok(const char *p, struct seen *got)
{
	char err[256] = "";
	struct wal *w =
	    wal_open(p, got ? seen_fn : NULL, got, err, sizeof(err));

	ck_assert_msg(w != NULL, "wal_open: %s", err);
	return w;
}

/* Reopens the log and expects exactly the first n records of want. */
static void
expect_log(const char *p, const struct seen *want, size_t n)
{
	struct seen *got = seen_new();
	struct wal *w = open_ok(p, got);

	seen_check(got, want, n);
	wal_close(w);
	free(got);
}

static uint8_t *
slurp(const char *p, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	int fd = open(p, O_RDONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(read(fd, buf, st.st_size), st.st_size);
	buf[st.st_size] = '\0';
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

static void
spit(const char *p, const void *buf, size_t len)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

static off_t
file_size(const char *p)
{
	struct stat st;

	ck_assert_int_eq(stat(p, &st), 0);
	return st.st_size;
}

static int cap_saved = -1;

/* stderr goes to a file until capture_end, to check the warnings. */
static void
capture_begin(void)
{
	char p[PATH_MAX + 8];
	int fd;

	snprintf(p, sizeof(p), "%s/stderr", dir);
	fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	cap_saved = dup(STDERR_FILENO);
	ck_assert_int_ge(cap_saved, 0);
	ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
}

static char *
capture_end(void)
{
	char p[PATH_MAX + 8];
	size_t len;
	char *text;

	ck_assert_int_eq(dup2(cap_saved, STDERR_FILENO), STDERR_FILENO);
	close(cap_saved);
	snprintf(p, sizeof(p), "%s/stderr", dir);
	text = (char *)slurp(p, &len);
	unlink(p);
	return text;
}

/* The log with records 0..n-1 of the generator; returns their offsets. */
static void
make_log(unsigned n, size_t len, struct seen *want, uint64_t *offs)
{
	struct wal *w = open_ok(path, NULL);

	for (unsigned i = 0; i < n; i++) {
		if (offs != NULL)
			offs[i] = wal_size(w);
		put(w, want, i, len == 0 ? rec_len(i) : len, false);
	}
	if (offs != NULL)
		offs[n] = wal_size(w);
	ck_assert_int_eq(wal_sync(w), 0);
	wal_close(w);
}

START_TEST(test_round_trip)
{
	struct seen *want = seen_new();
	struct wal_stats st;
	struct stat sb;
	struct wal *w;
	unsigned i;

	w = open_ok(path, NULL);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 07777, 0600);
	ck_assert_int_eq(sb.st_size, WAL_HEADER_SIZE);
	for (i = 0; i < 200; i++)
		put(w, want, i, rec_len(i), i % 10 == 0);
	put(w, want, i++, WAL_RECORD_MAX, false);
	wal_stats(w, &st);
	ck_assert_uint_eq(st.records, 201);
	ck_assert_uint_eq(st.size, (uint64_t)file_size(path));
	ck_assert_uint_eq(st.base_records, 0);
	ck_assert_uint_eq(st.base_size, WAL_HEADER_SIZE);
	wal_close(w);
	expect_log(path, want, 201);

	w = open_ok(path, NULL);
	for (; i < 260; i++)
		put(w, want, i, rec_len(i), false);
	wal_close(w);
	expect_log(path, want, 260);
	ck_assert_int_eq(access(tmppath, F_OK), -1);
	free(want);
}
END_TEST

START_TEST(test_bad_args)
{
	struct seen *want = seen_new();
	uint8_t *big = calloc(1, WAL_RECORD_MAX + 1);
	struct wal *w = open_ok(path, NULL);

	ck_assert_ptr_nonnull(big);
	put(w, want, 0, 10, false);
	errno = 0;
	ck_assert_int_eq(wal_append(w, 0, "x", 1, false), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(wal_append(w, 256, "x", 1, false), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(wal_append(w, 1, NULL, 1, false), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(wal_append(w, 1, big, WAL_RECORD_MAX + 1, true), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	ck_assert_int_eq(file_size(path), WAL_HEADER_SIZE + RH + 10);
	ck_assert_int_eq(wal_append(w, 255, NULL, 0, false), 0);
	seen_add(want, 255, "", 0);
	wal_close(w);
	expect_log(path, want, 2);
	free(big);
	free(want);
}
END_TEST

/*
 * Durability itself needs a crash to observe; what is checked is that a
 * synced record is in the file for any other reader before close, and
 * that the sync calls succeed.
 */
START_TEST(test_sync)
{
	struct seen *want = seen_new(), *got = seen_new();
	struct wal *w = open_ok(path, NULL);
	uint8_t *img;
	size_t len;

	put(w, want, 0, 100, true);
	put(w, want, 1, 70000, true);
	put(w, want, 2, 0, false);
	ck_assert_int_eq(wal_sync(w), 0);
	img = slurp(path, &len);
	ck_assert_int_eq(wal_parse(img, len, seen_fn, got), (ssize_t)len);
	seen_check(got, want, 3);
	ck_assert_uint_eq(wal_size(w), len);
	wal_close(w);
	free(img);
	free(got);
	free(want);
}
END_TEST

START_TEST(test_locked)
{
	char err[256] = "";
	struct wal *w = open_ok(path, NULL);

	ck_assert_ptr_null(wal_open(path, NULL, NULL, err, sizeof(err)));
	ck_assert_msg(strstr(err, "in use") != NULL, "%s", err);
	wal_close(w);
	wal_close(open_ok(path, NULL));
}
END_TEST

/* The wal's descriptor for the log, found in /proc/self/fd. */
static int
log_fd(void)
{
	char link[64], target[PATH_MAX];
	ssize_t n;

	for (int fd = 3; fd < 1024; fd++) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, path) == 0)
			return fd;
	}
	ck_abort_msg("no descriptor for %s", path);
	return -1;
}

/*
 * A sync that fails (the log's descriptor briefly swapped for a pipe,
 * where fdatasync gives EINVAL) refuses appends until a compaction.
 */
START_TEST(test_sync_failure)
{
	struct seen *want = seen_new();
	struct wal_compaction *c;
	struct wal *w = open_ok(path, NULL);
	int fd = log_fd(), saved = dup(fd), p[2];

	ck_assert_int_eq(pipe(p), 0);
	put(w, want, 0, 10, true);
	ck_assert_int_eq(dup2(p[0], fd), fd);
	ck_assert_int_eq(wal_sync(w), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(dup2(saved, fd), fd);
	close(saved);
	ck_assert_int_eq(wal_append(w, 1, "x", 1, false), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(wal_sync(w), -1);
	ck_assert_uint_eq(wal_size(w), (uint64_t)file_size(path));
	c = wal_compact_begin(w);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(
	    wal_compact_add(c, rec_type(0), rec_data(0, 10), 10), 0);
	ck_assert_int_eq(wal_compact_commit(c), 0);
	put(w, want, 1, 20, true);
	ck_assert_int_eq(wal_sync(w), 0);
	wal_close(w);
	expect_log(path, want, 2);
	close(p[0]);
	close(p[1]);
	free(want);
}
END_TEST

/* Writes the image cut at off and expects keep records back, cut there. */
static void
expect_cut(const uint8_t *img, size_t off, const struct seen *want, size_t keep,
    uint64_t at, const char *why)
{
	struct seen *got = seen_new();
	char msg[128], *text;
	struct wal *w;

	spit(path, img, off);
	capture_begin();
	w = wal_open(path, seen_fn, got, msg, sizeof(msg));
	text = capture_end();
	ck_assert_ptr_nonnull(w);
	seen_check(got, want, keep);
	ck_assert_uint_eq(wal_size(w), at);
	ck_assert_int_eq(file_size(path), (off_t)at);
	snprintf(msg, sizeof(msg), "dropped %ju bytes at offset %ju (%s",
	    (uintmax_t)(off - at), (uintmax_t)at, why);
	ck_assert_msg(
	    strstr(text, msg) != NULL, "\"%s\" lacks \"%s\"", text, msg);
	wal_close(w);
	free(text);
	free(got);
}

START_TEST(test_torn_tail)
{
	struct seen *want = seen_new();
	uint64_t offs[6];
	uint8_t *img;
	size_t len;
	struct wal *w;

	make_log(5, 300, want, offs);
	img = slurp(path, &len);
	ck_assert_uint_eq(len, offs[5]);
	for (size_t off = offs[4] + 1; off < len; off++) {
		expect_cut(img, off, want, 4, offs[4], "torn record");
		if (off % 37 != 0)
			continue;
		/* The cut log takes new records where the torn one was. */
		w = open_ok(path, NULL);
		ck_assert_int_eq(
		    wal_append(w, rec_type(4), rec_data(4, 300), 300, true), 0);
		wal_close(w);
		expect_log(path, want, 5);
	}
	/* Cut inside the first record: an empty log remains. */
	expect_cut(
	    img, WAL_HEADER_SIZE + 5, want, 0, WAL_HEADER_SIZE, "torn record");
	free(img);
	free(want);
}
END_TEST

/*
 * What a crash can leave on some filesystems, a size with no data, and
 * what wal_set_prealloc leaves on purpose: cut, and told as no damage.
 */
START_TEST(test_zero_tail)
{
	struct seen *want = seen_new();
	uint64_t offs[4];
	uint8_t *img;
	size_t len;

	make_log(3, 0, want, offs);
	img = slurp(path, &len);
	img = realloc(img, len + 4096);
	ck_assert_ptr_nonnull(img);
	memset(img + len, 0, 4096);
	expect_cut(img, len + 4096, want, 3, offs[3], "zero-filled tail");
	free(img);
	free(want);
}
END_TEST

/*
 * Zeros written ahead: synced appends land inside the file, which grows a
 * step at a time; the next open finds every record and cuts the zeros
 * without a warning.
 */
START_TEST(test_prealloc)
{
	struct seen *want = seen_new();
	struct wal *w = open_ok(path, NULL);
	char *text;
	unsigned i;

	wal_set_prealloc(w, 4096);
	for (i = 0; i < 3; i++)
		put(w, want, i, 100, true);
	ck_assert_uint_eq(wal_size(w), WAL_HEADER_SIZE + 3 * (RH + 100));
	ck_assert_int_eq(file_size(path), 4096);
	for (; i < 43; i++)
		put(w, want, i, 100, true);
	ck_assert_uint_eq(wal_size(w), WAL_HEADER_SIZE + 43 * (RH + 100));
	ck_assert_int_eq(file_size(path), 8192);
	wal_close(w);
	capture_begin();
	expect_log(path, want, 43);
	text = capture_end();
	ck_assert_int_eq(file_size(path), WAL_HEADER_SIZE + 43 * (RH + 100));
	ck_assert_msg(strstr(text, "(zero-filled tail)") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "<4>") == NULL, "%s", text);
	free(text);
	free(want);
}
END_TEST

START_TEST(test_corrupt_middle)
{
	/* Length (high, low byte), type, reserved, checksum, payload. */
	static const size_t at[] = {0, 3, 4, 6, 9, RH, RH + 57, RH + 99};
	struct seen *want = seen_new();
	uint64_t offs[6];
	uint8_t *img;
	size_t len;

	make_log(5, 100, want, offs);
	img = slurp(path, &len);
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		img[offs[2] + at[i]] ^= at[i] == 4 ? rec_type(2) : 0x41;
		expect_cut(img, len, want, 2, offs[2],
		    "corrupt record and all after it");
		img[offs[2] + at[i]] ^= at[i] == 4 ? rec_type(2) : 0x41;
	}
	/* A length of 1 MiB + 1 is refused before any wait for its bytes. */
	img[offs[2] + 1] = 0x10;
	img[offs[2] + 3] = 0x01;
	expect_cut(img, len, want, 2, offs[2], "corrupt record");
	free(img);
	free(want);
}
END_TEST

static void
be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/* The header as docs/journal.md describes it, written independently. */
static void
spec_header(
    uint8_t *h, uint32_t version, uint32_t base_records, uint64_t base_size)
{
	memcpy(h, "REELWAL", 8);
	be32(h + 8, version);
	be32(h + 12, base_records);
	be32(h + 16, (uint32_t)(base_size >> 32));
	be32(h + 20, (uint32_t)base_size);
	be32(h + 24, 0);
	be32(h + 28, (uint32_t)crc32(0L, h, 28));
}

static size_t
spec_record(uint8_t *p, unsigned type, const void *data, uint32_t len)
{
	uLong crc;

	be32(p, len);
	p[4] = (uint8_t)type;
	p[5] = p[6] = p[7] = 0;
	crc = crc32(crc32(0L, p, 8), data, len);
	be32(p + 8, (uint32_t)crc);
	memcpy(p + RH, data, len);
	return RH + len;
}

START_TEST(test_format_spec)
{
	struct seen *want = seen_new();
	uint8_t spec[WAL_HEADER_SIZE + 2 * RH + 20], *img;
	size_t n, len;
	struct wal *w;

	spec_header(spec, 1, 0, WAL_HEADER_SIZE);
	n = WAL_HEADER_SIZE;
	n += spec_record(spec + n, 7, "hello, journal", 14);
	n += spec_record(spec + n, 255, "", 0);
	w = open_ok(path, NULL);
	ck_assert_int_eq(wal_append(w, 7, "hello, journal", 14, false), 0);
	ck_assert_int_eq(wal_append(w, 255, "", 0, false), 0);
	wal_close(w);
	img = slurp(path, &len);
	ck_assert_uint_eq(len, n);
	ck_assert_mem_eq(img, spec, n);
	seen_add(want, 7, "hello, journal", 14);
	seen_add(want, 255, "", 0);
	expect_log(path, want, 2);
	/* Type 0 and non-zero reserved bytes are corrupt even if summed. */
	spec_record(spec + n - RH, 0, "", 0);
	ck_assert_int_eq(wal_parse(spec, n, NULL, NULL), (ssize_t)(n - RH));
	spec[n - RH + 4] = 9;
	spec[n - RH + 6] = 1;
	be32(spec + n - 4, (uint32_t)crc32(0L, spec + n - RH, 8));
	ck_assert_int_eq(wal_parse(spec, n, NULL, NULL), (ssize_t)(n - RH));
	spec[n - RH + 6] = 0;
	be32(spec + n - 4, (uint32_t)crc32(0L, spec + n - RH, 8));
	ck_assert_int_eq(wal_parse(spec, n, NULL, NULL), (ssize_t)n);
	free(img);
	free(want);
}
END_TEST

/* Each file must be refused with why, and left exactly as it was. */
static void
expect_refused(const void *content, size_t len, const char *why)
{
	char err[256] = "";
	uint8_t *after;
	size_t alen;

	spit(path, content, len);
	ck_assert_ptr_null(wal_open(path, NULL, NULL, err, sizeof(err)));
	ck_assert_msg(
	    strstr(err, why) != NULL, "\"%s\" lacks \"%s\"", err, why);
	ck_assert_ptr_nonnull(strstr(err, path));
	after = slurp(path, &alen);
	ck_assert_uint_eq(alen, len);
	ck_assert_mem_eq(after, content, len);
	free(after);
}

START_TEST(test_foreign_refused)
{
	uint8_t img[WAL_HEADER_SIZE + 200];
	char err[256];

	memset(img, 'x', sizeof(img));
	memcpy(img, "{\"job\": 1}\n", 11);
	expect_refused(img, sizeof(img), "bad magic");
	spec_header(img, 2, 0, WAL_HEADER_SIZE);
	expect_refused(img, sizeof(img), "unsupported journal version");
	spec_header(img, 1, 0, WAL_HEADER_SIZE);
	img[17] ^= 1;
	expect_refused(img, sizeof(img), "header checksum");
	spec_header(img, 1, 0, WAL_HEADER_SIZE);
	expect_refused(img, 20, "too short");
	img[0] = 'R';
	expect_refused(img, 1, "too short");

	unlink(path);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_ptr_null(wal_open(path, NULL, NULL, err, sizeof(err)));
	rmdir(path);
	ck_assert_int_eq(symlink("/etc/passwd", path), 0);
	ck_assert_ptr_null(wal_open(path, NULL, NULL, err, sizeof(err)));
	unlink(path);

	/* An empty file has nothing to lose: it becomes a log. */
	spit(path, "", 0);
	wal_close(open_ok(path, NULL));
	ck_assert_int_eq(file_size(path), WAL_HEADER_SIZE);
}
END_TEST

START_TEST(test_reader_abort)
{
	struct seen *want = seen_new(), *got = seen_new();
	char err[256] = "";
	uint64_t offs[11];

	make_log(10, 0, want, offs);
	got->stop_at = 4;
	ck_assert_ptr_null(wal_open(path, seen_fn, got, err, sizeof(err)));
	ck_assert_int_eq(errno, ECANCELED);
	ck_assert_msg(strstr(err, "record 3 at offset") != NULL, "%s", err);
	ck_assert_msg(strstr(err, "stop here") != NULL, "%s", err);
	ck_assert_int_eq(file_size(path), (off_t)offs[10]);
	expect_log(path, want, 10);
	free(got);
	free(want);
}
END_TEST

START_TEST(test_compact_commit)
{
	struct seen *want = seen_new(), *snap = seen_new();
	struct wal_compaction *c;
	struct wal_stats st;
	struct stat before, after;
	struct wal *w;

	make_log(100, 0, want, NULL);
	ck_assert_int_eq(stat(path, &before), 0);
	w = open_ok(path, NULL);
	c = wal_compact_begin(w);
	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_null(wal_compact_begin(w));
	ck_assert_int_eq(errno, EBUSY);
	for (unsigned i = 500; i < 503; i++) {
		ck_assert_int_eq(wal_compact_add(c, rec_type(i),
				     rec_data(i, rec_len(i)), rec_len(i)),
		    0);
		seen_add(
		    snap, rec_type(i), rec_data(i, rec_len(i)), rec_len(i));
	}
	/* The live log still takes records while the snapshot is written. */
	put(w, want, 100, 50, true);
	ck_assert_int_eq(access(tmppath, F_OK), 0);
	ck_assert_int_eq(wal_compact_commit(c), 0);
	ck_assert_int_eq(access(tmppath, F_OK), -1);
	ck_assert_int_eq(stat(path, &after), 0);
	ck_assert_uint_ne(after.st_ino, before.st_ino);
	ck_assert_int_eq(after.st_mode & 07777, 0600);
	wal_stats(w, &st);
	ck_assert_uint_eq(st.records, 3);
	ck_assert_uint_eq(st.base_records, 3);
	ck_assert_uint_eq(st.size, st.base_size);
	ck_assert_uint_eq(st.size, (uint64_t)after.st_size);
	put(w, snap, 600, 10, true);
	put(w, snap, 601, 20, false);
	wal_close(w);

	w = open_ok(path, NULL);
	wal_stats(w, &st);
	ck_assert_uint_eq(st.records, 5);
	ck_assert_uint_eq(st.base_records, 3);
	ck_assert_uint_eq(st.size - st.base_size, 2 * RH + 30);
	wal_close(w);
	expect_log(path, snap, 5);
	free(snap);
	free(want);
}
END_TEST

START_TEST(test_compact_abort)
{
	struct seen *want = seen_new();
	struct wal_compaction *c;
	uint8_t *img, *now;
	size_t len, nlen;
	struct wal *w;

	make_log(20, 0, want, NULL);
	img = slurp(path, &len);
	w = open_ok(path, NULL);
	c = wal_compact_begin(w);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(wal_compact_add(c, 3, "abc", 3), 0);
	ck_assert_int_eq(wal_compact_add(c, 0, "abc", 3), -1);
	wal_compact_abort(c);
	ck_assert_int_eq(access(tmppath, F_OK), -1);
	now = slurp(path, &nlen);
	ck_assert_uint_eq(nlen, len);
	ck_assert_mem_eq(now, img, len);
	put(w, want, 20, 33, true);
	/* Closing with a compaction under way abandons it. */
	ck_assert_ptr_nonnull(wal_compact_begin(w));
	wal_close(w);
	ck_assert_int_eq(access(tmppath, F_OK), -1);
	expect_log(path, want, 21);
	free(now);
	free(img);
	free(want);
}
END_TEST

/* A compaction killed before commit: its file is removed, nothing lost. */
START_TEST(test_compact_crash)
{
	struct seen *want = seen_new();
	char *text;
	pid_t pid;
	int status;

	make_log(30, 0, want, NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char err[256];
		struct wal *w = wal_open(path, NULL, NULL, err, sizeof(err));
		struct wal_compaction *c = w ? wal_compact_begin(w) : NULL;

		for (unsigned i = 0; c != NULL && i < 5; i++)
			wal_compact_add(c, 9, "snapshot", 8);
		_exit(c != NULL ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(status, 0);
	ck_assert_int_gt(file_size(tmppath), WAL_HEADER_SIZE);
	capture_begin();
	expect_log(path, want, 30);
	text = capture_end();
	ck_assert_int_eq(access(tmppath, F_OK), -1);
	ck_assert_msg(
	    strstr(text, "interrupted compaction") != NULL, "%s", text);
	free(text);
	free(want);
}
END_TEST

/* Random damage: the streaming reader agrees with wal_parse. */
START_TEST(test_open_matches_parse)
{
	struct seen *want = seen_new();
	uint8_t *img, *buf;
	size_t len, blen, pos;
	uint32_t x = 88172645u;
	ssize_t valid;

	make_log(40, 0, want, NULL);
	img = slurp(path, &len);
	buf = malloc(len + 5000);
	ck_assert_ptr_nonnull(buf);
	for (unsigned iter = 0; iter < 120; iter++) {
		struct seen *a = seen_new(), *b = seen_new();
		struct wal *w;
		char *text;

		x = x * 1103515245u + 12345u;
		pos = WAL_HEADER_SIZE + x % (len - WAL_HEADER_SIZE);
		memcpy(buf, img, len);
		blen = len;
		if (iter % 3 == 0)
			buf[pos] ^= (uint8_t)(1 + (x >> 24) % 255);
		else if (iter % 3 == 1)
			blen = pos;
		else
			memset(buf + pos, 0, len - pos > 64 ? 64 : len - pos);
		valid = wal_parse(buf, blen, seen_fn, a);
		ck_assert_int_ge(valid, WAL_HEADER_SIZE);
		spit(path, buf, blen);
		capture_begin();
		w = wal_open(path, seen_fn, b, NULL, 0);
		text = capture_end();
		ck_assert_ptr_nonnull(w);
		seen_check(b, a, a->n);
		seen_check(a, want, a->n);
		ck_assert_uint_eq(wal_size(w), (uint64_t)valid);
		ck_assert_int_eq(file_size(path), valid);
		ck_assert((size_t)valid == blen || strstr(text, "dropped"));
		wal_close(w);
		free(text);
		free(a);
		free(b);
	}
	free(buf);
	free(img);
	free(want);
}
END_TEST

START_TEST(test_parse_errors)
{
	struct seen *want = seen_new(), *got = seen_new();
	uint8_t *img;
	size_t len;

	make_log(5, 0, want, NULL);
	img = slurp(path, &len);
	ck_assert_int_eq(wal_parse(img, len, NULL, NULL), (ssize_t)len);
	got->stop_at = 2;
	ck_assert_int_eq(wal_parse(img, len, seen_fn, got), -1);
	ck_assert_int_eq(errno, ECANCELED);
	ck_assert_uint_eq(got->n, 1);
	ck_assert_int_eq(wal_parse(img, WAL_HEADER_SIZE - 1, NULL, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	img[3] = 'X';
	ck_assert_int_eq(wal_parse(img, len, NULL, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	free(img);
	free(got);
	free(want);
}
END_TEST

#define FULL_LEN 1000
#define FSIZE_LIMIT 20000

/* Appends synced FULL_LEN records until one fails; returns how many. */
static unsigned
fill_up(struct wal *w, int *err)
{
	unsigned n = 0;

	while (wal_append(
		   w, rec_type(n), rec_data(n, FULL_LEN), FULL_LEN, true) == 0)
		n++;
	*err = errno;
	return n;
}

/* Reopening yields exactly the n acknowledged records, nothing cut. */
static void
expect_full_log(const char *p, unsigned n)
{
	struct seen *want = seen_new();
	char *text;

	for (unsigned i = 0; i < n; i++)
		seen_add(want, rec_type(i), rec_data(i, FULL_LEN), FULL_LEN);
	ck_assert_int_eq(file_size(p), WAL_HEADER_SIZE + n * (RH + FULL_LEN));
	capture_begin();
	expect_log(p, want, n);
	text = capture_end();
	ck_assert_msg(strstr(text, "dropped") == NULL, "%s", text);
	free(text);
	free(want);
}

/*
 * RLIMIT_FSIZE makes the write that crosses the limit short, then fail
 * (EFBIG): the same partial-record path as a disk filling up. It runs in
 * a child so the limit never touches Check's own files.
 */
START_TEST(test_full_rlimit)
{
	/* _i 1: with zeros written ahead, which stop at the limit. */
	struct rlimit rl = {FSIZE_LIMIT, FSIZE_LIMIT};
	int fds[2], res[3];
	pid_t pid;

	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct wal *w = wal_open(path, NULL, NULL, NULL, 0);

		signal(SIGXFSZ, SIG_IGN);
		setrlimit(RLIMIT_FSIZE, &rl);
		if (w != NULL && _i == 1)
			wal_set_prealloc(w, 8192);
		res[0] = w != NULL ? (int)fill_up(w, &res[1]) : -1;
		res[2] = w != NULL && wal_append(
					  w, 1, payload, FULL_LEN, false) == -1
			     ? errno
			     : 0;
		_exit(write(fds[1], res, sizeof(res)) == sizeof(res) ? 0 : 1);
	}
	close(fds[1]);
	ck_assert_int_eq(read(fds[0], res, sizeof(res)), sizeof(res));
	close(fds[0]);
	waitpid(pid, NULL, 0);
	ck_assert_int_eq(
	    res[0], (FSIZE_LIMIT - WAL_HEADER_SIZE) / (RH + FULL_LEN));
	ck_assert_int_eq(res[1], EFBIG);
	ck_assert_int_eq(res[2], EFBIG);
	expect_full_log(path, (unsigned)res[0]);
}
END_TEST

/* A snapshot on a full disk fails and leaves the log and disk as they were. */
static void
full_compaction(struct wal *w, unsigned n)
{
	struct wal_compaction *c = wal_compact_begin(w);
	uint64_t size = wal_size(w);
	int rv = 0;

	if (c == NULL) {
		ck_assert_int_eq(errno, ENOSPC);
		return;
	}
	for (unsigned i = 0; i < n && rv == 0; i++)
		rv = wal_compact_add(
		    c, rec_type(i), rec_data(i, FULL_LEN), FULL_LEN);
	ck_assert_int_eq(rv, -1);
	ck_assert_int_eq(errno, ENOSPC);
	ck_assert_int_eq(wal_compact_commit(c), -1);
	ck_assert_int_eq(errno, ENOSPC);
	ck_assert_int_eq(access(tmppath, F_OK), -1);
	ck_assert_uint_eq(wal_size(w), size);
}

/*
 * A real full disk: a 64 KiB tmpfs in a private mount namespace, so the
 * mount dies with the test process whatever happens.
 */
START_TEST(test_full_tmpfs)
{
	char mnt[PATH_MAX + 8];
	struct wal *w;
	unsigned n;
	int err;

	snprintf(mnt, sizeof(mnt), "%s/small", dir);
	ck_assert_int_eq(mkdir(mnt, 0700), 0);
	if (unshare(CLONE_NEWNS) == -1 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1 ||
	    mount("tmpfs", mnt, "tmpfs", MS_NOSUID | MS_NODEV,
		"size=64k,mode=0700") == -1) {
		printf("check_wal: no tmpfs (%s): the full disk is covered by "
		       "test_full_rlimit only\n",
		    strerror(errno));
		ck_assert(errno == EPERM || errno == EACCES || errno == EINVAL);
		return;
	}
	snprintf(path, sizeof(path), "%s/journal", mnt);
	snprintf(tmppath, sizeof(tmppath), "%s.tmp", path);
	w = open_ok(path, NULL);
	n = fill_up(w, &err);
	ck_assert_int_eq(err, ENOSPC);
	ck_assert_uint_gt(n, 30);
	ck_assert_uint_lt(n, 65);
	ck_assert_uint_eq(wal_size(w), (uint64_t)file_size(path));
	ck_assert_int_eq(wal_append(w, 1, payload, FULL_LEN, true), -1);
	ck_assert_int_eq(errno, ENOSPC);
	full_compaction(w, n);
	wal_close(w);
	expect_full_log(path, n);
	ck_assert_int_eq(umount(mnt), 0);
}
END_TEST

static Suite *
wal_suite(void)
{
	Suite *s = suite_create("wal");
	TCase *tc = tcase_create("wal");

	tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_bad_args);
	tcase_add_test(tc, test_sync);
	tcase_add_test(tc, test_locked);
	tcase_add_test(tc, test_sync_failure);
	tcase_add_test(tc, test_torn_tail);
	tcase_add_test(tc, test_zero_tail);
	tcase_add_test(tc, test_prealloc);
	tcase_add_test(tc, test_corrupt_middle);
	tcase_add_test(tc, test_format_spec);
	tcase_add_test(tc, test_foreign_refused);
	tcase_add_test(tc, test_reader_abort);
	tcase_add_test(tc, test_compact_commit);
	tcase_add_test(tc, test_compact_abort);
	tcase_add_test(tc, test_compact_crash);
	tcase_add_test(tc, test_open_matches_parse);
	tcase_add_test(tc, test_parse_errors);
	tcase_add_loop_test(tc, test_full_rlimit, 0, 2);
	tcase_add_test(tc, test_full_tmpfs);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(wal_suite)
