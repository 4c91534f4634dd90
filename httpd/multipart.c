/*
 * multipart/form-data as a byte stream. The body is one state machine over
 * its bytes, so a chunk may end anywhere, and the result does not depend on
 * where chunks end.
 *
 * Delimiters ("\r\n--boundary") are found with a count of how many bytes
 * of the delimiter the stream seen so far ends with. Those bytes are held
 * back from part_data; as they equal a prefix of the delimiter, they need
 * no buffer: a mismatch passes that prefix on from the delimiter string.
 * Part headers are read one line at a time into a buffer of MP_HEADER_MAX
 * bytes, the bound of a whole header block.
 *
 * The parser owns no memory but its struct, holds no part body, and never
 * calls a callback after one has refused or after an error.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "multipart.h"
#include "util.h"

#define MP_ERR_SIZE 256
/* "\r\n--" and the boundary. */
#define MP_DELIM_MAX (4 + MP_BOUNDARY_MAX)
/* Parameter names we look for are short; longer ones match nothing. */
#define MP_PARAM_SIZE 32

enum mp_state {
	MP_PREAMBLE, /* before the first delimiter: skipped */
	MP_DELIM,    /* right after a delimiter */
	MP_PADDING,  /* linear whitespace after a delimiter */
	MP_DELIM_LF, /* the CR that ends a delimiter line */
	MP_CLOSE,    /* one '-' after a delimiter */
	MP_HEADERS,
	MP_BODY,
	MP_EPILOGUE, /* after the closing delimiter: skipped */
	MP_FAILED,
};

struct mp_parser {
	struct mp_callbacks cb;
	void *arg;
	enum mp_state state;
	unsigned long long fed;
	unsigned nparts; /* parts begun, so the current part's number */

	char delim[MP_DELIM_MAX + 1];
	size_t dlen;
	size_t held; /* the stream ends with delim[0..held) */

	struct mp_part part;
	bool has_name;
	bool seen_disposition;
	bool seen_type;
	bool cr;       /* the header byte before was a CR */
	size_t hdrlen; /* bytes of the current header block so far */
	size_t linelen;
	char line[MP_HEADER_MAX + 1];

	char err[MP_ERR_SIZE];
	char cb_err[MP_ERR_SIZE];
};

static int mp_fail(struct mp_parser *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static int
mp_fail(struct mp_parser *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->err, sizeof(p->err), fmt, ap);
	va_end(ap);
	p->state = MP_FAILED;
	return -1;
}

/* After a callback: its refusal becomes the parser's error. */
static int
mp_callback_rc(struct mp_parser *p, int rc)
{
	if (rc == 0) {
		p->cb_err[0] = '\0';
		return 0;
	}
	str_copy(p->err,
	    p->cb_err[0] != '\0' ? p->cb_err : "stopped by the receiver",
	    sizeof(p->err));
	p->state = MP_FAILED;
	return -1;
}

static int
mp_data(struct mp_parser *p, const char *data, size_t len)
{
	if (len == 0 || p->cb.part_data == NULL)
		return 0;
	return mp_callback_rc(p, p->cb.part_data(p->arg, data, len));
}

static int
mp_part_end(struct mp_parser *p)
{
	if (p->nparts == 0 || p->cb.part_end == NULL)
		return 0;
	return mp_callback_rc(p, p->cb.part_end(p->arg));
}

/* Whether the n bytes at s are word (lower case) in any case, in ASCII. */
static bool
mp_ieqn(const char *s, size_t n, const char *word)
{
	size_t i;

	if (strlen(word) != n)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char a = (unsigned char)s[i],
			      b = (unsigned char)word[i];

		if (a >= 'A' && a <= 'Z')
			a += 'a' - 'A';
		if (a != b)
			return false;
	}
	return true;
}

static bool
mp_ieq(const char *s, const char *word)
{
	return mp_ieqn(s, strlen(s), word);
}

/* RFC 2045's token: printable ASCII but tspecials. */
static bool
mp_tokenchar(char c)
{
	unsigned char u = (unsigned char)c;

	return u > 0x20 && u < 0x7f && strchr("()<>@,;:\\\"/[]?=", u) == NULL;
}

/* RFC 2046's bchars. */
static bool
mp_bchar(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z') ||
	       (c != '\0' && strchr("'()+_,-./:=? ", c) != NULL);
}

/* Why boundary b of n bytes is refused, or NULL. */
static const char *
mp_check_boundary(const char *b, size_t n)
{
	size_t i;

	if (n == 0)
		return "empty boundary";
	if (n > MP_BOUNDARY_MAX)
		return "boundary over 70 characters";
	for (i = 0; i < n; i++)
		if (!mp_bchar(b[i]))
			return "boundary has a character RFC 2046 forbids";
	if (b[n - 1] == ' ')
		return "boundary ends in a space, which RFC 2046 forbids";
	return NULL;
}

static const char *
mp_skip_ows(const char *s)
{
	return s + strspn(s, " \t");
}

/*
 * The name of the next `; name=value` parameter at *sp, leaving *sp at its
 * value: 1, or 0 at the end of the header value, -1 if malformed.
 */
static int
mp_param_name(const char **sp, char *name, size_t size)
{
	const char *s = mp_skip_ows(*sp), *start;
	size_t n;

	if (*s == '\0')
		return 0;
	if (*s != ';')
		return -1;
	s = mp_skip_ows(s + 1);
	if (*s == '\0')
		return 0;
	for (start = s; mp_tokenchar(*s); s++)
		;
	if ((n = (size_t)(s - start)) == 0)
		return -1;
	name[0] = '\0';
	if (n < size) {
		memcpy(name, start, n);
		name[n] = '\0';
	}
	s = mp_skip_ows(s);
	if (*s != '=')
		return -1;
	*sp = mp_skip_ows(s + 1);
	return 1;
}

/*
 * A parameter value at *sp, a token or a quoted-string, decoded into out
 * (size 0: skipped). With basename, only what follows the last '/' or '\'
 * is kept. 0, -1 if malformed, -2 if it does not fit.
 */
static int
mp_param_value(const char **sp, char *out, size_t size, bool basename)
{
	const char *s = *sp;
	bool quoted = *s == '"', over = false;
	size_t n = 0;
	char c;

	for (s += quoted;; s++) {
		c = *s;
		if (quoted && (c == '"' || c == '\0'))
			break;
		if (!quoted && !mp_tokenchar(c))
			break;
		/*
		 * Only \" and \\ are escapes: browsers and curl send other
		 * backslashes as they are (MSIE's "C:\dir\x.mp4").
		 */
		if (quoted && c == '\\' && (s[1] == '"' || s[1] == '\\'))
			c = *++s;
		if (basename && (c == '/' || c == '\\')) {
			n = 0;
			over = false;
		} else if (n + 1 < size) {
			out[n++] = c;
		} else {
			over = true;
		}
	}
	if (quoted ? *s++ != '"' : s == *sp)
		return -1;
	if (size > 0)
		out[n] = '\0';
	*sp = s;
	return over && size > 0 ? -2 : 0;
}

static int
mp_berr(char *err, size_t errlen, const char *msg)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", msg);
	return -1;
}

/*
 * Finds the boundary among Content-Type's parameters at s and decodes it
 * into b: NULL, or why it could not.
 */
static const char *
mp_boundary_params(const char *s, char *b, size_t size)
{
	char pname[MP_PARAM_SIZE];
	bool found = false;
	int rc;

	while ((rc = mp_param_name(&s, pname, sizeof(pname))) == 1) {
		if (!mp_ieq(pname, "boundary")) {
			rc = mp_param_value(&s, NULL, 0, false);
		} else if (found) {
			return "two boundary parameters in Content-Type";
		} else if (*s == '\0' || *s == ';') {
			return "empty boundary";
		} else {
			rc = mp_param_value(&s, b, size, false);
			found = true;
		}
		if (rc == -2)
			return "boundary over 70 characters";
		if (rc == -1)
			break;
	}
	if (rc == -1)
		return "malformed Content-Type parameters";
	return found ? NULL : "no boundary in Content-Type";
}

int
mp_boundary(const char *content_type, char *boundary, size_t size, char *err,
    size_t errlen)
{
	char b[MP_BOUNDARY_MAX + 2];
	const char *s, *why;
	size_t n;

	if (content_type == NULL)
		return mp_berr(err, errlen, "no Content-Type");
	s = mp_skip_ows(content_type);
	n = strcspn(s, "; \t");
	if (!mp_ieqn(s, n, "multipart/form-data"))
		return mp_berr(
		    err, errlen, "Content-Type is not multipart/form-data");
	if ((why = mp_boundary_params(s + n, b, sizeof(b))) != NULL ||
	    (why = mp_check_boundary(b, strlen(b))) != NULL)
		return mp_berr(err, errlen, why);
	if (str_copy(boundary, b, size) == -1)
		return mp_berr(err, errlen, "boundary buffer too small");
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	return 0;
}

struct mp_parser *
mp_new(const char *boundary, const struct mp_callbacks *cb, void *arg)
{
	struct mp_parser *p;
	size_t n;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	if (cb != NULL)
		p->cb = *cb;
	p->arg = arg;
	n = boundary == NULL ? 0 : strnlen(boundary, MP_BOUNDARY_MAX + 1);
	if (mp_check_boundary(boundary, n) != NULL) {
		mp_fail(p, "invalid boundary");
		return p;
	}
	memcpy(p->delim, "\r\n--", 4);
	memcpy(p->delim + 4, boundary, n);
	p->dlen = 4 + n;
	/*
	 * As if the body began with a CRLF: only at the very start may the
	 * delimiter lack its own.
	 */
	p->held = 2;
	p->state = MP_PREAMBLE;
	return p;
}

/*
 * Advances the delimiter match over data, stopping after a whole
 * delimiter. Returns how many bytes of data that took.
 */
static size_t
mp_match(struct mp_parser *p, const char *data, size_t len)
{
	const char *cr;
	size_t i = 0;

	while (i < len && p->held < p->dlen) {
		if (p->held == 0) {
			if ((cr = memchr(data + i, '\r', len - i)) == NULL)
				return len;
			i = (size_t)(cr - data);
		}
		/*
		 * The delimiter has a CR only at its start, so after a
		 * mismatch only this byte can begin another match.
		 */
		if (data[i] == p->delim[p->held])
			p->held++;
		else
			p->held = data[i] == '\r';
		i++;
	}
	return i;
}

/* Preamble or body: delivers every byte that cannot be the delimiter. */
static int
mp_scan(struct mp_parser *p, const char *data, size_t len, size_t *used)
{
	size_t carried = p->held, n;

	*used = mp_match(p, data, len);
	/*
	 * Undelivered are the prefix carried from the chunks before and
	 * data[0..*used); all but the last held go out. A mismatch ends a
	 * carried match, so n > 0 means n >= carried.
	 */
	n = carried + *used - p->held;
	if (p->state == MP_BODY && n > 0 &&
	    (mp_data(p, p->delim, carried) == -1 ||
		mp_data(p, data, n - carried) == -1))
		return -1;
	if (p->held == p->dlen) {
		p->held = 0;
		p->state = MP_DELIM;
	}
	return 0;
}

static int
mp_next_part(struct mp_parser *p)
{
	if (mp_part_end(p) == -1)
		return -1;
	if (++p->nparts > MP_PARTS_MAX)
		return mp_fail(
		    p, "part %u: more than %d parts", p->nparts, MP_PARTS_MAX);
	memset(&p->part, 0, sizeof(p->part));
	p->has_name = p->seen_disposition = p->seen_type = p->cr = false;
	p->hdrlen = p->linelen = 0;
	p->state = MP_HEADERS;
	return 0;
}

/* One byte of the line after a delimiter: "--", or padding and CRLF. */
static int
mp_delim_byte(struct mp_parser *p, char c)
{
	switch (p->state) {
	case MP_DELIM:
		if (c == '-') {
			p->state = MP_CLOSE;
			return 0;
		}
		/* FALLTHROUGH */
	case MP_PADDING:
		if (c == ' ' || c == '\t') {
			p->state = MP_PADDING;
			return 0;
		}
		if (c == '\r') {
			p->state = MP_DELIM_LF;
			return 0;
		}
		break;
	case MP_DELIM_LF:
		if (c == '\n')
			return mp_next_part(p);
		break;
	default: /* MP_CLOSE */
		if (c == '-') {
			p->state = MP_EPILOGUE;
			return mp_part_end(p);
		}
		break;
	}
	if (p->nparts == 0)
		return mp_fail(p, "the first boundary is followed by neither "
				  "CRLF nor \"--\"");
	return mp_fail(p,
	    "after part %u: the boundary is followed by neither CRLF nor "
	    "\"--\"",
	    p->nparts);
}

static int
mp_content_type(struct mp_parser *p, const char *value)
{
	if (p->seen_type)
		return mp_fail(
		    p, "part %u: two Content-Type headers", p->nparts);
	p->seen_type = true;
	if (str_copy(p->part.content_type, value, MP_TYPE_SIZE) == -1)
		return mp_fail(p, "part %u: Content-Type over %d bytes",
		    p->nparts, MP_TYPE_SIZE - 1);
	return 0;
}

/* The value of Content-Disposition parameter pname, at *sp. */
static int
mp_disposition_param(struct mp_parser *p, const char *pname, const char **sp)
{
	bool is_name = mp_ieq(pname, "name");
	bool is_file = mp_ieq(pname, "filename");
	bool *seen = is_name ? &p->has_name : &p->part.has_filename;
	const char *what = is_name ? "name" : "filename";
	int rc;

	if (!is_name && !is_file) /* filename* among others */
		rc = mp_param_value(sp, NULL, 0, false);
	else if (*seen)
		return mp_fail(
		    p, "part %u: two %s parameters", p->nparts, what);
	else
		rc = mp_param_value(sp,
		    is_name ? p->part.name : p->part.filename, MP_NAME_SIZE,
		    is_file);
	if (rc == -1)
		return mp_fail(
		    p, "part %u: malformed Content-Disposition", p->nparts);
	if (rc == -2)
		return mp_fail(p, "part %u: %s over %d bytes", p->nparts, what,
		    MP_NAME_SIZE - 1);
	if (is_name || is_file)
		*seen = true;
	return 0;
}

static int
mp_disposition(struct mp_parser *p, const char *value)
{
	char pname[MP_PARAM_SIZE];
	const char *s = value;
	int rc;

	if (p->seen_disposition)
		return mp_fail(
		    p, "part %u: two Content-Disposition headers", p->nparts);
	p->seen_disposition = true;
	while (mp_tokenchar(*s))
		s++;
	if (!mp_ieqn(value, (size_t)(s - value), "form-data"))
		return mp_fail(p,
		    "part %u: Content-Disposition is not form-data", p->nparts);
	while ((rc = mp_param_name(&s, pname, sizeof(pname))) == 1)
		if (mp_disposition_param(p, pname, &s) == -1)
			return -1;
	if (rc == -1)
		return mp_fail(
		    p, "part %u: malformed Content-Disposition", p->nparts);
	return 0;
}

static int
mp_headers_end(struct mp_parser *p)
{
	/* Checked only now, so a folded line is refused as such. */
	if (!p->seen_disposition)
		return mp_fail(
		    p, "part %u: no Content-Disposition header", p->nparts);
	if (!p->has_name)
		return mp_fail(
		    p, "part %u: Content-Disposition has no name", p->nparts);
	if (p->part.name[0] == '\0')
		return mp_fail(p, "part %u: empty name", p->nparts);
	p->state = MP_BODY;
	p->held = 0;
	if (p->cb.part_begin == NULL)
		return 0;
	return mp_callback_rc(p, p->cb.part_begin(p->arg, &p->part));
}

/* A whole header line, its CRLF cut off; the empty one ends the block. */
static int
mp_header_line(struct mp_parser *p)
{
	char *line = p->line, *colon, *value, *end;

	line[p->linelen] = '\0';
	if (p->linelen == 0)
		return mp_headers_end(p);
	p->linelen = 0;
	if (line[0] == ' ' || line[0] == '\t')
		return mp_fail(p,
		    "part %u: folded header lines are not supported",
		    p->nparts);
	for (colon = line; mp_tokenchar(*colon); colon++)
		;
	if (colon == line || *colon != ':')
		return mp_fail(p, "part %u: malformed header line", p->nparts);
	*colon = '\0';
	value = colon + 1 + strspn(colon + 1, " \t");
	for (end = value + strlen(value);
	     end > value && (end[-1] == ' ' || end[-1] == '\t'); end--)
		;
	*end = '\0';
	if (mp_ieq(line, "content-disposition"))
		return mp_disposition(p, value);
	if (mp_ieq(line, "content-type"))
		return mp_content_type(p, value);
	return 0;
}

/* One byte of a part's header block. */
static int
mp_header_byte(struct mp_parser *p, unsigned char c)
{
	if (++p->hdrlen > MP_HEADER_MAX)
		return mp_fail(p, "part %u: header block over %d bytes",
		    p->nparts, MP_HEADER_MAX);
	if (p->cr) {
		if (c != '\n')
			return mp_fail(p,
			    "part %u: CR without LF in the headers", p->nparts);
		p->cr = false;
		return mp_header_line(p);
	}
	if (c == '\r') {
		p->cr = true;
		return 0;
	}
	if (c == '\0')
		return mp_fail(
		    p, "part %u: NUL byte in the headers", p->nparts);
	if (c == '\n')
		return mp_fail(
		    p, "part %u: LF without CR in the headers", p->nparts);
	if ((c < 0x20 && c != '\t') || c == 0x7f)
		return mp_fail(p, "part %u: control byte 0x%02x in the headers",
		    p->nparts, c);
	p->line[p->linelen++] = (char)c;
	return 0;
}

static int
mp_headers(struct mp_parser *p, const char *data, size_t len, size_t *used)
{
	size_t i;

	for (i = 0; i < len && p->state == MP_HEADERS; i++)
		if (mp_header_byte(p, (unsigned char)data[i]) == -1)
			return -1;
	*used = i;
	return 0;
}

/* Consumes some of data (*used > 0) in the current state. */
static int
mp_step(struct mp_parser *p, const char *data, size_t len, size_t *used)
{
	switch (p->state) {
	case MP_PREAMBLE:
	case MP_BODY:
		return mp_scan(p, data, len, used);
	case MP_HEADERS:
		return mp_headers(p, data, len, used);
	case MP_EPILOGUE:
		*used = len;
		return 0;
	default:
		*used = 1;
		return mp_delim_byte(p, data[0]);
	}
}

int
mp_feed(struct mp_parser *p, const char *data, size_t len)
{
	size_t used;

	if (p->state == MP_FAILED)
		return -1;
	p->fed += len;
	while (len > 0) {
		if (mp_step(p, data, len, &used) == -1)
			return -1;
		data += used;
		len -= used;
	}
	return 0;
}

int
mp_finish(struct mp_parser *p)
{
	switch (p->state) {
	case MP_EPILOGUE:
		return 0;
	case MP_FAILED:
		return -1;
	case MP_PREAMBLE:
		return mp_fail(p, "%s",
		    p->fed == 0 ? "the body is empty"
				: "the body ended before the first boundary");
	case MP_HEADERS:
		return mp_fail(
		    p, "part %u: the body ended inside the headers", p->nparts);
	case MP_BODY:
		return mp_fail(
		    p, "part %u: the body ended inside the part", p->nparts);
	default:
		return mp_fail(p, "the body ended after a boundary, before "
				  "the closing \"--\"");
	}
}

const char *
mp_error(const struct mp_parser *p)
{
	return p->err;
}

void
mp_set_error(struct mp_parser *p, const char *fmt, ...)
{
	va_list ap;

	if (p == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(p->cb_err, sizeof(p->cb_err), fmt, ap);
	va_end(ap);
}

unsigned long long
mp_fed(const struct mp_parser *p)
{
	return p->fed;
}

void
mp_free(struct mp_parser *p)
{
	free(p);
}
