/*
 * libFuzzer target for reel-httpd's request router (httpd/router.c) and
 * its multipart/form-data parser (httpd/multipart.c). The first up-to-300
 * input bytes, split at the first space, are a method and a path for
 * router_match, whose promises are checked: a route with a job id has a
 * valid one, an artifact route names a known artifact, a refused method
 * says what is allowed. For the parser, The first input byte chooses how the
 * body is cut into chunks, the second at which part a callback refuses (most
 * values: never); the rest is a body with the fixed boundary FUZZ_BND. It is
 * parsed twice, in two different chunkings, and the two results (parts,
 * names, the data bytes hashed, how it ended, the message) must be the
 * same, and each part's bytes must be what a naive search for the
 * delimiters in the whole body finds. Any broken promise of multipart.h
 * aborts: data delivered beyond
 * what was fed, a part without a name or with a path in its filename, a
 * callback out of order or after a failure, a failure that does not stay.
 * The first 200 input bytes also go to mp_boundary as a Content-Type.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "multipart.h"
#include "router.h"

#define FUZZ_BND "AaB03x"
#define FUZZ_CT_MAX 200
#define FNV_BASIS 14695981039346656037ull
#define FUZZ_DELIM "\r\n--" FUZZ_BND
#define FUZZ_DELIM_LEN (sizeof(FUZZ_DELIM) - 1)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_REQUEST_MAX 300

static bool
route_has_job(enum route r)
{
	return r >= ROUTE_JOB_STATUS && r <= ROUTE_JOB_ARTIFACT;
}

static void
fuzz_router(const uint8_t *data, size_t size)
{
	char line[FUZZ_REQUEST_MAX + 1], *path;
	struct route_match m;
	enum router_verdict v;
	size_t n = size < FUZZ_REQUEST_MAX ? size : FUZZ_REQUEST_MAX;

	memcpy(line, data, n);
	line[n] = '\0';
	path = strchr(line, ' ');
	if (path == NULL)
		return;
	*path++ = '\0';
	v = router_match(line, path, &m);
	if (v == ROUTER_OK &&
	    (m.route == ROUTE_NONE ||
		(route_has_job(m.route) && !reel_id_valid("job_", m.job_id)) ||
		(m.route == ROUTE_JOB_ARTIFACT &&
		    router_artifact_type(m.artifact) == NULL) ||
		strncmp(path, ROUTER_PREFIX, sizeof(ROUTER_PREFIX) - 1) != 0 ||
		strstr(path, "..") != NULL))
		abort();
	if (v == ROUTER_METHOD_NOT_ALLOWED &&
	    (m.allow == NULL || *m.allow == 0))
		abort();
	if (v == ROUTER_TOO_LONG && strlen(path) <= ROUTER_PATH_MAX)
		abort();
}

struct fuzz_run {
	struct mp_parser *p;
	uint64_t hash;
	unsigned long long delivered;
	unsigned parts;
	unsigned ends;
	size_t len[MP_PARTS_MAX]; /* each part's bytes, and their hash */
	uint64_t part_hash[MP_PARTS_MAX];
	bool in_part;
	bool failed;   /* no callback may follow */
	unsigned stop; /* refuse at this part's part_begin */
	int rc;
	char err[256];
};

static uint64_t
fuzz_hash(uint64_t h, const void *data, size_t len)
{
	const unsigned char *s = data;

	for (size_t i = 0; i < len; i++)
		h = (h ^ s[i]) * 1099511628211ull;
	return h;
}

static void
fuzz_check_string(const char *s, size_t size)
{
	if (memchr(s, '\0', size) == NULL)
		abort();
}

static int
fuzz_begin(void *arg, const struct mp_part *part)
{
	struct fuzz_run *r = arg;

	if (r->failed || r->in_part || ++r->parts > MP_PARTS_MAX)
		abort();
	fuzz_check_string(part->name, sizeof(part->name));
	fuzz_check_string(part->filename, sizeof(part->filename));
	fuzz_check_string(part->content_type, sizeof(part->content_type));
	if (part->name[0] == '\0' || strpbrk(part->filename, "/\\") != NULL)
		abort();
	if (!part->has_filename && part->filename[0] != '\0')
		abort();
	r->in_part = true;
	r->part_hash[r->parts - 1] = FNV_BASIS;
	r->hash = fuzz_hash(r->hash, "B", 1);
	r->hash = fuzz_hash(r->hash, part->name, strlen(part->name) + 1);
	r->hash =
	    fuzz_hash(r->hash, part->filename, strlen(part->filename) + 1);
	r->hash = fuzz_hash(r->hash, &part->has_filename, 1);
	r->hash = fuzz_hash(
	    r->hash, part->content_type, strlen(part->content_type) + 1);
	if (r->parts != r->stop)
		return 0;
	mp_set_error(r->p, "refused part %u", r->parts);
	return -1;
}

static int
fuzz_data(void *arg, const char *data, size_t len)
{
	struct fuzz_run *r = arg;

	if (r->failed || !r->in_part || len == 0)
		abort();
	r->delivered += len;
	if (r->delivered > mp_fed(r->p))
		abort();
	/* Only the bytes: where the calls split them is the chunking's. */
	r->hash = fuzz_hash(r->hash, data, len);
	r->len[r->parts - 1] += len;
	r->part_hash[r->parts - 1] =
	    fuzz_hash(r->part_hash[r->parts - 1], data, len);
	return 0;
}

static int
fuzz_end(void *arg)
{
	struct fuzz_run *r = arg;

	if (r->failed || !r->in_part)
		abort();
	r->in_part = false;
	r->ends++;
	r->hash = fuzz_hash(r->hash, "E", 1);
	return 0;
}

static const struct mp_callbacks fuzz_cb = {fuzz_begin, fuzz_data, fuzz_end};

/* A failure stays, with its message, and no callback runs again. */
static void
fuzz_failed(struct fuzz_run *r)
{
	r->rc = -1;
	r->failed = true;
	snprintf(r->err, sizeof(r->err), "%s", mp_error(r->p));
	if (r->err[0] == '\0')
		abort();
	if (mp_feed(r->p, "\r\n--" FUZZ_BND "--\r\n", 14) != -1 ||
	    mp_finish(r->p) != -1 || strcmp(mp_error(r->p), r->err) != 0)
		abort();
	if (r->stop != 0 && r->parts == r->stop) {
		char want[64];

		snprintf(want, sizeof(want), "refused part %u", r->stop);
		if (strcmp(r->err, want) != 0)
			abort();
	}
}

/* The next chunk's size in pattern mode: 0 is allowed, not forever. */
static size_t
fuzz_chunk(unsigned mode, uint32_t *x, size_t left)
{
	switch (mode & 3) {
	case 0:
		return left;
	case 1:
		return 1 + (mode >> 2);
	case 2:
		return 1;
	default:
		*x = *x * 1103515245u + 12345u;
		return (*x >> 16) % (2 + (mode >> 2) * 4);
	}
}

static void
fuzz_parse(struct fuzz_run *r, unsigned mode, unsigned stop, const char *body,
    size_t len)
{
	uint32_t x = mode;
	size_t off = 0, n, zeros = 0;

	memset(r, 0, sizeof(*r));
	r->hash = FNV_BASIS;
	r->stop = stop;
	if ((r->p = mp_new(FUZZ_BND, &fuzz_cb, r)) == NULL)
		abort();
	while (off < len) {
		n = fuzz_chunk(mode, &x, len - off);
		n = n > len - off ? len - off : n;
		if (n == 0 && ++zeros > 4)
			n = 1;
		if (mp_feed(r->p, body + off, n) == -1) {
			fuzz_failed(r);
			break;
		}
		off += n;
		if (mp_fed(r->p) != off || r->delivered > off)
			abort();
	}
	if (r->rc == 0 && mp_finish(r->p) == -1)
		fuzz_failed(r);
	if (r->rc == 0 && (mp_error(r->p)[0] != '\0' || r->in_part))
		abort();
	mp_free(r->p);
}

static const char *
fuzz_find(const char *s, const char *end, const char *what, size_t len)
{
	const char *at = memmem(s, (size_t)(end - s), what, len);

	if (at == NULL)
		abort();
	return at + len;
}

/*
 * The parts' bytes against a naive reading of the whole body: after the
 * first delimiter (the CRLF optional at the very start), each part is a
 * delimiter line, headers up to an empty line, and bytes up to the next
 * delimiter. A part still open when parsing failed got a prefix of them.
 */
static void
fuzz_reference(const struct fuzz_run *r, const char *body, size_t len)
{
	const char *end = body + len, *s, *h, *d;

	if (r->parts == 0)
		return;
	if (len >= FUZZ_DELIM_LEN - 2 &&
	    memcmp(body, "--" FUZZ_BND, FUZZ_DELIM_LEN - 2) == 0)
		s = body + FUZZ_DELIM_LEN - 2;
	else
		s = fuzz_find(body, end, FUZZ_DELIM, FUZZ_DELIM_LEN);
	for (unsigned i = 0; i < r->parts; i++) {
		s = fuzz_find(s, end, "\r\n", 2);
		if (end - s >= 2 && memcmp(s, "\r\n", 2) == 0)
			h = s + 2;
		else
			h = fuzz_find(s, end, "\r\n\r\n", 4);
		if ((size_t)(end - h) < r->len[i] ||
		    fuzz_hash(FNV_BASIS, h, r->len[i]) != r->part_hash[i])
			abort();
		d = memmem(h, (size_t)(end - h), FUZZ_DELIM, FUZZ_DELIM_LEN);
		if (i < r->ends ? d != h + r->len[i]
				: d != NULL && d < h + r->len[i])
			abort();
		if (i >= r->ends)
			return;
		s = d + FUZZ_DELIM_LEN;
	}
}

/* What mp_boundary accepts is a valid boundary, and reads back the same. */
static void
fuzz_boundary(const uint8_t *data, size_t size)
{
	char ct[FUZZ_CT_MAX + 1], b[MP_BOUNDARY_MAX + 1], again[sizeof(b)];
	char quoted[MP_BOUNDARY_MAX + 64], err[128];
	struct mp_parser *p;
	size_t n = size < FUZZ_CT_MAX ? size : FUZZ_CT_MAX;

	memcpy(ct, data, n);
	ct[n] = '\0';
	if (mp_boundary(ct, b, sizeof(b), err, sizeof(err)) != 0) {
		if (err[0] == '\0')
			abort();
		return;
	}
	if (b[0] == '\0' || strlen(b) > MP_BOUNDARY_MAX || err[0] != '\0')
		abort();
	snprintf(
	    quoted, sizeof(quoted), "multipart/form-data; boundary=\"%s\"", b);
	if (mp_boundary(quoted, again, sizeof(again), err, sizeof(err)) != 0 ||
	    strcmp(b, again) != 0)
		abort();
	if ((p = mp_new(b, NULL, NULL)) == NULL || mp_error(p)[0] != '\0')
		abort();
	mp_free(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_run a, b;
	const char *body = (const char *)data + 2;
	unsigned mode, stop;

	fuzz_boundary(data, size);
	fuzz_router(data, size);
	if (size < 2)
		return 0;
	mode = data[0];
	stop = data[1] < 64 ? data[1] % 20 : 0;
	fuzz_parse(&a, mode, stop, body, size - 2);
	fuzz_parse(&b, (mode & 3) == 0 ? 2 : 0, stop, body, size - 2);
	if (a.rc != b.rc || a.hash != b.hash || a.parts != b.parts ||
	    a.ends != b.ends || a.delivered != b.delivered ||
	    strcmp(a.err, b.err) != 0)
		abort();
	fuzz_reference(&a, body, size - 2);
	return 0;
}
