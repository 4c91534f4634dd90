/*
 * The message catalogue in code: one field table per message type, and a
 * generic encoder and strict decoder driven by those tables. The catalogue
 * is generated from msg.def, so a type added there without a field table
 * does not compile.
 *
 * Guarantees: msg_encode only produces frames that msg_decode accepts (it
 * refuses what the decoder would refuse), and msg_decode never lets a frame
 * make msgpack-c allocate for elements the frame does not contain. Nothing
 * here does I/O.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "jsonmp.h"
#include "log.h"
#include "msg.h"

#define MSG_NITEMS(a) (sizeof(a) / sizeof((a)[0]))
#define MSG_FIELDS_MAX 12
/* msgpack-c refuses more nested non-empty containers than this. */
#define MSG_SCAN_DEPTH 32

enum field_kind {
	F_STR,
	F_BOOL,
	F_U32,
	F_I32,
	F_CONFIG,
	F_JSON,
	/* RESPONSE's {code, detail}: required exactly when success is false. */
	F_ERROR,
};

struct field {
	const char *name;
	enum field_kind kind;
	bool required;
	size_t off;
	size_t size;
	uint32_t max;
};

struct msg_info {
	enum msg_type type;
	const char *name;
	unsigned dir;
	const struct field *fields;
	size_t nfields;
};

#define REQ true
#define OPT false
#define FMEMBER(t, m) \
	offsetof(struct msg, u.t.m), sizeof(((struct msg *)0)->u.t.m)
#define FSTR(t, m, req) #m, F_STR, req, FMEMBER(t, m), 0
#define FBOOL(t, m, req) #m, F_BOOL, req, FMEMBER(t, m), 0
#define FU32(t, m, req, max) #m, F_U32, req, FMEMBER(t, m), max
#define FI32(t, m, req) #m, F_I32, req, FMEMBER(t, m), 0
#define FCONFIG(t) "config", F_CONFIG, OPT, FMEMBER(t, config), 0
#define FJSON(t, m) #m, F_JSON, OPT, FMEMBER(t, m), 0
#define FERROR(t) "error", F_ERROR, OPT, offsetof(struct msg, u.t), 0, 0

static const struct field fields_UPLOAD[] = {
    {FSTR(upload, filename, REQ)},
};
static const struct field fields_SUBMIT[] = {
    {FSTR(submit, video_id, REQ)},
    {FSTR(submit, template_id, OPT)},
    {FBOOL(submit, template_only, OPT)},
    {FSTR(submit, webhook_url, OPT)},
    {FCONFIG(submit)},
};
static const struct field fields_STATUS[] = {
    {FSTR(job_ref, job_id, REQ)},
};
static const struct field fields_LIST[] = {
    {FSTR(list, status, OPT)},
    {FU32(list, page, OPT, UINT32_MAX)},
    {FU32(list, page_size, OPT, UINT32_MAX)},
};
static const struct field fields_CANCEL[] = {
    {FSTR(job_ref, job_id, REQ)},
};
static const struct field fields_RESULT[] = {
    {FSTR(result, job_id, REQ)},
    {FSTR(result, artifact, OPT)},
};
static const struct field fields_WEBHOOKS[] = {
    {FSTR(job_ref, job_id, REQ)},
};
static const struct field fields_REDELIVER[] = {
    {FSTR(job_ref, job_id, REQ)},
};
static const struct field fields_IDENTIFY[] = {
    {FSTR(identify, user, REQ)},
    {FBOOL(identify, admin, OPT)},
};
static const struct field fields_RESPONSE[] = {
    {FBOOL(response, success, REQ)},
    {FSTR(response, message, OPT)},
    {FJSON(response, data)},
    {FERROR(response)},
};
static const struct field fields_JOB_START[] = {
    {FSTR(job_start, job_id, REQ)},
    {FU32(job_start, gen, REQ, UINT32_MAX)},
    {FSTR(job_start, stage, REQ)},
    {FSTR(job_start, job_dir, REQ)},
    {FSTR(job_start, source, OPT)},
    {FSTR(job_start, template_path, OPT)},
    {FBOOL(job_start, template_only, OPT)},
    {FCONFIG(job_start)},
};
static const struct field fields_HELLO[] = {
    {FU32(hello, gen, REQ, UINT32_MAX)},
    {FI32(hello, pid, REQ)},
};
static const struct field fields_PROGRESS[] = {
    {FU32(progress, gen, REQ, UINT32_MAX)},
    {FU32(progress, permille, REQ, 1000)},
};
static const struct field fields_STAGE_DONE[] = {
    {FU32(stage_done, gen, REQ, UINT32_MAX)},
    {FJSON(stage_done, result)},
    {FU32(stage_done, peak_rss_kb, OPT, UINT32_MAX)},
};
static const struct field fields_STAGE_FAIL[] = {
    {FU32(stage_fail, gen, REQ, UINT32_MAX)},
    {FSTR(stage_fail, message, REQ)},
    {FU32(stage_fail, peak_rss_kb, OPT, UINT32_MAX)},
};

#define MSG(name, number, dir)                                      \
	_Static_assert(MSG_NITEMS(fields_##name) <= MSG_FIELDS_MAX, \
	    #name " has too many fields");
#include "msg.def"
#undef MSG

static const struct msg_info msg_catalogue[] = {
#define MSG(name, number, dir) \
	{MSG_##name, #name, dir, fields_##name, MSG_NITEMS(fields_##name)},
#include "msg.def"
#undef MSG
};

static const struct msg_info *
msg_info_find(long long type)
{
	size_t i;

	for (i = 0; i < MSG_NITEMS(msg_catalogue); i++) {
		if (msg_catalogue[i].type == type)
			return &msg_catalogue[i];
	}
	return NULL;
}

void
msg_init(struct msg *m, enum msg_type type)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->fd = -1;
}

void
msg_clear(struct msg *m)
{
	const struct msg_info *mi = msg_info_find(m->type);
	json_t **slot;
	size_t i;

	if (mi == NULL)
		return;
	for (i = 0; i < mi->nfields; i++) {
		if (mi->fields[i].kind != F_JSON)
			continue;
		slot = (json_t **)((char *)m + mi->fields[i].off);
		json_decref(*slot);
		*slot = NULL;
	}
}

const char *
msg_type_name(int type)
{
	const struct msg_info *mi = msg_info_find(type);

	return mi != NULL ? mi->name : "unknown";
}

unsigned
msg_type_dir(int type)
{
	const struct msg_info *mi = msg_info_find(type);

	return mi != NULL ? mi->dir : 0;
}

static int LOG_PRINTF(3, 4)
    msg_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Encoding. */

static int
msg_pack_cstr(msgpack_packer *pk, const char *s)
{
	size_t len = strlen(s);

	if (msgpack_pack_str(pk, len) != 0 ||
	    msgpack_pack_str_body(pk, s, len) != 0)
		return -1;
	return 0;
}

/* A buffer string; one that fills its buffer is unterminated. */
static int
msg_pack_buf(msgpack_packer *pk, const char *s, size_t size)
{
	size_t len = strnlen(s, size);

	if (len == size) {
		errno = EINVAL;
		return -1;
	}
	if (msgpack_pack_str(pk, len) != 0 ||
	    msgpack_pack_str_body(pk, s, len) != 0)
		return -1;
	return 0;
}

/* Whether the decoder would refuse c: too many pairs or a repeated key. */
static bool
msg_config_bad(const struct msg_config *c)
{
	unsigned i, j;

	if (c->count > MSG_CONFIG_MAX)
		return true;
	for (i = 0; i < c->count; i++) {
		for (j = 0; j < i; j++) {
			if (strncmp(c->kv[i].key, c->kv[j].key,
				sizeof(c->kv[i].key)) == 0)
				return true;
		}
	}
	return false;
}

static int
msg_pack_config(msgpack_packer *pk, const struct msg_config *c)
{
	unsigned i;

	if (msg_config_bad(c)) {
		errno = EINVAL;
		return -1;
	}
	if (msgpack_pack_map(pk, c->count) != 0)
		return -1;
	for (i = 0; i < c->count; i++) {
		if (msg_pack_buf(pk, c->kv[i].key, sizeof(c->kv[i].key)) != 0 ||
		    msg_pack_buf(pk, c->kv[i].value, sizeof(c->kv[i].value)) !=
			0)
			return -1;
	}
	return 0;
}

static int
msg_pack_error(msgpack_packer *pk, const struct msg_response *r)
{
	bool detail = r->error_detail[0] != '\0';

	if (msgpack_pack_map(pk, detail ? 2 : 1) != 0 ||
	    msg_pack_cstr(pk, "code") != 0 ||
	    msg_pack_buf(pk, r->error_code, sizeof(r->error_code)) != 0)
		return -1;
	if (detail && (msg_pack_cstr(pk, "detail") != 0 ||
			  msg_pack_buf(pk, r->error_detail,
			      sizeof(r->error_detail)) != 0))
		return -1;
	return 0;
}

static bool
msg_field_present(const struct field *f, const struct msg *m)
{
	const char *p = (const char *)m + f->off;

	switch (f->kind) {
	case F_STR:
		return f->required || p[0] != '\0';
	case F_BOOL:
		return f->required || *(const bool *)p;
	case F_U32:
		return f->required || *(const uint32_t *)p != 0;
	case F_I32:
		return f->required || *(const int32_t *)p != 0;
	case F_CONFIG:
		return ((const struct msg_config *)p)->count > 0;
	case F_JSON:
		return *(json_t *const *)p != NULL;
	case F_ERROR:
		return !((const struct msg_response *)p)->success;
	}
	return false;
}

static int
msg_pack_field(msgpack_packer *pk, const struct field *f, const struct msg *m)
{
	const char *p = (const char *)m + f->off;

	switch (f->kind) {
	case F_STR:
		return msg_pack_buf(pk, p, f->size);
	case F_BOOL:
		return *(const bool *)p ? msgpack_pack_true(pk)
					: msgpack_pack_false(pk);
	case F_U32:
		if (*(const uint32_t *)p > f->max) {
			errno = EINVAL;
			return -1;
		}
		return msgpack_pack_uint32(pk, *(const uint32_t *)p);
	case F_I32:
		return msgpack_pack_int32(pk, *(const int32_t *)p);
	case F_CONFIG:
		return msg_pack_config(pk, (const struct msg_config *)p);
	case F_JSON:
		return jsonmp_pack(pk, *(json_t *const *)p);
	case F_ERROR:
		return msg_pack_error(pk, (const struct msg_response *)p);
	}
	errno = EINVAL;
	return -1;
}

static int
msg_pack_envelope(
    msgpack_packer *pk, const struct msg_info *mi, const struct msg *m)
{
	size_t i, n = m->fd >= 0 ? 3 : 2;

	for (i = 0; i < mi->nfields; i++) {
		if (msg_field_present(&mi->fields[i], m))
			n++;
	}
	if (msgpack_pack_map(pk, n) != 0 || msg_pack_cstr(pk, "v") != 0 ||
	    msgpack_pack_uint32(pk, REEL_PROTO_VERSION) != 0 ||
	    msg_pack_cstr(pk, "t") != 0 ||
	    msgpack_pack_uint32(pk, mi->type) != 0)
		return -1;
	if (m->fd >= 0 &&
	    (msg_pack_cstr(pk, "fd") != 0 || msgpack_pack_true(pk) != 0))
		return -1;
	for (i = 0; i < mi->nfields; i++) {
		if (!msg_field_present(&mi->fields[i], m))
			continue;
		if (msg_pack_cstr(pk, mi->fields[i].name) != 0 ||
		    msg_pack_field(pk, &mi->fields[i], m) != 0)
			return -1;
	}
	return 0;
}

int
msg_encode(const struct msg *m, char **out, size_t *outlen)
{
	static const char prefix[FRAME_HEADER_SIZE];
	const struct msg_info *mi = msg_info_find(m->type);
	msgpack_sbuffer sb;
	msgpack_packer pk;
	size_t body;
	int saved;

	if (mi == NULL) {
		errno = EINVAL;
		return -1;
	}
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	errno = ENOMEM;
	if (msgpack_sbuffer_write(&sb, prefix, sizeof(prefix)) != 0 ||
	    msg_pack_envelope(&pk, mi, m) != 0) {
		saved = errno;
		msgpack_sbuffer_destroy(&sb);
		errno = saved;
		return -1;
	}
	body = sb.size - FRAME_HEADER_SIZE;
	if (body > FRAME_MAX) {
		msgpack_sbuffer_destroy(&sb);
		errno = EMSGSIZE;
		return -1;
	}
	sb.data[0] = (char)(body >> 24);
	sb.data[1] = (char)(body >> 16);
	sb.data[2] = (char)(body >> 8);
	sb.data[3] = (char)body;
	*outlen = sb.size;
	*out = msgpack_sbuffer_release(&sb);
	return 0;
}

int
frame_check(
    const void *buf, size_t avail, size_t *frame_len, char *err, size_t errlen)
{
	const unsigned char *p = buf;
	uint32_t n;

	if (avail < FRAME_HEADER_SIZE)
		return 0;
	n = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
	    p[3];
	if (n == 0)
		return msg_err(err, errlen, "frame of 0 bytes");
	if (n > FRAME_MAX)
		return msg_err(err, errlen,
		    "frame of %u bytes exceeds limit %d", n, FRAME_MAX);
	if (avail - FRAME_HEADER_SIZE < n)
		return 0;
	*frame_len = FRAME_HEADER_SIZE + n;
	return 1;
}

/*
 * Scanning. msgpack-c allocates a container's elements as soon as it reads
 * the count, before it knows whether they exist; a 5-byte frame could ask
 * for gigabytes. The scan walks the raw bytes first and insists that every
 * announced element still has at least one byte left for it.
 */

enum scan_kind { SCAN_BAD, SCAN_FIXED, SCAN_BYTES, SCAN_ARRAY, SCAN_MAP };

struct scan_fmt {
	unsigned char head; /* bytes before the payload */
	unsigned char lenw; /* width of the big-endian length or count */
	unsigned char kind;
};

/* Formats 0xc0 to 0xdf; the fix* formats are decoded in msg_scan_head. */
static const struct scan_fmt scan_fmts[32] = {
    [0xc0 - 0xc0] = {1, 0, SCAN_FIXED},	 /* nil */
    [0xc1 - 0xc0] = {0, 0, SCAN_BAD},	 /* never used */
    [0xc2 - 0xc0] = {1, 0, SCAN_FIXED},	 /* false */
    [0xc3 - 0xc0] = {1, 0, SCAN_FIXED},	 /* true */
    [0xc4 - 0xc0] = {2, 1, SCAN_BYTES},	 /* bin 8 */
    [0xc5 - 0xc0] = {3, 2, SCAN_BYTES},	 /* bin 16 */
    [0xc6 - 0xc0] = {5, 4, SCAN_BYTES},	 /* bin 32 */
    [0xc7 - 0xc0] = {3, 1, SCAN_BYTES},	 /* ext 8: length, type */
    [0xc8 - 0xc0] = {4, 2, SCAN_BYTES},	 /* ext 16 */
    [0xc9 - 0xc0] = {6, 4, SCAN_BYTES},	 /* ext 32 */
    [0xca - 0xc0] = {5, 0, SCAN_FIXED},	 /* float 32 */
    [0xcb - 0xc0] = {9, 0, SCAN_FIXED},	 /* float 64 */
    [0xcc - 0xc0] = {2, 0, SCAN_FIXED},	 /* uint 8 */
    [0xcd - 0xc0] = {3, 0, SCAN_FIXED},	 /* uint 16 */
    [0xce - 0xc0] = {5, 0, SCAN_FIXED},	 /* uint 32 */
    [0xcf - 0xc0] = {9, 0, SCAN_FIXED},	 /* uint 64 */
    [0xd0 - 0xc0] = {2, 0, SCAN_FIXED},	 /* int 8 */
    [0xd1 - 0xc0] = {3, 0, SCAN_FIXED},	 /* int 16 */
    [0xd2 - 0xc0] = {5, 0, SCAN_FIXED},	 /* int 32 */
    [0xd3 - 0xc0] = {9, 0, SCAN_FIXED},	 /* int 64 */
    [0xd4 - 0xc0] = {3, 0, SCAN_FIXED},	 /* fixext 1 */
    [0xd5 - 0xc0] = {4, 0, SCAN_FIXED},	 /* fixext 2 */
    [0xd6 - 0xc0] = {6, 0, SCAN_FIXED},	 /* fixext 4 */
    [0xd7 - 0xc0] = {10, 0, SCAN_FIXED}, /* fixext 8 */
    [0xd8 - 0xc0] = {18, 0, SCAN_FIXED}, /* fixext 16 */
    [0xd9 - 0xc0] = {2, 1, SCAN_BYTES},	 /* str 8 */
    [0xda - 0xc0] = {3, 2, SCAN_BYTES},	 /* str 16 */
    [0xdb - 0xc0] = {5, 4, SCAN_BYTES},	 /* str 32 */
    [0xdc - 0xc0] = {3, 2, SCAN_ARRAY},	 /* array 16 */
    [0xdd - 0xc0] = {5, 4, SCAN_ARRAY},	 /* array 32 */
    [0xde - 0xc0] = {3, 2, SCAN_MAP},	 /* map 16 */
    [0xdf - 0xc0] = {5, 4, SCAN_MAP},	 /* map 32 */
};

/* Size of one object's head (and payload), and how many objects follow. */
static int
msg_scan_head(
    const unsigned char *p, size_t avail, uint64_t *size, uint64_t *count)
{
	struct scan_fmt f = {1, 0, SCAN_FIXED};
	uint64_t n = 0;
	unsigned i;

	if (avail == 0)
		return -1;
	if (p[0] >= 0xc0 && p[0] <= 0xdf)
		f = scan_fmts[p[0] - 0xc0];
	else if (p[0] >= 0x80 && p[0] <= 0x9f) {
		f.kind = p[0] < 0x90 ? SCAN_MAP : SCAN_ARRAY;
		n = p[0] & 0x0f;
	} else if (p[0] >= 0xa0 && p[0] <= 0xbf) {
		f.kind = SCAN_BYTES;
		n = p[0] & 0x1f;
	}
	if (f.kind == SCAN_BAD || avail < f.head)
		return -1;
	for (i = 0; i < f.lenw; i++)
		n = n << 8 | p[1 + i];
	*size = f.head + (f.kind == SCAN_BYTES ? n : 0);
	*count = f.kind == SCAN_MAP ? 2 * n : f.kind == SCAN_ARRAY ? n : 0;
	return *size <= avail ? 0 : -1;
}

static int
msg_scan(
    const unsigned char *p, size_t len, size_t *used, char *err, size_t errlen)
{
	uint64_t rem[MSG_SCAN_DEPTH + 1], pending = 1, size, count;
	size_t pos = 0;
	int d = 0;

	rem[0] = 1;
	while (d >= 0) {
		if (rem[d] == 0) {
			d--;
			continue;
		}
		rem[d]--;
		pending--;
		if (msg_scan_head(p + pos, len - pos, &size, &count) != 0)
			return msg_err(err, errlen,
			    "bad or truncated msgpack at byte %zu", pos);
		pos += size;
		if (count == 0)
			continue;
		if (d == MSG_SCAN_DEPTH)
			return msg_err(err, errlen,
			    "msgpack nested deeper than %d", MSG_SCAN_DEPTH);
		pending += count;
		if (pending > len - pos)
			return msg_err(err, errlen,
			    "msgpack container at byte %zu announces more "
			    "elements than the frame holds",
			    pos - size);
		rem[++d] = count;
	}
	*used = pos;
	return 0;
}

/* Decoding. */

static bool
msg_key_is(const msgpack_object *key, const char *name)
{
	size_t len = strlen(name);

	return key->type == MSGPACK_OBJECT_STR && key->via.str.size == len &&
	       memcmp(key->via.str.ptr, name, len) == 0;
}

static int
msg_get_str(
    const msgpack_object *o, char *dst, size_t size, char *what, size_t wlen)
{
	if (o->type != MSGPACK_OBJECT_STR)
		return msg_err(what, wlen, "expected string");
	if (o->via.str.size >= size)
		return msg_err(what, wlen,
		    "string of %u bytes exceeds limit %zu", o->via.str.size,
		    size - 1);
	/* msgpack-c may give an empty string a NULL pointer. */
	if (o->via.str.size > 0 &&
	    memchr(o->via.str.ptr, '\0', o->via.str.size) != NULL)
		return msg_err(what, wlen, "string contains a NUL byte");
	if (o->via.str.size > 0)
		memcpy(dst, o->via.str.ptr, o->via.str.size);
	dst[o->via.str.size] = '\0';
	return 0;
}

static int
msg_get_u32(const msgpack_object *o, uint32_t *dst, uint32_t max, char *what,
    size_t wlen)
{
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		return msg_err(what, wlen, "%lld out of range 0..%u",
		    (long long)o->via.i64, max);
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return msg_err(what, wlen, "expected integer");
	if (o->via.u64 > max)
		return msg_err(what, wlen, "%llu out of range 0..%u",
		    (unsigned long long)o->via.u64, max);
	*dst = (uint32_t)o->via.u64;
	return 0;
}

static int
msg_get_i32(const msgpack_object *o, int32_t *dst, char *what, size_t wlen)
{
	bool neg = o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER;

	if (!neg && o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return msg_err(what, wlen, "expected integer");
	if (neg ? o->via.i64 < INT32_MIN : o->via.u64 > INT32_MAX)
		return msg_err(what, wlen, "out of the 32-bit signed range");
	*dst = neg ? (int32_t)o->via.i64 : (int32_t)o->via.u64;
	return 0;
}

static int
msg_get_bool(const msgpack_object *o, bool *dst, char *what, size_t wlen)
{
	if (o->type != MSGPACK_OBJECT_BOOLEAN)
		return msg_err(what, wlen, "expected boolean");
	*dst = o->via.boolean;
	return 0;
}

static int
msg_get_config_pair(
    const msgpack_object_kv *kv, struct msg_config *c, char *what, size_t wlen)
{
	char sub[96];
	unsigned i = c->count;

	if (msg_get_str(&kv->key, c->kv[i].key, sizeof(c->kv[i].key), sub,
		sizeof(sub)) != 0)
		return msg_err(what, wlen, "key %u: %s", i, sub);
	if (msg_get_str(&kv->val, c->kv[i].value, sizeof(c->kv[i].value), sub,
		sizeof(sub)) != 0)
		return msg_err(
		    what, wlen, "value of \"%s\": %s", c->kv[i].key, sub);
	for (i = 0; i < c->count; i++) {
		if (strcmp(c->kv[i].key, c->kv[c->count].key) == 0)
			return msg_err(
			    what, wlen, "duplicate key \"%s\"", c->kv[i].key);
	}
	c->count++;
	return 0;
}

static int
msg_get_config(
    const msgpack_object *o, struct msg_config *c, char *what, size_t wlen)
{
	uint32_t i;

	if (o->type != MSGPACK_OBJECT_MAP)
		return msg_err(what, wlen, "expected map");
	if (o->via.map.size > MSG_CONFIG_MAX)
		return msg_err(what, wlen, "%u pairs exceed limit %d",
		    o->via.map.size, MSG_CONFIG_MAX);
	for (i = 0; i < o->via.map.size; i++) {
		if (msg_get_config_pair(&o->via.map.ptr[i], c, what, wlen) != 0)
			return -1;
	}
	return 0;
}

static int
msg_get_json(const msgpack_object *o, json_t **dst, char *what, size_t wlen)
{
	if ((*dst = jsonmp_unpack(o, what, wlen)) == NULL)
		return -1;
	return 0;
}

static int
msg_get_error(
    const msgpack_object *o, struct msg_response *r, char *what, size_t wlen)
{
	const msgpack_object *code = NULL, *detail = NULL, *k;
	char sub[96];
	uint32_t i;

	if (o->type != MSGPACK_OBJECT_MAP)
		return msg_err(what, wlen, "expected map");
	for (i = 0; i < o->via.map.size; i++) {
		k = &o->via.map.ptr[i].key;
		if ((msg_key_is(k, "code") && code != NULL) ||
		    (msg_key_is(k, "detail") && detail != NULL))
			return msg_err(what, wlen, "duplicate key");
		if (msg_key_is(k, "code"))
			code = &o->via.map.ptr[i].val;
		else if (msg_key_is(k, "detail"))
			detail = &o->via.map.ptr[i].val;
	}
	if (code == NULL)
		return msg_err(what, wlen, "code: missing");
	if (msg_get_str(code, r->error_code, sizeof(r->error_code), sub,
		sizeof(sub)) != 0)
		return msg_err(what, wlen, "code: %s", sub);
	if (detail != NULL &&
	    msg_get_str(detail, r->error_detail, sizeof(r->error_detail), sub,
		sizeof(sub)) != 0)
		return msg_err(what, wlen, "detail: %s", sub);
	return 0;
}

static int
msg_get_field(const struct field *f, const msgpack_object *o, struct msg *m,
    char *what, size_t wlen)
{
	char *p = (char *)m + f->off;

	switch (f->kind) {
	case F_STR:
		return msg_get_str(o, p, f->size, what, wlen);
	case F_BOOL:
		return msg_get_bool(o, (bool *)p, what, wlen);
	case F_U32:
		return msg_get_u32(o, (uint32_t *)p, f->max, what, wlen);
	case F_I32:
		return msg_get_i32(o, (int32_t *)p, what, wlen);
	case F_CONFIG:
		return msg_get_config(o, (struct msg_config *)p, what, wlen);
	case F_JSON:
		return msg_get_json(o, (json_t **)p, what, wlen);
	case F_ERROR:
		return msg_get_error(o, (struct msg_response *)p, what, wlen);
	}
	return msg_err(what, wlen, "unknown field kind");
}

static int
msg_find_fields(const msgpack_object *root, const struct msg_info *mi,
    const msgpack_object **found, char *err, size_t errlen)
{
	const msgpack_object_kv *kv;
	uint32_t i;
	size_t j;

	for (i = 0; i < root->via.map.size; i++) {
		kv = &root->via.map.ptr[i];
		for (j = 0; j < mi->nfields; j++) {
			if (!msg_key_is(&kv->key, mi->fields[j].name))
				continue;
			if (found[j] != NULL)
				return msg_err(err, errlen,
				    "%s: field %s: duplicate", mi->name,
				    mi->fields[j].name);
			found[j] = &kv->val;
		}
	}
	return 0;
}

static int
msg_decode_fields(const msgpack_object *root, const struct msg_info *mi,
    struct msg *m, char *err, size_t errlen)
{
	const msgpack_object *found[MSG_FIELDS_MAX] = {NULL};
	const struct field *f;
	char what[160];
	bool required;
	size_t i;

	if (msg_find_fields(root, mi, found, err, errlen) != 0)
		return -1;
	for (i = 0; i < mi->nfields; i++) {
		f = &mi->fields[i];
		/* success precedes error in the table, so it is known here. */
		required = f->required ||
			   (f->kind == F_ERROR && !m->u.response.success);
		if (f->kind == F_ERROR && !required)
			continue;
		if (found[i] == NULL && required)
			return msg_err(err, errlen, "%s: field %s: missing",
			    mi->name, f->name);
		if (found[i] != NULL &&
		    msg_get_field(f, found[i], m, what, sizeof(what)) != 0)
			return msg_err(err, errlen, "%s: field %s: %s",
			    mi->name, f->name, what);
	}
	return 0;
}

/* Finds "v", "t" and "fd"; every key of the map must be a string. */
static int
msg_find_envelope(const msgpack_object *root, const msgpack_object *env[3],
    char *err, size_t errlen)
{
	static const char *const names[3] = {"v", "t", "fd"};
	const msgpack_object_kv *kv;
	uint32_t i;
	int j;

	for (i = 0; i < root->via.map.size; i++) {
		kv = &root->via.map.ptr[i];
		if (kv->key.type != MSGPACK_OBJECT_STR)
			return msg_err(err, errlen,
			    "key %u of the message map is not a string", i);
		for (j = 0; j < 3; j++) {
			if (!msg_key_is(&kv->key, names[j]))
				continue;
			if (env[j] != NULL)
				return msg_err(err, errlen,
				    "duplicate key \"%s\"", names[j]);
			env[j] = &kv->val;
		}
	}
	return 0;
}

static int
msg_check_version(const msgpack_object *v, char *err, size_t errlen)
{
	if (v == NULL)
		return msg_err(err, errlen, "missing protocol version \"v\"");
	if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		return msg_err(err, errlen,
		    "protocol version %lld, expected %d", (long long)v->via.i64,
		    REEL_PROTO_VERSION);
	if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return msg_err(err, errlen, "\"v\": expected integer");
	if (v->via.u64 != REEL_PROTO_VERSION)
		return msg_err(err, errlen,
		    "protocol version %llu, expected %d",
		    (unsigned long long)v->via.u64, REEL_PROTO_VERSION);
	return 0;
}

static int
msg_check_type(const msgpack_object *t, unsigned dirs,
    const struct msg_info **mip, char *err, size_t errlen)
{
	if (t == NULL)
		return msg_err(err, errlen, "missing message type \"t\"");
	if (t->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		return msg_err(err, errlen, "unknown message type %lld",
		    (long long)t->via.i64);
	if (t->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return msg_err(err, errlen, "\"t\": expected integer");
	*mip = t->via.u64 <= INT32_MAX ? msg_info_find((long long)t->via.u64)
				       : NULL;
	if (*mip == NULL)
		return msg_err(err, errlen, "unknown message type %llu",
		    (unsigned long long)t->via.u64);
	if (((*mip)->dir & dirs) == 0)
		return msg_err(err, errlen,
		    "%s (%d) is not accepted in this direction", (*mip)->name,
		    (int)(*mip)->type);
	return 0;
}

static int
msg_decode_map(const msgpack_object *root, unsigned dirs, struct msg *out,
    bool *wants_fd, char *err, size_t errlen)
{
	const msgpack_object *env[3] = {NULL, NULL, NULL};
	const struct msg_info *mi = NULL;

	if (root->type != MSGPACK_OBJECT_MAP)
		return msg_err(err, errlen, "message is not a map");
	if (msg_find_envelope(root, env, err, errlen) != 0 ||
	    msg_check_version(env[0], err, errlen) != 0 ||
	    msg_check_type(env[1], dirs, &mi, err, errlen) != 0)
		return -1;
	if (env[2] != NULL && env[2]->type != MSGPACK_OBJECT_BOOLEAN)
		return msg_err(err, errlen, "\"fd\": expected boolean");
	out->type = mi->type;
	*wants_fd = env[2] != NULL && env[2]->via.boolean;
	return msg_decode_fields(root, mi, out, err, errlen);
}

int
msg_decode(const void *body, size_t len, unsigned dirs, struct msg *out,
    bool *wants_fd, char *err, size_t errlen)
{
	msgpack_unpacked up;
	size_t used = 0, off = 0;
	int rc;

	msg_init(out, (enum msg_type)0);
	*wants_fd = false;
	if (msg_scan(body, len, &used, err, errlen) != 0)
		return -1;
	if (used != len)
		return msg_err(err, errlen,
		    "%zu trailing bytes after the message map", len - used);
	msgpack_unpacked_init(&up);
	if (msgpack_unpack_next(&up, body, len, &off) != MSGPACK_UNPACK_SUCCESS)
		rc = msg_err(err, errlen, "malformed msgpack");
	else
		rc = msg_decode_map(&up.data, dirs, out, wants_fd, err, errlen);
	msgpack_unpacked_destroy(&up);
	if (rc != 0) {
		msg_clear(out);
		msg_init(out, (enum msg_type)0);
		*wants_fd = false;
	}
	return rc;
}
