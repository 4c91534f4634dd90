/*
 * A streaming multipart/form-data parser (RFC 7578, RFC 2046 section 5.1)
 * for reel-httpd's uploads. It is fed the body in chunks of any size and
 * hands each part's headers and then its body to callbacks as the bytes
 * arrive; it never buffers a body.
 *
 * What it guarantees:
 *  - memory is one struct of O(MP_HEADER_MAX + MP_BOUNDARY_MAX) bytes,
 *    whatever the size of the body or of a part;
 *  - of a part's body it holds back at most boundary length + 3 bytes
 *    (what could still be the start of "\r\n--boundary"): every other byte
 *    is passed to part_data before mp_feed returns;
 *  - the callbacks see the same parts and bytes, and mp_feed fails with the
 *    same message, however the body is split into chunks;
 *  - part_begin gets a part with a non-empty name and a filename cut to its
 *    last path component (no '/' or '\'), and part_end is called only once
 *    the delimiter line after the body has been checked.
 * The callers must still sanitise the filename and bound the total size
 * (mp_fed): a preamble or epilogue costs nothing but time.
 */
#ifndef REEL_MULTIPART_H
#define REEL_MULTIPART_H

#include <stdbool.h>
#include <stddef.h>

/* limits */
#define MP_BOUNDARY_MAX 70 /* RFC 2046 */
/* One part's header block: its lines and the empty line, CRLFs included. */
#define MP_HEADER_MAX 8192
#define MP_PARTS_MAX 16
#define MP_NAME_SIZE 256 /* name and filename buffers, NUL included */
#define MP_TYPE_SIZE 128 /* content type buffer */

struct mp_part {
	/* The form field's name, from Content-Disposition; never "". */
	char name[MP_NAME_SIZE];
	/* The last path component; "" when there is no filename parameter. */
	char filename[MP_NAME_SIZE];
	bool has_filename;
	char content_type[MP_TYPE_SIZE]; /* "" when absent */
};

/*
 * Each callback may be NULL. A callback returns 0 to go on; anything else
 * stops the parser, which then fails with the message the callback set with
 * mp_set_error, else "stopped by the receiver". A callback must not call
 * mp_feed, mp_finish or mp_free on its own parser.
 */
struct mp_callbacks {
	/* A part's headers are complete. */
	int (*part_begin)(void *arg, const struct mp_part *part);
	/* Some bytes of the current part's body, in order; len > 0. */
	int (*part_data)(void *arg, const char *data, size_t len);
	/* The current part's body is complete. */
	int (*part_end)(void *arg);
};

/*
 * The boundary from a Content-Type header value such as
 * `multipart/form-data; boundary=----abc` (also quoted, other parameters
 * before or after, case-insensitive type and parameter names, optional
 * whitespace). 0, or -1 with a message in err saying what is wrong (not
 * multipart/form-data; no boundary; boundary empty, longer than
 * MP_BOUNDARY_MAX or with characters RFC 2046 forbids). size should be at
 * least MP_BOUNDARY_MAX + 1.
 */
int mp_boundary(const char *content_type, char *boundary, size_t size,
    char *err, size_t errlen);

struct mp_parser;
/*
 * NULL only on ENOMEM. A boundary mp_boundary would refuse gives a parser
 * whose every call fails with "invalid boundary".
 */
struct mp_parser *mp_new(
    const char *boundary, const struct mp_callbacks *cb, void *arg);
/*
 * Feeds the next chunk. 0, or -1 once the body is malformed or a callback
 * stopped it; after -1 every later call returns -1. Bytes after the closing
 * boundary (the epilogue) are ignored.
 */
int mp_feed(struct mp_parser *p, const char *data, size_t len);
/*
 * The body has ended: 0 when the closing boundary was seen, else -1
 * ("part 1: the body ended inside the part", "the body ended before the
 * first boundary", ...).
 */
int mp_finish(struct mp_parser *p);
/*
 * What went wrong, for the 400 response's detail, e.g. "part 2: header
 * block over 8192 bytes". "" when nothing did.
 */
const char *mp_error(const struct mp_parser *p);
/*
 * For callbacks: the reason mp_feed will give if the callback returns
 * non-zero. Ignored when the callback returns 0.
 */
void mp_set_error(struct mp_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Bytes of body fed so far, up to and including a call that failed. */
unsigned long long mp_fed(const struct mp_parser *p);
void mp_free(struct mp_parser *p);

#endif
