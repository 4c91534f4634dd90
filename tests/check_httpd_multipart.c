/*
 * The multipart/form-data parser: a body as curl sends it (a real capture
 * and generated ones) gives its parts and bytes exactly; so does every
 * chunking, from one byte per feed to the whole body at once, with data
 * full of near-delimiters, NULs and CRLFs; names, filenames and their
 * paths are decoded as browsers and curl send them; every malformed body
 * fails with a message naming the part and the problem, and stays failed;
 * mp_boundary takes the Content-Types clients send and refuses the rest;
 * callbacks can stop the parser with their own message; and a 50 MB upload
 * fed in 64 KiB chunks is delivered with at most boundary + 3 bytes held
 * back, in bounded memory.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "check_main.h"
#include "multipart.h"

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))
#define CURL_CT                 \
	"multipart/form-data; " \
	"boundary=------------------------06f0c46cfe11b972"
#define CURL_BND "------------------------06f0c46cfe11b972"
#define SHORT_BND "xyz"
/*
 * For the hot loops: Check reports every passing ck_assert to its parent,
 * a write each, which made the exhaustive chunkings take seconds.
 */
#define QUIET_ASSERT_MSG(c, ...)                   \
	do {                                       \
		if (!(c))                          \
			ck_abort_msg(__VA_ARGS__); \
	} while (0)
#define QUIET_ASSERT(c) QUIET_ASSERT_MSG(c, "Assertion '%s' failed", #c)

/* What a parse gave: the parts, their bytes, and how it ended. */
struct rec {
	struct mp_parser *p;
	unsigned nparts;
	unsigned nends;
	bool in_part;
	struct mp_part part[MP_PARTS_MAX];
	char *data[MP_PARTS_MAX];
	size_t len[MP_PARTS_MAX];
	size_t cap;
	unsigned long long delivered;
	int rc; /* 0, or -1 from the first call that failed */
	char err[256];

	/* A refusal to test: at part_begin/part_end of this part (0: none). */
	unsigned stop_begin;
	unsigned stop_end;
	size_t stop_data_after; /* bytes of data before refusing (0: never) */
	const char *stop_msg;	/* NULL: none set */
	bool set_but_go_on;	/* set stop_msg, then return 0 anyway */
};

struct buf {
	char *d;
	size_t len;
	size_t cap;
};

static void
buf_add(struct buf *b, const void *data, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		b->cap = (b->len + len + 1) * 2;
		b->d = realloc(b->d, b->cap);
		ck_assert_ptr_nonnull(b->d);
	}
	memcpy(b->d + b->len, data, len);
	b->len += len;
	b->d[b->len] = '\0';
}

static void buf_printf(struct buf *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
buf_printf(struct buf *b, const char *fmt, ...)
{
	char tmp[16384];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	ck_assert_int_lt(n, (int)sizeof(tmp));
	buf_add(b, tmp, (size_t)n);
}

static void
buf_fill(struct buf *b, char c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf_add(b, &c, 1);
}

static uint32_t
xorshift(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

static void
buf_random(struct buf *b, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		char c = (char)xorshift(&seed);

		buf_add(b, &c, 1);
	}
}

static int
rec_begin(void *arg, const struct mp_part *part)
{
	struct rec *r = arg;

	QUIET_ASSERT(!r->in_part);
	QUIET_ASSERT(r->nparts < MP_PARTS_MAX);
	r->part[r->nparts++] = *part;
	r->in_part = true;
	if (r->stop_begin != r->nparts)
		return 0;
	if (r->stop_msg != NULL)
		mp_set_error(r->p, "%s", r->stop_msg);
	return r->set_but_go_on ? 0 : -1;
}

static int
rec_data(void *arg, const char *data, size_t len)
{
	struct rec *r = arg;
	unsigned i = r->nparts - 1;

	QUIET_ASSERT(r->in_part);
	QUIET_ASSERT(len > 0);
	QUIET_ASSERT(r->len[i] + len <= r->cap);
	memcpy(r->data[i] + r->len[i], data, len);
	r->len[i] += len;
	r->delivered += len;
	QUIET_ASSERT(r->delivered <= mp_fed(r->p));
	if (r->stop_data_after == 0 || r->delivered < r->stop_data_after)
		return 0;
	if (r->stop_msg != NULL)
		mp_set_error(
		    r->p, "%s after %zu bytes", r->stop_msg, r->len[i]);
	return -1;
}

static int
rec_end(void *arg)
{
	struct rec *r = arg;

	QUIET_ASSERT(r->in_part);
	r->in_part = false;
	r->nends++;
	if (r->stop_end != r->nends)
		return 0;
	if (r->stop_msg != NULL)
		mp_set_error(r->p, "%s", r->stop_msg);
	return -1;
}

static const struct mp_callbacks rec_cb = {rec_begin, rec_data, rec_end};

static void
rec_init(struct rec *r, size_t cap)
{
	memset(r, 0, sizeof(*r));
	r->cap = cap;
	for (unsigned i = 0; i < MP_PARTS_MAX; i++) {
		r->data[i] = malloc(cap == 0 ? 1 : cap);
		QUIET_ASSERT(r->data[i] != NULL);
	}
}

static void
rec_free(struct rec *r)
{
	for (unsigned i = 0; i < MP_PARTS_MAX; i++)
		free(r->data[i]);
}

/* After a failure: it stays, with its message, and nothing more is said. */
static void
rec_failed(struct rec *r)
{
	unsigned n = r->nparts, e = r->nends;
	unsigned long long d = r->delivered;

	r->rc = -1;
	snprintf(r->err, sizeof(r->err), "%s", mp_error(r->p));
	QUIET_ASSERT(r->err[0] != '\0');
	QUIET_ASSERT(mp_feed(r->p, "\r\n--" CURL_BND "\r\n", 46) == -1);
	QUIET_ASSERT(mp_feed(r->p, "x", 1) == -1);
	QUIET_ASSERT(mp_finish(r->p) == -1);
	QUIET_ASSERT(strcmp(mp_error(r->p), r->err) == 0);
	QUIET_ASSERT(r->nparts == n);
	QUIET_ASSERT(r->nends == e);
	QUIET_ASSERT(r->delivered == d);
}

/*
 * Parses body with boundary bnd, in chunks of sizes[0], sizes[1], ...
 * (cycled; zero-length feeds included), then mp_finish.
 */
static void
parse_sizes(struct rec *r, const char *bnd, const char *body, size_t len,
    const size_t *sizes, size_t nsizes)
{
	size_t off = 0, n;

	r->p = mp_new(bnd, &rec_cb, r);
	QUIET_ASSERT(r->p != NULL);
	for (size_t i = 0; off < len; i++) {
		n = sizes[i % nsizes];
		if (n > len - off)
			n = len - off;
		if (mp_feed(r->p, body + off, n) == -1) {
			rec_failed(r);
			break;
		}
		off += n;
		QUIET_ASSERT(mp_fed(r->p) == off);
		QUIET_ASSERT(r->delivered <= off);
	}
	if (r->rc == 0 && mp_finish(r->p) == -1)
		rec_failed(r);
	if (r->rc == 0)
		QUIET_ASSERT(mp_error(r->p)[0] == '\0');
	mp_free(r->p);
	r->p = NULL;
}

static void
parse_chunked(
    struct rec *r, const char *bnd, const char *body, size_t len, size_t chunk)
{
	size_t size = chunk == 0 ? len + 1 : chunk;

	parse_sizes(r, bnd, body, len, &size, 1);
}

static void
rec_same(const struct rec *a, const struct rec *b, const char *how)
{
	QUIET_ASSERT_MSG(a->rc == b->rc, "%s: rc %d, %d", how, a->rc, b->rc);
	QUIET_ASSERT_MSG(strcmp(a->err, b->err) == 0, "%s: \"%s\", \"%s\"", how,
	    a->err, b->err);
	QUIET_ASSERT_MSG(a->nparts == b->nparts, "%s: %u parts, %u", how,
	    a->nparts, b->nparts);
	QUIET_ASSERT_MSG(a->nends == b->nends, "%s: ends", how);
	for (unsigned i = 0; i < a->nparts; i++) {
		QUIET_ASSERT_MSG(
		    memcmp(&a->part[i], &b->part[i], sizeof(a->part[i])) == 0,
		    "%s: part %u's headers", how, i + 1);
		QUIET_ASSERT_MSG(a->len[i] == b->len[i],
		    "%s: part %u: %zu bytes, %zu", how, i + 1, a->len[i],
		    b->len[i]);
		QUIET_ASSERT_MSG(memcmp(a->data[i], b->data[i], a->len[i]) == 0,
		    "%s: part %u's bytes", how, i + 1);
	}
}

/* The parts curl sends for -F file=@clip.mp4 -F a=b, file holding data. */
static void
curl_body(struct buf *b, const char *bnd, const char *data, size_t len)
{
	buf_printf(b,
	    "--%s\r\n"
	    "Content-Disposition: form-data; name=\"file\"; "
	    "filename=\"clip.mp4\"\r\n"
	    "Content-Type: application/octet-stream\r\n"
	    "\r\n",
	    bnd);
	buf_add(b, data, len);
	buf_printf(b,
	    "\r\n--%s\r\n"
	    "Content-Disposition: form-data; name=\"a\"\r\n"
	    "\r\n"
	    "b\r\n"
	    "--%s--\r\n",
	    bnd, bnd);
}

/* File data that is almost a delimiter in every way. */
static void
tricky_data(struct buf *b, const char *bnd)
{
	size_t n = strlen(bnd);

	for (size_t k = 0; k < n; k++) {
		buf_add(b, "\r\n--", 4);
		buf_add(b, bnd, k);
		buf_add(b, "!", 1);
	}
	buf_printf(b, "--%s\r\n", bnd);	 /* no CRLF before it */
	buf_printf(b, "x--%s\r\n", bnd); /* not at the start */
	buf_printf(b, "\r--%s\n--%s", bnd, bnd);
	buf_printf(b, "\r\r\n\r\n-\r\n--\r\n--%.*s\r", (int)n - 1, bnd);
	buf_add(b, "\0\377\r\n\0", 5);
	/* Ends in a delimiter's prefix right before the real delimiter. */
	buf_printf(b, "\r\n--%.*s", (int)n - 1, bnd);
}

static void
check_curl_parts(const struct rec *r, const char *data, size_t len)
{
	ck_assert_int_eq(r->rc, 0);
	ck_assert_str_eq(r->err, "");
	ck_assert_uint_eq(r->nparts, 2);
	ck_assert_uint_eq(r->nends, 2);
	ck_assert_str_eq(r->part[0].name, "file");
	ck_assert(r->part[0].has_filename);
	ck_assert_str_eq(r->part[0].content_type, "application/octet-stream");
	ck_assert_uint_eq(r->len[0], len);
	ck_assert(memcmp(r->data[0], data, len) == 0);
	ck_assert_str_eq(r->part[1].name, "a");
	ck_assert(!r->part[1].has_filename);
	ck_assert_str_eq(r->part[1].filename, "");
	ck_assert_str_eq(r->part[1].content_type, "");
	ck_assert_uint_eq(r->len[1], 1);
	ck_assert(r->data[1][0] == 'b');
}

/* Captured from curl 7.88.1: curl -F file=@x -F a=b, x "ab\r\n--\0\377\r\n". */
static const char curl_capture[] =
    "--------------------------06f0c46cfe11b972\r\n"
    "Content-Disposition: form-data; name=\"file\"; filename=\"x\"\r\n"
    "Content-Type: application/octet-stream\r\n"
    "\r\n"
    "ab\r\n"
    "--\000\377\r\n"
    "\r\n"
    "--------------------------06f0c46cfe11b972\r\n"
    "Content-Disposition: form-data; name=\"a\"\r\n"
    "\r\n"
    "b\r\n"
    "--------------------------06f0c46cfe11b972--\r\n";

START_TEST(curl_capture_parses)
{
	char bnd[MP_BOUNDARY_MAX + 1], err[128];
	struct rec r;

	ck_assert_int_eq(mp_boundary(CURL_CT, bnd, sizeof(bnd), err, 128), 0);
	ck_assert_str_eq(bnd, CURL_BND);
	rec_init(&r, sizeof(curl_capture));
	parse_chunked(&r, bnd, curl_capture, sizeof(curl_capture) - 1, 0);
	check_curl_parts(&r, "ab\r\n--\0\377\r\n", 10);
	ck_assert_str_eq(r.part[0].filename, "x");
	rec_free(&r);
}
END_TEST

START_TEST(curl_generated_parses)
{
	struct buf data = {0}, body = {0};
	struct rec r;

	buf_random(&data, 100000, 7);
	curl_body(&body, CURL_BND, data.d, data.len);
	rec_init(&r, body.len);
	parse_chunked(&r, CURL_BND, body.d, body.len, 0);
	check_curl_parts(&r, data.d, data.len);
	ck_assert_str_eq(r.part[0].filename, "clip.mp4");
	rec_free(&r);
	free(data.d);
	free(body.d);
}
END_TEST

/* Each chunk size in sizes and the whole body give the same result. */
static void
same_for_sizes(const char *bnd, const struct buf *body, const size_t *sizes,
    size_t n, const struct rec *whole)
{
	char how[64];
	struct rec r;

	for (size_t i = 0; i < n; i++) {
		rec_init(&r, body->len);
		parse_chunked(&r, bnd, body->d, body->len, sizes[i]);
		snprintf(how, sizeof(how), "chunks of %zu", sizes[i]);
		rec_same(whole, &r, how);
		rec_free(&r);
	}
}

START_TEST(chunk_sizes_named)
{
	size_t bl = strlen(CURL_BND);
	size_t sizes[] = {1, 2, 3, 7, bl - 1, bl, bl + 1, bl + 3, bl + 4,
	    bl + 5, 4096, 65536};
	struct buf data = {0}, body = {0};
	struct rec whole;

	buf_random(&data, 20000, 11);
	tricky_data(&data, CURL_BND);
	buf_random(&data, 5000, 12);
	tricky_data(&data, CURL_BND);
	curl_body(&body, CURL_BND, data.d, data.len);
	rec_init(&whole, body.len);
	parse_chunked(&whole, CURL_BND, body.d, body.len, 0);
	check_curl_parts(&whole, data.d, data.len);
	same_for_sizes(CURL_BND, &body, sizes, NITEMS(sizes), &whole);
	rec_free(&whole);
	free(data.d);
	free(body.d);
}
END_TEST

START_TEST(chunk_sizes_every)
{
	struct buf data = {0}, body = {0};
	struct rec whole;

	tricky_data(&data, CURL_BND);
	curl_body(&body, CURL_BND, data.d, data.len);
	rec_init(&whole, body.len);
	parse_chunked(&whole, CURL_BND, body.d, body.len, 0);
	check_curl_parts(&whole, data.d, data.len);
	for (size_t k = 1; k <= body.len; k++)
		same_for_sizes(CURL_BND, &body, &k, 1, &whole);
	rec_free(&whole);
	free(data.d);
	free(body.d);
}
END_TEST

/* Every split into three chunks, so a delimiter is cut in every way. */
START_TEST(splits_every)
{
	struct buf data = {0}, body = {0};
	struct rec whole, r;
	char how[64];

	tricky_data(&data, SHORT_BND);
	curl_body(&body, SHORT_BND, data.d, data.len);
	rec_init(&whole, body.len);
	parse_chunked(&whole, SHORT_BND, body.d, body.len, 0);
	check_curl_parts(&whole, data.d, data.len);
	for (size_t i = 0; i <= body.len; i++) {
		for (size_t j = i; j <= body.len; j++) {
			size_t sizes[] = {i, j - i, body.len - j + 1};

			rec_init(&r, body.len);
			parse_sizes(&r, SHORT_BND, body.d, body.len, sizes, 3);
			snprintf(how, sizeof(how), "cut at %zu, %zu", i, j);
			rec_same(&whole, &r, how);
			rec_free(&r);
		}
	}
	rec_free(&whole);
	free(data.d);
	free(body.d);
}
END_TEST

START_TEST(chunks_random)
{
	struct buf data = {0}, body = {0};
	struct rec whole, r;
	size_t sizes[64];
	uint32_t x = 99;

	buf_random(&data, 3000, 5);
	tricky_data(&data, CURL_BND);
	curl_body(&body, CURL_BND, data.d, data.len);
	rec_init(&whole, body.len);
	parse_chunked(&whole, CURL_BND, body.d, body.len, 0);
	for (int iter = 0; iter < 200; iter++) {
		for (size_t i = 0; i < NITEMS(sizes); i++)
			sizes[i] = xorshift(&x) % (i % 8 == 0 ? 3 : 120);
		sizes[1] = 1;
		rec_init(&r, body.len);
		parse_sizes(
		    &r, CURL_BND, body.d, body.len, sizes, NITEMS(sizes));
		rec_same(&whole, &r, "random chunks");
		rec_free(&r);
	}
	rec_free(&whole);
	free(data.d);
	free(body.d);
}
END_TEST

START_TEST(binary_bytes)
{
	struct buf data = {0}, body = {0};
	struct rec r;

	for (int iter = 0; iter < 4; iter++)
		for (int c = 0; c < 256; c++) {
			char ch = (char)c;

			buf_add(&data, &ch, 1);
			buf_add(&data, "\r\n\r\n\0\r", iter == 0 ? 0 : 6);
		}
	curl_body(&body, CURL_BND, data.d, data.len);
	rec_init(&r, body.len);
	parse_chunked(&r, CURL_BND, body.d, body.len, 1);
	check_curl_parts(&r, data.d, data.len);
	rec_free(&r);
	free(data.d);
	free(body.d);
}
END_TEST

/* The longest suffix of s[0..n) that begins delim: what may be held. */
static size_t
could_be_delim(const char *s, size_t n, const char *delim)
{
	size_t h = strlen(delim) - 1;

	for (h = h < n ? h : n; h > 0; h--)
		if (memcmp(s + n - h, delim, h) == 0)
			return h;
	return 0;
}

/* Fed one byte at a time, only what could be the delimiter waits. */
START_TEST(held_back_minimal)
{
	const char *delim = "\r\n--" CURL_BND;
	struct buf data = {0}, body = {0};
	size_t head, max = 0, h;
	struct rec r;

	tricky_data(&data, CURL_BND);
	buf_random(&data, 2000, 3);
	tricky_data(&data, CURL_BND);
	curl_body(&body, CURL_BND, data.d, data.len);
	head = (size_t)(strstr(body.d, "\r\n\r\n") - body.d) + 4;
	rec_init(&r, body.len);
	r.p = mp_new(CURL_BND, &rec_cb, &r);
	ck_assert_int_eq(mp_feed(r.p, body.d, head), 0);
	ck_assert_uint_eq(r.nparts, 1);
	for (size_t i = 0; i < data.len; i++) {
		ck_assert_int_eq(mp_feed(r.p, data.d + i, 1), 0);
		h = could_be_delim(data.d, i + 1, delim);
		ck_assert_uint_eq(r.delivered, i + 1 - h);
		ck_assert_uint_le(h, strlen(CURL_BND) + 3);
		max = h > max ? h : max;
	}
	ck_assert_uint_eq(max, strlen(CURL_BND) + 3);
	/* The delimiter complete at the chunk's end: all data is out. */
	ck_assert_int_eq(mp_feed(r.p, delim, strlen(delim)), 0);
	ck_assert_uint_eq(r.delivered, data.len);
	ck_assert_uint_eq(r.nends, 0);
	ck_assert_int_eq(mp_feed(r.p, "\r", 1), 0);
	ck_assert_uint_eq(r.nends, 0);
	ck_assert_int_eq(mp_feed(r.p, "\n", 1), 0);
	ck_assert_uint_eq(r.nends, 1);
	ck_assert(memcmp(r.data[0], data.d, data.len) == 0);
	mp_free(r.p);
	rec_free(&r);
	free(data.d);
	free(body.d);
}
END_TEST

static void
parse_one(struct rec *r, const char *bnd, const char *body)
{
	rec_init(r, strlen(body) + 1);
	parse_chunked(r, bnd, body, strlen(body), 0);
}

START_TEST(names_and_filenames)
{
	const char *body =
	    "--xyz\r\n"
	    "Content-Disposition: form-data; name=\"a\\\"b\\\\c\"\r\n"
	    "\r\n"
	    "1\r\n--xyz\r\n"
	    "content-disposition:FORM-DATA;NAME=tok_en.1;FileName="
	    "\"C:\\Users\\me\\My Videos\\clip (1).mp4\"\r\n"
	    "CONTENT-TYPE:   video/mp4; codecs=\"avc1\" \t\r\n"
	    "X-Other: ignored\r\n"
	    "\r\n"
	    "2\r\n--xyz\r\n"
	    "Content-Disposition: form-data ; filename = \"/home/me/x.mp4\" ; "
	    "name = \"f\" ; filename*=UTF-8''%e2%82%ac.mp4\r\n"
	    "\r\n"
	    "\r\n--xyz\r\n"
	    "Content-Disposition: form-data; name=\"f2\"; "
	    "filename=\"C:\\\\dir\\\\y.mp4\"\r\n"
	    "\r\n"
	    "\r\n--xyz\r\n"
	    "Content-Disposition: form-data; name=\"empty\"; filename=\"\";\r\n"
	    "Content-Type: application/octet-stream\r\n"
	    "\r\n"
	    "\r\n--xyz\r\n"
	    "Content-Disposition: form-data; name=\"\xc3\xa9t\xc3\xa9\"; "
	    "filename=\"dir/\xe2\x82\xac.mp4\"\r\n"
	    "\r\n"
	    "\r\n--xyz--";
	struct rec r;

	parse_one(&r, SHORT_BND, body);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.nparts, 6);
	ck_assert_str_eq(r.part[0].name, "a\"b\\c");
	ck_assert(!r.part[0].has_filename);
	ck_assert_str_eq(r.part[1].name, "tok_en.1");
	ck_assert_str_eq(r.part[1].filename, "clip (1).mp4");
	ck_assert_str_eq(r.part[1].content_type, "video/mp4; codecs=\"avc1\"");
	ck_assert_str_eq(r.part[2].name, "f");
	ck_assert_str_eq(r.part[2].filename, "x.mp4");
	ck_assert_str_eq(r.part[3].filename, "y.mp4");
	ck_assert(r.part[4].has_filename);
	ck_assert_str_eq(r.part[4].filename, "");
	ck_assert_str_eq(r.part[5].name, "\xc3\xa9t\xc3\xa9");
	ck_assert_str_eq(r.part[5].filename, "\xe2\x82\xac.mp4");
	ck_assert_uint_eq(r.len[0], 1);
	ck_assert_uint_eq(r.len[1], 1);
	ck_assert_uint_eq(r.len[2], 0);
	rec_free(&r);
}
END_TEST

/* Names fill their buffer exactly; a long path keeps its short name. */
START_TEST(names_at_the_limit)
{
	struct buf body = {0};
	struct rec r;

	buf_printf(&body, "--xyz\r\nContent-Disposition: form-data; name=\"");
	buf_fill(&body, 'n', MP_NAME_SIZE - 1);
	buf_printf(&body, "\"; filename=\"C:\\");
	buf_fill(&body, 'd', 1000);
	buf_printf(&body, "\\");
	buf_fill(&body, 'f', MP_NAME_SIZE - 1);
	buf_printf(&body, "\"\r\n\r\ndata\r\n--xyz--\r\n");
	parse_one(&r, SHORT_BND, body.d);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(strlen(r.part[0].name), MP_NAME_SIZE - 1);
	ck_assert_uint_eq(strlen(r.part[0].filename), MP_NAME_SIZE - 1);
	ck_assert(r.part[0].filename[0] == 'f');
	rec_free(&r);
	free(body.d);
}
END_TEST

START_TEST(preamble_padding_epilogue)
{
	static const char body[] =
	    "This is the preamble. --xyz is not a delimiter here,\r\n"
	    "nor is \n--xyz or \r--xyz or \r\n--xy.\r\n"
	    "\r\n--xyz \t \r\n"
	    "Content-Disposition: form-data; name=\"a\"\r\n"
	    "\r\n"
	    "one\r\n--xyz\t\r\n"
	    "Content-Disposition: form-data; name=\"b\"\r\n"
	    "\r\n"
	    "two\r\n--xyz--  \r\n"
	    "This is the epilogue: \r\n--xyz\r\nContent-Disposition: "
	    "garbage\r\n"
	    "\r\n--xyz--\0\377";
	struct rec r;

	rec_init(&r, sizeof(body));
	parse_chunked(&r, SHORT_BND, body, sizeof(body) - 1, 0);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.nparts, 2);
	ck_assert_uint_eq(r.nends, 2);
	ck_assert_uint_eq(r.len[0], 3);
	ck_assert(memcmp(r.data[0], "one", 3) == 0);
	ck_assert(memcmp(r.data[1], "two", 3) == 0);
	rec_free(&r);

	/* No parts at all, and a boundary with a space in it. */
	parse_one(&r, "a b", "--a b--");
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.nparts, 0);
	rec_free(&r);
}
END_TEST

struct bad_body {
	const char *body;
	size_t len;
	const char *err;
};

#define BAD(b, e)                   \
	{                           \
		b, sizeof(b) - 1, e \
	}
#define CD "Content-Disposition: "
#define P1 "--xyz\r\n" CD "form-data; name=\"a\"\r\n\r\nv\r\n--xyz\r\n"

static const struct bad_body bad_bodies[] = {
    BAD("--xyz\r\n" CD "form-data; na\0me=\"a\"\r\n\r\nv\r\n--xyz--",
	"part 1: NUL byte in the headers"),
    BAD("--xyz\r\n" CD "form-data; filename=\"a\"\r\n\r\nv\r\n--xyz--",
	"part 1: Content-Disposition has no name"),
    BAD("--xyz\r\n" CD "form-data; filename*=UTF-8''a\r\n\r\n",
	"part 1: Content-Disposition has no name"),
    BAD("--xyz\r\n" CD "form-data\r\n\r\n",
	"part 1: Content-Disposition has no name"),
    BAD("--xyz\r\n" CD "form-data; name=\"\"\r\n\r\n", "part 1: empty name"),
    BAD("--xyz\r\nContent-Type: text/plain\r\n\r\nv\r\n--xyz--",
	"part 1: no Content-Disposition header"),
    BAD("--xyz\r\n\r\nv\r\n--xyz--", "part 1: no Content-Disposition header"),
    BAD("--xyz\r\n" CD "attachment; name=\"a\"\r\n\r\n",
	"part 1: Content-Disposition is not form-data"),
    BAD("--xyz\r\n" CD "form-data;\r\n name=\"a\"\r\n\r\n",
	"part 1: folded header lines are not supported"),
    BAD("--xyz\r\nContent-Disposition form-data\r\n\r\n",
	"part 1: malformed header line"),
    BAD("--xyz\r\nContent-Disposition : form-data; name=a\r\n\r\n",
	"part 1: malformed header line"),
    BAD("--xyz\r\n" CD "form-data; name=a\n\r\n",
	"part 1: LF without CR in the headers"),
    BAD("--xyz\r\n" CD "form-data; name=a\r\r\n",
	"part 1: CR without LF in the headers"),
    BAD("--xyz\r\n" CD "form-data; name=a\x01"
	"b\r\n\r\n",
	"part 1: control byte 0x01 in the headers"),
    BAD("--xyz\r\n" CD "form-data; name=\"abc\r\n\r\n",
	"part 1: malformed Content-Disposition"),
    BAD("--xyz\r\n" CD "form-data; name=\"a\"b\r\n\r\n",
	"part 1: malformed Content-Disposition"),
    BAD("--xyz\r\n" CD "form-data; name\r\n\r\n",
	"part 1: malformed Content-Disposition"),
    BAD("--xyz\r\n" CD "form-data; name=\r\n\r\n",
	"part 1: malformed Content-Disposition"),
    BAD("--xyz\r\n" CD "form-data, name=a\r\n\r\n",
	"part 1: malformed Content-Disposition"),
    BAD("--xyz\r\n" CD "form-data; name=a\r\n" CD "form-data; name=b\r\n\r\n",
	"part 1: two Content-Disposition headers"),
    BAD("--xyz\r\n" CD "form-data; name=a; Name=b\r\n\r\n",
	"part 1: two name parameters"),
    BAD("--xyz\r\n" CD "form-data; name=a; filename=b; filename=c\r\n\r\n",
	"part 1: two filename parameters"),
    BAD("--xyz\r\n" CD "form-data; name=a\r\nContent-Type: a/b\r\n"
	"content-type: a/b\r\n\r\n",
	"part 1: two Content-Type headers"),
    BAD("--xyz\r\n" CD "form-data; name=a\r\nContent-Type: "
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/"
	"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\r\n",
	"part 1: Content-Type over 127 bytes"),
    BAD(P1 CD "form-data; filename=b\r\n\r\nv\r\n--xyz--",
	"part 2: Content-Disposition has no name"),
    BAD("--xyzX\r\n", "the first boundary is followed by neither CRLF nor "
		      "\"--\""),
    BAD("--xyz\r\n" CD "form-data; name=a\r\n\r\nv\r\n--xyzX",
	"after part 1: the boundary is followed by neither CRLF nor \"--\""),
    BAD("--xyz\r\n" CD "form-data; name=a\r\n\r\nv\r\n--xyz -\r\n",
	"after part 1: the boundary is followed by neither CRLF nor \"--\""),
    BAD("--xyz\r\n" CD "form-data; name=a\r\n\r\nv\r\n--xyz\rX",
	"after part 1: the boundary is followed by neither CRLF nor \"--\""),
    BAD("--xyz\r\n" CD "form-data; name=a\r\n\r\nv\r\n--xyz-x",
	"after part 1: the boundary is followed by neither CRLF nor \"--\""),
    BAD("", "the body is empty"),
    BAD("just a preamble\r\n--xy", "the body ended before the first boundary"),
    BAD("x--xyz\r\n" CD "form-data; name=a\r\n\r\nv",
	"the body ended before the first boundary"),
    BAD("--xyz\r\nContent-Disp", "part 1: the body ended inside the headers"),
    BAD("--xyz\r\n" CD "form-data; name=a\r\n\r\nvalue",
	"part 1: the body ended inside the part"),
    BAD("--xyz\r\n" CD "form-data; name=a\r\n\r\nvalue\r\n--xy",
	"part 1: the body ended inside the part"),
    BAD(P1 CD "form-data; name=b\r\n\r\n",
	"part 2: the body ended inside the part"),
    BAD("--xyz\r\n" CD "form-data; name=a\r\n\r\nv\r\n--xyz",
	"the body ended after a boundary, before the closing \"--\""),
    BAD("--xyz\r\n" CD "form-data; name=a\r\n\r\nv\r\n--xyz-",
	"the body ended after a boundary, before the closing \"--\""),
    BAD("--xyz\r\n" CD "form-data; name=a\r\n\r\nv\r\n--xyz  \r",
	"the body ended after a boundary, before the closing \"--\""),
};

/* Parses a bad body whole, a byte at a time and in threes: one message. */
static void
check_bad(const char *body, size_t len, const char *err)
{
	struct rec whole, r;
	size_t sizes[] = {0, 1, 3};

	rec_init(&whole, len);
	parse_chunked(&whole, SHORT_BND, body, len, 0);
	ck_assert_int_eq(whole.rc, -1);
	ck_assert_str_eq(whole.err, err);
	for (size_t i = 1; i < NITEMS(sizes); i++) {
		rec_init(&r, len);
		parse_chunked(&r, SHORT_BND, body, len, sizes[i]);
		rec_same(&whole, &r, err);
		rec_free(&r);
	}
	rec_free(&whole);
}

START_TEST(bad_body_refused)
{
	const struct bad_body *b = &bad_bodies[_i];

	check_bad(b->body, b->len, b->err);
}
END_TEST

/* A header block of n bytes, its final CRLF CRLF included. */
static void
header_block(struct buf *b, size_t n)
{
	const char *cd = CD "form-data; name=\"a\"\r\n";
	const char *pad = "X-Pad: ";

	buf_printf(b, "--xyz\r\n%s%s", cd, pad);
	buf_fill(b, 'p', n - strlen(cd) - strlen(pad) - 4);
	buf_printf(b, "\r\n\r\nv\r\n--xyz--\r\n");
}

START_TEST(header_block_limit)
{
	struct buf body = {0};
	struct rec r;

	header_block(&body, MP_HEADER_MAX);
	parse_one(&r, SHORT_BND, body.d);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.nparts, 1);
	rec_free(&r);
	body.len = 0;
	header_block(&body, MP_HEADER_MAX + 1);
	check_bad(body.d, body.len, "part 1: header block over 8192 bytes");
	free(body.d);
}
END_TEST

START_TEST(name_too_long)
{
	struct buf body = {0};

	buf_printf(&body, "--xyz\r\n" CD "form-data; name=\"");
	buf_fill(&body, 'n', MP_NAME_SIZE);
	buf_printf(&body, "\"\r\n\r\n");
	check_bad(body.d, body.len, "part 1: name over 255 bytes");
	body.len = 0;
	buf_printf(&body, "--xyz\r\n" CD "form-data; name=a; filename=\"a/");
	buf_fill(&body, 'f', MP_NAME_SIZE);
	buf_printf(&body, "\"\r\n\r\n");
	check_bad(body.d, body.len, "part 1: filename over 255 bytes");
	free(body.d);
}
END_TEST

static void
n_parts(struct buf *b, unsigned n)
{
	for (unsigned i = 1; i <= n; i++)
		buf_printf(b,
		    "--xyz\r\n" CD "form-data; name=\"p%u\"\r\n\r\n%u\r\n", i,
		    i);
	buf_printf(b, "--xyz--\r\n");
}

START_TEST(parts_limit)
{
	struct buf body = {0};
	struct rec r;

	n_parts(&body, MP_PARTS_MAX);
	parse_one(&r, SHORT_BND, body.d);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.nparts, MP_PARTS_MAX);
	ck_assert_uint_eq(r.nends, MP_PARTS_MAX);
	ck_assert_str_eq(r.part[MP_PARTS_MAX - 1].name, "p16");
	rec_free(&r);
	body.len = 0;
	n_parts(&body, MP_PARTS_MAX + 1);
	check_bad(body.d, body.len, "part 17: more than 16 parts");
	free(body.d);
}
END_TEST

START_TEST(invalid_boundary)
{
	const char *bad[] = {NULL, "", "a\r\nb", "ab ", "a\"b",
	    "12345678901234567890123456789012345678901234567890"
	    "123456789012345678901"};
	struct mp_parser *p;

	for (size_t i = 0; i < NITEMS(bad); i++) {
		p = mp_new(bad[i], NULL, NULL);
		ck_assert_ptr_nonnull(p);
		ck_assert_str_eq(mp_error(p), "invalid boundary");
		ck_assert_int_eq(mp_feed(p, "--ab\r\n", 6), -1);
		ck_assert_int_eq(mp_finish(p), -1);
		mp_free(p);
	}
}
END_TEST

struct ct_case {
	const char *ct;
	const char *boundary; /* NULL: refused */
	const char *err;
};

static const struct ct_case ct_cases[] = {
    {"multipart/form-data; boundary=----abc", "----abc", ""},
    {CURL_CT, CURL_BND, ""},
    {"Multipart/Form-Data;BOUNDARY=xyz", "xyz", ""},
    {"multipart/form-data; boundary=\"a b:c?\"", "a b:c?", ""},
    {"multipart/form-data; charset=utf-8; boundary=xyz; x=\"b;ar\"", "xyz", ""},
    {"multipart/form-data; x=\"boundary=no\"; boundary=\"yes\"", "yes", ""},
    {"  multipart/form-data \t;  boundary = xyz \t", "xyz", ""},
    {"multipart/form-data; boundary=\"'()+_,-./:=?\"", "'()+_,-./:=?", ""},
    {"multipart/form-data; boundary=1234567890123456789012345678901234567890"
     "123456789012345678901234567890",
	"123456789012345678901234567890123456789012345678901234567890123456789"
	"0",
	""},
    {NULL, NULL, "no Content-Type"},
    {"", NULL, "Content-Type is not multipart/form-data"},
    {"text/plain; boundary=x", NULL, "Content-Type is not multipart/form-data"},
    {"multipart/mixed; boundary=x", NULL,
	"Content-Type is not multipart/form-data"},
    {"multipart/form-datax; boundary=x", NULL,
	"Content-Type is not multipart/form-data"},
    {"multipart/form-data", NULL, "no boundary in Content-Type"},
    {"multipart/form-data; charset=utf-8", NULL, "no boundary in Content-Type"},
    {"multipart/form-data; boundary=", NULL, "empty boundary"},
    {"multipart/form-data; boundary=; x=y", NULL, "empty boundary"},
    {"multipart/form-data; boundary=\"\"", NULL, "empty boundary"},
    {"multipart/form-data; boundary=1234567890123456789012345678901234567890"
     "1234567890123456789012345678901",
	NULL, "boundary over 70 characters"},
    {"multipart/form-data; boundary=\"1234567890123456789012345678901234567890"
     "1234567890123456789012345678901234567890123456789012345678901234567890"
     "\"",
	NULL, "boundary over 70 characters"},
    {"multipart/form-data; boundary=\"abc \"", NULL,
	"boundary ends in a space, which RFC 2046 forbids"},
    {"multipart/form-data; boundary=\"a\\\"b\"", NULL,
	"boundary has a character RFC 2046 forbids"},
    {"multipart/form-data; boundary=a*b", NULL,
	"boundary has a character RFC 2046 forbids"},
    {"multipart/form-data; boundary=\"\xc3\xa9\"", NULL,
	"boundary has a character RFC 2046 forbids"},
    {"multipart/form-data; boundary=a; boundary=b", NULL,
	"two boundary parameters in Content-Type"},
    {"multipart/form-data; boundary=\"abc", NULL,
	"malformed Content-Type parameters"},
    {"multipart/form-data; boundary", NULL,
	"malformed Content-Type parameters"},
    {"multipart/form-data boundary=abc", NULL,
	"malformed Content-Type parameters"},
};

START_TEST(boundary_from_content_type)
{
	const struct ct_case *c = &ct_cases[_i];
	char b[MP_BOUNDARY_MAX + 1] = "unset", err[128] = "unset";
	int rc = mp_boundary(c->ct, b, sizeof(b), err, sizeof(err));

	ck_assert_msg(
	    rc == (c->boundary != NULL ? 0 : -1), "%s: %d, %s", c->ct, rc, err);
	ck_assert_str_eq(err, c->err);
	if (c->boundary != NULL)
		ck_assert_str_eq(b, c->boundary);
}
END_TEST

START_TEST(boundary_buffer_small)
{
	char b[4], err[64];

	ck_assert_int_eq(mp_boundary("multipart/form-data; boundary=abcd", b,
			     sizeof(b), err, sizeof(err)),
	    -1);
	ck_assert_str_eq(err, "boundary buffer too small");
	ck_assert_int_eq(mp_boundary("multipart/form-data; boundary=abc", b,
			     sizeof(b), NULL, 0),
	    0);
	ck_assert_str_eq(b, "abc");
}
END_TEST

static const char two_parts[] =
    "--xyz\r\n" CD "form-data; name=\"a\"\r\n\r\n0123456789\r\n"
    "--xyz\r\n" CD "form-data; name=\"b\"\r\n\r\nabcdefghij\r\n--xyz--\r\n";

static void
parse_refused(struct rec *r, size_t chunk, const char *err)
{
	parse_chunked(r, SHORT_BND, two_parts, sizeof(two_parts) - 1, chunk);
	ck_assert_int_eq(r->rc, -1);
	ck_assert_str_eq(r->err, err);
}

START_TEST(callback_stops)
{
	struct rec r;

	for (size_t chunk = 0; chunk <= 1; chunk++) {
		rec_init(&r, sizeof(two_parts));
		r.stop_begin = 2;
		r.stop_msg = "no b wanted";
		parse_refused(&r, chunk, "no b wanted");
		ck_assert_uint_eq(r.nparts, 2);
		ck_assert_uint_eq(r.nends, 1);
		ck_assert_uint_eq(r.len[1], 0);
		rec_free(&r);

		rec_init(&r, sizeof(two_parts));
		r.stop_begin = 1;
		parse_refused(&r, chunk, "stopped by the receiver");
		ck_assert_uint_eq(r.delivered, 0);
		rec_free(&r);

		rec_init(&r, sizeof(two_parts));
		r.stop_end = 1;
		r.stop_msg = "part a refused";
		parse_refused(&r, chunk, "part a refused");
		ck_assert_uint_eq(r.nparts, 1);
		rec_free(&r);
	}
}
END_TEST

START_TEST(callback_stops_in_data)
{
	struct rec r;

	rec_init(&r, sizeof(two_parts));
	r.stop_data_after = 3;
	r.stop_msg = "disk full";
	parse_refused(&r, 1, "disk full after 3 bytes");
	ck_assert_uint_eq(r.delivered, 3);
	rec_free(&r);

	rec_init(&r, sizeof(two_parts));
	r.stop_data_after = 1;
	parse_refused(&r, 0, "stopped by the receiver");
	ck_assert_uint_eq(r.delivered, 10);
	rec_free(&r);
}
END_TEST

/* A message set by a callback that goes on is forgotten. */
START_TEST(callback_message_without_stop)
{
	struct rec r;

	rec_init(&r, sizeof(two_parts));
	r.stop_begin = 1;
	r.stop_msg = "never mind";
	r.set_but_go_on = true;
	parse_chunked(&r, SHORT_BND, two_parts, sizeof(two_parts) - 1, 0);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_str_eq(r.err, "");
	ck_assert_uint_eq(r.nparts, 2);
	rec_free(&r);
}
END_TEST

START_TEST(no_callbacks)
{
	struct mp_callbacks none = {NULL, NULL, NULL};
	struct mp_parser *p;

	p = mp_new(SHORT_BND, NULL, NULL);
	ck_assert_int_eq(mp_feed(p, two_parts, sizeof(two_parts) - 1), 0);
	ck_assert_int_eq(mp_finish(p), 0);
	ck_assert_uint_eq(mp_fed(p), sizeof(two_parts) - 1);
	ck_assert_str_eq(mp_error(p), "");
	/* The epilogue after mp_finish is still ignored. */
	ck_assert_int_eq(mp_feed(p, "x", 1), 0);
	ck_assert_int_eq(mp_finish(p), 0);
	mp_free(p);
	p = mp_new(SHORT_BND, &none, NULL);
	ck_assert_int_eq(mp_feed(p, two_parts, sizeof(two_parts) - 1), 0);
	ck_assert_int_eq(mp_finish(p), 0);
	mp_free(p);
	mp_free(NULL);
}
END_TEST

/*
 * A 50 MB upload, generated a 64 KiB chunk at a time: a field, the file
 * (random bytes with near-delimiters across chunk ends) and the closing
 * delimiter.
 */
#define BIG_SIZE (50ull * 1000 * 1000)
#define BIG_CHUNK 65536

struct big {
	struct buf head;
	struct buf tail;
	struct buf near;	/* a near-delimiter, placed across chunk ends */
	unsigned long long off; /* of the body generated */
	unsigned long long data; /* file bytes generated */
	uint32_t x;
	uint64_t hash; /* of the file bytes generated */
	/* Received. */
	unsigned long long got;
	uint64_t got_hash;
	unsigned begins, ends;
};

static uint64_t
fnv(uint64_t h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

/* The next file byte, hashed. */
static char
big_byte(struct big *g)
{
	size_t at = (size_t)((g->off + g->near.len / 2) % BIG_CHUNK);
	char c;

	if (at < g->near.len)
		c = g->near.d[at];
	else
		c = (char)xorshift(&g->x);
	g->hash = fnv(g->hash, &c, 1);
	g->data++;
	return c;
}

static size_t
big_chunk(struct big *g, char *out)
{
	unsigned long long total = g->head.len + BIG_SIZE + g->tail.len;
	size_t n = 0;

	for (; n < BIG_CHUNK && g->off < total; n++, g->off++) {
		if (g->off < g->head.len)
			out[n] = g->head.d[g->off];
		else if (g->off < g->head.len + BIG_SIZE)
			out[n] = big_byte(g);
		else
			out[n] = g->tail.d[g->off - g->head.len - BIG_SIZE];
	}
	return n;
}

static int
big_begin(void *arg, const struct mp_part *part)
{
	struct big *g = arg;

	g->begins++;
	ck_assert_str_eq(part->name, g->begins == 1 ? "title" : "file");
	return 0;
}

static int
big_data(void *arg, const char *data, size_t len)
{
	struct big *g = arg;

	if (g->begins == 1)
		return 0;
	g->got += len;
	g->got_hash = fnv(g->got_hash, data, len);
	return 0;
}

static int
big_end(void *arg)
{
	struct big *g = arg;

	g->ends++;
	return 0;
}

static long
max_rss_kb(void)
{
	struct rusage ru;

	ck_assert_int_eq(getrusage(RUSAGE_SELF, &ru), 0);
	return ru.ru_maxrss;
}

START_TEST(big_upload_bounded)
{
	static char chunk[BIG_CHUNK];
	struct mp_callbacks cb = {big_begin, big_data, big_end};
	struct big g = {.x = 1,
	    .hash = 14695981039346656037ull,
	    .got_hash = 14695981039346656037ull};
	struct mp_parser *p;
	long rss;
	size_t n;

	buf_printf(&g.head,
	    "--%s\r\n" CD "form-data; name=\"title\"\r\n\r\nholiday\r\n"
	    "--%s\r\n" CD "form-data; name=\"file\"; filename=\"big.mp4\"\r\n"
	    "Content-Type: video/mp4\r\n\r\n",
	    CURL_BND, CURL_BND);
	buf_printf(&g.tail, "\r\n--%s--\r\n", CURL_BND);
	buf_printf(&g.near, "\r\n--%.*s!", (int)strlen(CURL_BND) - 1, CURL_BND);
	p = mp_new(CURL_BND, &cb, &g);
	rss = max_rss_kb();
	while ((n = big_chunk(&g, chunk)) > 0) {
		ck_assert_int_eq(mp_feed(p, chunk, n), 0);
		/* Everything but what could be a delimiter is out. */
		ck_assert_uint_le(g.got, g.data);
		ck_assert_uint_le(g.data - g.got, strlen(CURL_BND) + 3);
	}
	ck_assert_int_eq(mp_finish(p), 0);
	ck_assert_uint_eq(g.begins, 2);
	ck_assert_uint_eq(g.ends, 2);
	ck_assert_uint_eq(g.got, BIG_SIZE);
	ck_assert_uint_eq(mp_fed(p), g.head.len + BIG_SIZE + g.tail.len);
	ck_assert(g.got_hash == g.hash);
	ck_assert_int_lt(max_rss_kb() - rss, 8192);
	mp_free(p);
	free(g.head.d);
	free(g.tail.d);
	free(g.near.d);
}
END_TEST

static Suite *
multipart_suite(void)
{
	Suite *s = suite_create("httpd_multipart");
	TCase *tc = tcase_create("bodies");

	tcase_add_test(tc, curl_capture_parses);
	tcase_add_test(tc, curl_generated_parses);
	tcase_add_test(tc, binary_bytes);
	tcase_add_test(tc, names_and_filenames);
	tcase_add_test(tc, names_at_the_limit);
	tcase_add_test(tc, preamble_padding_epilogue);
	suite_add_tcase(s, tc);

	tc = tcase_create("chunking");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, chunk_sizes_named);
	tcase_add_test(tc, chunk_sizes_every);
	tcase_add_test(tc, splits_every);
	tcase_add_test(tc, chunks_random);
	tcase_add_test(tc, held_back_minimal);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_loop_test(tc, bad_body_refused, 0, (int)NITEMS(bad_bodies));
	tcase_add_test(tc, header_block_limit);
	tcase_add_test(tc, name_too_long);
	tcase_add_test(tc, parts_limit);
	tcase_add_test(tc, invalid_boundary);
	suite_add_tcase(s, tc);

	tc = tcase_create("content_type");
	tcase_add_loop_test(
	    tc, boundary_from_content_type, 0, (int)NITEMS(ct_cases));
	tcase_add_test(tc, boundary_buffer_small);
	suite_add_tcase(s, tc);

	tc = tcase_create("callbacks");
	tcase_add_test(tc, callback_stops);
	tcase_add_test(tc, callback_stops_in_data);
	tcase_add_test(tc, callback_message_without_stop);
	tcase_add_test(tc, no_callbacks);
	suite_add_tcase(s, tc);

	tc = tcase_create("memory");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, big_upload_bounded);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(multipart_suite)
