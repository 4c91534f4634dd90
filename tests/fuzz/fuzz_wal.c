/*
 * libFuzzer target for the journal decoder (common/wal.c), the code that
 * reads every log at start-up. The first input byte picks a mode: odd,
 * the rest is a raw log image; even, the rest becomes records behind a
 * valid header with their checksums fixed, so that deep record sequences
 * are reached, and the number of records the decoder accepts must match
 * what this file, which encodes the format on its own, put there.
 * Invariants: the valid prefix lies within the input and is exactly the
 * header plus the accepted records; parsing the prefix alone gives the
 * same records; a valid record appended to the prefix is accepted.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "wal.h"

#define RH WAL_RECORD_HEADER_SIZE

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_sum {
	const uint8_t *buf;
	size_t len;
	size_t n;
	uint64_t bytes;
	uint32_t hash;
};

static void
fuzz_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static uint32_t
fuzz_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void
fuzz_header(uint8_t *h)
{
	memcpy(h, "REELWAL", 8);
	fuzz_be32(h + 8, WAL_VERSION);
	memset(h + 12, 0, 16);
	h[23] = WAL_HEADER_SIZE;
	fuzz_be32(h + 28, (uint32_t)crc32(0L, h, 28));
}

static int
fuzz_header_ok(const uint8_t *h, size_t len)
{
	return len >= WAL_HEADER_SIZE && memcmp(h, "REELWAL", 8) == 0 &&
	       fuzz_get32(h + 8) == WAL_VERSION && fuzz_get32(h + 24) == 0 &&
	       fuzz_get32(h + 28) == (uint32_t)crc32(0L, h, 28);
}

static void
fuzz_record_crc(uint8_t *p, uint32_t len)
{
	fuzz_be32(p + 8, (uint32_t)crc32(crc32(0L, p, 8), p + RH, len));
}

static int
fuzz_sum_fn(void *arg, unsigned type, const void *data, size_t len, char *err,
    size_t errlen)
{
	struct fuzz_sum *s = arg;
	const uint8_t *d = data;

	(void)err;
	(void)errlen;
	if (type < 1 || type > 255 || len > WAL_RECORD_MAX || d < s->buf ||
	    d + len > s->buf + s->len)
		abort();
	s->n++;
	s->bytes += RH + len;
	s->hash = (uint32_t)crc32(s->hash, d, (uInt)len) ^ type;
	return 0;
}

static ssize_t
fuzz_parse(const uint8_t *buf, size_t len, struct fuzz_sum *s)
{
	memset(s, 0, sizeof(*s));
	s->buf = buf;
	s->len = len;
	return wal_parse(buf, len, fuzz_sum_fn, s);
}

/* The prefix plus one more valid record must parse one record further. */
static void
fuzz_extend(const uint8_t *buf, size_t valid, const struct fuzz_sum *s)
{
	struct fuzz_sum s2;
	uint8_t *img = malloc(valid + RH + 3);

	if (img == NULL)
		return;
	memcpy(img, buf, valid);
	fuzz_be32(img + valid, 3);
	memcpy(img + valid + 4, "\x2a\0\0\0", 4);
	memcpy(img + valid + RH, "abc", 3);
	fuzz_record_crc(img + valid, 3);
	if (fuzz_parse(img, valid + RH + 3, &s2) != (ssize_t)(valid + RH + 3) ||
	    s2.n != s->n + 1)
		abort();
	free(img);
}

static void
fuzz_check(const uint8_t *buf, size_t len, ssize_t expect_n)
{
	struct fuzz_sum s, again;
	ssize_t valid = fuzz_parse(buf, len, &s);

	if (valid == -1) {
		if (errno != EINVAL || fuzz_header_ok(buf, len))
			abort();
		return;
	}
	if (!fuzz_header_ok(buf, len) || (size_t)valid > len ||
	    (uint64_t)valid != WAL_HEADER_SIZE + s.bytes)
		abort();
	if (expect_n >= 0 && s.n != (size_t)expect_n)
		abort();
	if (fuzz_parse(buf, (size_t)valid, &again) != valid || again.n != s.n ||
	    again.hash != s.hash)
		abort();
	fuzz_extend(buf, (size_t)valid, &s);
}

/*
 * Lays in out behind a header and fixes each record's checksum; lengths
 * are folded so most records fit and some run past the end (torn).
 * Returns how many records the format says are valid.
 */
static ssize_t
fuzz_build(const uint8_t *in, size_t inlen, uint8_t *out)
{
	size_t off = WAL_HEADER_SIZE, avail;
	ssize_t valid = 0;
	bool counting = true;
	uint32_t len;

	fuzz_header(out);
	memcpy(out + off, in, inlen);
	while ((avail = WAL_HEADER_SIZE + inlen - off) >= RH) {
		len = fuzz_get32(out + off) % (uint32_t)(avail - RH + 9);
		fuzz_be32(out + off, len);
		if (len > avail - RH)
			break;
		fuzz_record_crc(out + off, len);
		counting = counting && out[off + 4] != 0 && out[off + 5] == 0 &&
			   out[off + 6] == 0 && out[off + 7] == 0;
		valid += counting;
		off += RH + len;
	}
	return valid;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *img;
	ssize_t n;

	if (size == 0)
		return 0;
	if (data[0] & 1) {
		fuzz_check(data + 1, size - 1, -1);
		return 0;
	}
	if ((img = malloc(WAL_HEADER_SIZE + size - 1)) == NULL)
		return 0;
	n = fuzz_build(data + 1, size - 1, img);
	fuzz_check(img, WAL_HEADER_SIZE + size - 1, n);
	free(img);
	return 0;
}
