/*
 * The message catalogue and its codec: every type from msg.def round-trips
 * (the list is generated, so a new type needs a filler here to compile),
 * frame boundaries are found whatever the delivery, and the strict decoder
 * refuses each kind of bad frame with a message that names the problem.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "check_main.h"
#include "msg.h"
#include "util.h"

#define ALL_DIRS \
	(DIR_FROM_CLIENT | DIR_TO_CLIENT | DIR_TO_WORKER | DIR_FROM_WORKER)
#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

static void
fill_UPLOAD(struct msg *m)
{
	str_copy(m->u.upload.filename, "holiday clip.mp4",
	    sizeof(m->u.upload.filename));
	/* Encoding looks only at fd >= 0; nothing is sent here. */
	m->fd = 9;
}

static void
fill_config(struct msg_config *c)
{
	c->count = 2;
	str_copy(c->kv[0].key, "fake.rendering", sizeof(c->kv[0].key));
	str_copy(c->kv[0].value, "progress,done", sizeof(c->kv[0].value));
	str_copy(c->kv[1].key, "crf", sizeof(c->kv[1].key));
	str_copy(c->kv[1].value, "23", sizeof(c->kv[1].value));
}

static void
fill_SUBMIT(struct msg *m)
{
	str_copy(m->u.submit.video_id, "vid_0123456789ab", REEL_ID_SIZE);
	str_copy(m->u.submit.template_id, "vid_ba9876543210", REEL_ID_SIZE);
	m->u.submit.template_only = true;
	str_copy(m->u.submit.webhook_url, "http://127.0.0.1:9/hook",
	    sizeof(m->u.submit.webhook_url));
	fill_config(&m->u.submit.config);
}

static void
fill_STATUS(struct msg *m)
{
	str_copy(m->u.job_ref.job_id, "job_0123456789ab", REEL_ID_SIZE);
}

static void
fill_LIST(struct msg *m)
{
	str_copy(m->u.list.status, "processing", sizeof(m->u.list.status));
	m->u.list.page = 3;
	m->u.list.page_size = UINT32_MAX;
}

static void
fill_CANCEL(struct msg *m)
{
	str_copy(m->u.job_ref.job_id, "job_fedcba987654", REEL_ID_SIZE);
}

static void
fill_WEBHOOKS(struct msg *m)
{
	str_copy(m->u.job_ref.job_id, "job_00000000000a", REEL_ID_SIZE);
}

static void
fill_REDELIVER(struct msg *m)
{
	str_copy(m->u.job_ref.job_id, "job_b00000000000", REEL_ID_SIZE);
}

static void
fill_IDENTIFY(struct msg *m)
{
	str_copy(m->u.identify.user, "alice@example.org",
	    sizeof(m->u.identify.user));
	m->u.identify.admin = true;
}

static void
fill_RESULT(struct msg *m)
{
	str_copy(m->u.result.job_id, "job_0123456789ab", REEL_ID_SIZE);
	str_copy(m->u.result.artifact, "output", sizeof(m->u.result.artifact));
}

static void
fill_RESPONSE(struct msg *m)
{
	m->u.response.success = true;
	str_copy(m->u.response.message, "Job created",
	    sizeof(m->u.response.message));
	m->u.response.data = json_pack("{s:s, s:i, s:f, s:[b, n, {}], s:[]}",
	    "job_id", "job_0123456789ab", "progress_percent", 42, "ratio", 0.5,
	    "misc", 1, "empty");
	ck_assert_ptr_nonnull(m->u.response.data);
}

static void
fill_JOB_START(struct msg *m)
{
	struct msg_job_start *j = &m->u.job_start;

	str_copy(j->job_id, "job_0123456789ab", REEL_ID_SIZE);
	j->gen = 17;
	str_copy(j->stage, "style_extraction", sizeof(j->stage));
	str_copy(j->job_dir, "/var/lib/reeld/jobs/job_0123456789ab",
	    sizeof(j->job_dir));
	str_copy(j->source, "/var/lib/reeld/videos/vid_0/source.mp4",
	    sizeof(j->source));
	str_copy(j->template_path, "/var/lib/reeld/videos/vid_1/source.mp4",
	    sizeof(j->template_path));
	j->template_only = true;
	fill_config(&j->config);
}

static void
fill_HELLO(struct msg *m)
{
	m->u.hello.gen = 17;
	m->u.hello.pid = 4242;
}

static void
fill_PROGRESS(struct msg *m)
{
	m->u.progress.gen = UINT32_MAX;
	m->u.progress.permille = 1000;
}

static void
fill_STAGE_DONE(struct msg *m)
{
	m->u.stage_done.gen = 1;
	m->u.stage_done.result = json_pack("{s:i, s:i, s:f, s:s}", "width", 320,
	    "height", 180, "duration_seconds", 1.0, "codec", "h264");
	ck_assert_ptr_nonnull(m->u.stage_done.result);
	m->u.stage_done.peak_rss_kb = 76543;
}

static void
fill_STAGE_FAIL(struct msg *m)
{
	m->u.stage_fail.gen = 2;
	str_copy(m->u.stage_fail.message, "decoder: invalid data found",
	    sizeof(m->u.stage_fail.message));
	m->u.stage_fail.peak_rss_kb = UINT32_MAX;
}

static const struct {
	const char *name;
	enum msg_type type;
	unsigned dir;
	void (*fill)(struct msg *);
} catalogue[] = {
#define MSG(name, number, dir) {#name, MSG_##name, dir, fill_##name},
#include "msg.def"
#undef MSG
};

static json_t **
json_slot(struct msg *m)
{
	if (m->type == MSG_RESPONSE)
		return &m->u.response.data;
	if (m->type == MSG_STAGE_DONE)
		return &m->u.stage_done.result;
	return NULL;
}

/* Same body: JSON compared by value, everything else byte for byte. */
static void
assert_same_body(const struct msg *a, const struct msg *b)
{
	struct msg x, y;
	json_t **jx, **jy;

	memcpy(&x, a, sizeof(x));
	memcpy(&y, b, sizeof(y));
	jx = json_slot(&x);
	jy = json_slot(&y);
	if (jx != NULL) {
		ck_assert((*jx == NULL) == (*jy == NULL));
		ck_assert(*jx == NULL || json_equal(*jx, *jy));
		*jx = *jy = NULL;
	}
	ck_assert_mem_eq(&x.u, &y.u, sizeof(x.u));
}

/* Decodes a whole frame and checks that it says what in says. */
static void
roundtrip(const struct msg *in)
{
	char *buf, *buf2, err[256];
	size_t len, len2, flen = 0;
	struct msg out;
	bool wants_fd;

	ck_assert_int_eq(msg_encode(in, &buf, &len), 0);
	ck_assert_int_eq(frame_check(buf, len, &flen, err, sizeof(err)), 1);
	ck_assert_uint_eq(flen, len);
	ck_assert_msg(
	    msg_decode(buf + FRAME_HEADER_SIZE, len - FRAME_HEADER_SIZE,
		msg_type_dir(in->type), &out, &wants_fd, err, sizeof(err)) == 0,
	    "%s: %s", msg_type_name(in->type), err);
	ck_assert_int_eq(out.type, in->type);
	ck_assert_int_eq(out.fd, -1);
	ck_assert(wants_fd == (in->fd >= 0));
	assert_same_body(in, &out);
	out.fd = in->fd;
	ck_assert_int_eq(msg_encode(&out, &buf2, &len2), 0);
	ck_assert_uint_eq(len2, len);
	ck_assert_mem_eq(buf2, buf, len);
	msg_clear(&out);
	free(buf);
	free(buf2);
}

START_TEST(roundtrip_full)
{
	struct msg m;
	json_t **slot;

	msg_init(&m, catalogue[_i].type);
	catalogue[_i].fill(&m);
	roundtrip(&m);
	msg_clear(&m);
	slot = json_slot(&m);
	ck_assert(slot == NULL || *slot == NULL);
}
END_TEST

START_TEST(roundtrip_defaults)
{
	struct msg m;

	msg_init(&m, catalogue[_i].type);
	roundtrip(&m);
}
END_TEST

START_TEST(wrong_direction)
{
	char *buf, err[256];
	struct msg m, out;
	bool wants_fd;
	size_t len;

	msg_init(&m, catalogue[_i].type);
	catalogue[_i].fill(&m);
	ck_assert_int_eq(msg_encode(&m, &buf, &len), 0);
	ck_assert_int_eq(
	    msg_decode(buf + 4, len - 4, ALL_DIRS & ~catalogue[_i].dir, &out,
		&wants_fd, err, sizeof(err)),
	    -1);
	ck_assert_msg(strstr(err, "not accepted in this direction") != NULL &&
			  strstr(err, catalogue[_i].name) != NULL,
	    "%s", err);
	ck_assert_int_eq(msg_decode(buf + 4, len - 4, catalogue[_i].dir, &out,
			     &wants_fd, err, sizeof(err)),
	    0);
	msg_clear(&out);
	msg_clear(&m);
	free(buf);
}
END_TEST

START_TEST(names_and_dirs)
{
	ck_assert_str_eq(msg_type_name(catalogue[_i].type), catalogue[_i].name);
	ck_assert_uint_eq(msg_type_dir(catalogue[_i].type), catalogue[_i].dir);
	ck_assert_str_eq(msg_type_name(999), "unknown");
	ck_assert_uint_eq(msg_type_dir(999), 0);
	ck_assert_uint_eq(msg_type_dir(0), 0);
}
END_TEST

START_TEST(response_failure_envelope)
{
	struct msg m;

	msg_init(&m, MSG_RESPONSE);
	str_copy(m.u.response.message, "Job not found",
	    sizeof(m.u.response.message));
	str_copy(m.u.response.error_code, ERR_JOB_NOT_FOUND,
	    sizeof(m.u.response.error_code));
	str_copy(m.u.response.error_detail, "no job job_000000000000",
	    sizeof(m.u.response.error_detail));
	roundtrip(&m);
	memset(m.u.response.error_detail, 0, sizeof(m.u.response.error_detail));
	roundtrip(&m);
}
END_TEST

/* Frames built by hand, to say things msg_encode never would. */

struct mp {
	msgpack_sbuffer sb;
	msgpack_packer pk;
};

static void
mp_init(struct mp *b)
{
	msgpack_sbuffer_init(&b->sb);
	msgpack_packer_init(&b->pk, &b->sb, msgpack_sbuffer_write);
}

static void
mp_str(struct mp *b, const char *s)
{
	msgpack_pack_str_with_body(&b->pk, s, strlen(s));
}

/* A map of n entries whose first two are "v" and "t". */
static void
mp_env(struct mp *b, size_t n, int version, int type)
{
	mp_init(b);
	msgpack_pack_map(&b->pk, n);
	mp_str(b, "v");
	msgpack_pack_int(&b->pk, version);
	mp_str(b, "t");
	msgpack_pack_int(&b->pk, type);
}

/* Decodes b's bytes, frees them and returns msg_decode's result. */
static int
mp_decode(struct mp *b, struct msg *m, char *err, size_t errlen)
{
	bool wants_fd;
	int rc;

	rc = msg_decode(
	    b->sb.data, b->sb.size, ALL_DIRS, m, &wants_fd, err, errlen);
	msgpack_sbuffer_destroy(&b->sb);
	return rc;
}

static void
expect_error(struct mp *b, const char *want)
{
	char err[256] = "";
	struct msg m;

	ck_assert_int_eq(mp_decode(b, &m, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, want) != NULL, "error \"%s\", wanted \"%s\"",
	    err, want);
}

START_TEST(frame_lengths)
{
	unsigned char zero[4] = {0, 0, 0, 0};
	unsigned char big[4] = {0, 1, 0x11, 0x70}; /* 70000 */
	unsigned char max[4] = {0, 1, 0, 0};	   /* 65536 */
	char err[128];
	size_t flen = 0, i;

	for (i = 0; i < 4; i++)
		ck_assert_int_eq(
		    frame_check(big, i, &flen, err, sizeof(err)), 0);
	ck_assert_int_eq(frame_check(zero, 4, &flen, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "frame of 0 bytes");
	ck_assert_int_eq(frame_check(big, 4, &flen, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "frame of 70000 bytes exceeds limit 65536");
	/* FRAME_MAX itself is allowed: it waits for the body. */
	ck_assert_int_eq(frame_check(max, 4, &flen, err, sizeof(err)), 0);
}
END_TEST

START_TEST(frame_byte_by_byte)
{
	char *buf, err[128];
	size_t len, flen = 0, i;
	struct msg m;

	msg_init(&m, MSG_SUBMIT);
	fill_SUBMIT(&m);
	ck_assert_int_eq(msg_encode(&m, &buf, &len), 0);
	for (i = 0; i < len; i++)
		ck_assert_int_eq(
		    frame_check(buf, i, &flen, err, sizeof(err)), 0);
	ck_assert_int_eq(frame_check(buf, len, &flen, err, sizeof(err)), 1);
	ck_assert_uint_eq(flen, len);
	free(buf);
}
END_TEST

START_TEST(two_frames_in_one_buffer)
{
	char *a, *b, *both, err[128];
	size_t alen, blen, flen = 0;
	struct msg m, out;
	bool wants_fd;

	msg_init(&m, MSG_PROGRESS);
	m.u.progress.permille = 250;
	ck_assert_int_eq(msg_encode(&m, &a, &alen), 0);
	msg_init(&m, MSG_STAGE_FAIL);
	fill_STAGE_FAIL(&m);
	ck_assert_int_eq(msg_encode(&m, &b, &blen), 0);
	both = malloc(alen + blen);
	memcpy(both, a, alen);
	memcpy(both + alen, b, blen);
	ck_assert_int_eq(frame_check(both, alen + blen, &flen, err, 128), 1);
	ck_assert_uint_eq(flen, alen);
	ck_assert_int_eq(msg_decode(both + 4, flen - 4, DIR_FROM_WORKER, &out,
			     &wants_fd, err, sizeof(err)),
	    0);
	ck_assert_int_eq(out.type, MSG_PROGRESS);
	ck_assert_uint_eq(out.u.progress.permille, 250);
	ck_assert_int_eq(frame_check(both + alen, blen, &flen, err, 128), 1);
	ck_assert_int_eq(msg_decode(both + alen + 4, flen - 4, DIR_FROM_WORKER,
			     &out, &wants_fd, err, sizeof(err)),
	    0);
	ck_assert_int_eq(out.type, MSG_STAGE_FAIL);
	ck_assert_str_eq(out.u.stage_fail.message, m.u.stage_fail.message);
	free(a);
	free(b);
	free(both);
}
END_TEST

START_TEST(trailing_bytes)
{
	struct mp b;

	mp_env(&b, 3, REEL_PROTO_VERSION, MSG_STATUS);
	mp_str(&b, "job_id");
	mp_str(&b, "job_0123456789ab");
	msgpack_pack_nil(&b.pk);
	expect_error(&b, "1 trailing bytes after the message map");
}
END_TEST

START_TEST(envelope_errors)
{
	struct mp b;

	mp_env(&b, 3, 2, MSG_STATUS);
	mp_str(&b, "job_id");
	mp_str(&b, "job_0123456789ab");
	expect_error(&b, "protocol version 2, expected 1");

	mp_env(&b, 2, REEL_PROTO_VERSION, 999);
	expect_error(&b, "unknown message type 999");

	mp_env(&b, 2, REEL_PROTO_VERSION, -4);
	expect_error(&b, "unknown message type -4");

	mp_init(&b);
	msgpack_pack_map(&b.pk, 1);
	mp_str(&b, "t");
	msgpack_pack_int(&b.pk, MSG_LIST);
	expect_error(&b, "missing protocol version");

	mp_init(&b);
	msgpack_pack_map(&b.pk, 1);
	mp_str(&b, "v");
	msgpack_pack_int(&b.pk, REEL_PROTO_VERSION);
	expect_error(&b, "missing message type");

	mp_init(&b);
	msgpack_pack_array(&b.pk, 2);
	msgpack_pack_int(&b.pk, 1);
	msgpack_pack_int(&b.pk, MSG_LIST);
	expect_error(&b, "message is not a map");

	mp_env(&b, 3, REEL_PROTO_VERSION, MSG_LIST);
	mp_str(&b, "fd");
	mp_str(&b, "yes");
	expect_error(&b, "\"fd\": expected boolean");

	mp_env(&b, 3, REEL_PROTO_VERSION, MSG_LIST);
	mp_str(&b, "v");
	msgpack_pack_int(&b.pk, REEL_PROTO_VERSION);
	expect_error(&b, "duplicate key \"v\"");

	mp_env(&b, 3, REEL_PROTO_VERSION, MSG_LIST);
	msgpack_pack_int(&b.pk, 5);
	msgpack_pack_int(&b.pk, 5);
	expect_error(&b, "key 2 of the message map is not a string");
}
END_TEST

START_TEST(wrong_field_types)
{
	struct mp b;

	mp_env(&b, 3, REEL_PROTO_VERSION, MSG_SUBMIT);
	mp_str(&b, "video_id");
	msgpack_pack_int(&b.pk, 5);
	expect_error(&b, "SUBMIT: field video_id: expected string");

	mp_env(&b, 4, REEL_PROTO_VERSION, MSG_SUBMIT);
	mp_str(&b, "video_id");
	mp_str(&b, "vid_0123456789ab");
	mp_str(&b, "template_only");
	mp_str(&b, "yes");
	expect_error(&b, "SUBMIT: field template_only: expected boolean");

	mp_env(&b, 3, REEL_PROTO_VERSION, MSG_LIST);
	mp_str(&b, "page");
	msgpack_pack_double(&b.pk, 1.0);
	expect_error(&b, "LIST: field page: expected integer");

	mp_env(&b, 3, REEL_PROTO_VERSION, MSG_LIST);
	mp_str(&b, "page");
	msgpack_pack_int(&b.pk, -1);
	expect_error(&b, "LIST: field page: -1 out of range 0..4294967295");

	mp_env(&b, 3, REEL_PROTO_VERSION, MSG_LIST);
	mp_str(&b, "page_size");
	msgpack_pack_uint64(&b.pk, 1ULL << 32);
	expect_error(&b, "LIST: field page_size: 4294967296 out of range");

	mp_env(&b, 4, REEL_PROTO_VERSION, MSG_HELLO);
	mp_str(&b, "gen");
	msgpack_pack_int(&b.pk, 1);
	mp_str(&b, "pid");
	msgpack_pack_int64(&b.pk, -3000000000LL);
	expect_error(&b, "HELLO: field pid: out of the 32-bit signed range");

	mp_env(&b, 4, REEL_PROTO_VERSION, MSG_STAGE_DONE);
	mp_str(&b, "gen");
	msgpack_pack_int(&b.pk, 1);
	mp_str(&b, "result");
	msgpack_pack_bin_with_body(&b.pk, "ab", 2);
	expect_error(&b, "STAGE_DONE: field result: binary");
}
END_TEST

START_TEST(config_errors)
{
	char key[40];
	struct mp b;
	int i;

	mp_env(&b, 4, REEL_PROTO_VERSION, MSG_SUBMIT);
	mp_str(&b, "video_id");
	mp_str(&b, "vid_0123456789ab");
	mp_str(&b, "config");
	msgpack_pack_array(&b.pk, 0);
	expect_error(&b, "SUBMIT: field config: expected map");

	mp_env(&b, 4, REEL_PROTO_VERSION, MSG_SUBMIT);
	mp_str(&b, "video_id");
	mp_str(&b, "vid_0123456789ab");
	mp_str(&b, "config");
	msgpack_pack_map(&b.pk, 1);
	mp_str(&b, "crf");
	msgpack_pack_int(&b.pk, 23);
	expect_error(&b, "field config: value of \"crf\": expected string");

	mp_env(&b, 4, REEL_PROTO_VERSION, MSG_SUBMIT);
	mp_str(&b, "video_id");
	mp_str(&b, "vid_0123456789ab");
	mp_str(&b, "config");
	msgpack_pack_map(&b.pk, MSG_CONFIG_MAX + 1);
	for (i = 0; i <= MSG_CONFIG_MAX; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		mp_str(&b, key);
		mp_str(&b, "v");
	}
	expect_error(&b, "field config: 17 pairs exceed limit 16");

	mp_env(&b, 4, REEL_PROTO_VERSION, MSG_SUBMIT);
	mp_str(&b, "video_id");
	mp_str(&b, "vid_0123456789ab");
	mp_str(&b, "config");
	msgpack_pack_map(&b.pk, 2);
	mp_str(&b, "a");
	mp_str(&b, "1");
	mp_str(&b, "a");
	mp_str(&b, "2");
	expect_error(&b, "field config: duplicate key \"a\"");

	mp_env(&b, 4, REEL_PROTO_VERSION, MSG_SUBMIT);
	mp_str(&b, "video_id");
	mp_str(&b, "vid_0123456789ab");
	mp_str(&b, "config");
	msgpack_pack_map(&b.pk, 1);
	mp_str(&b, "0123456789012345678901234567890123");
	mp_str(&b, "x");
	expect_error(&b, "field config: key 0: string of 34 bytes exceeds "
			 "limit 31");
}
END_TEST

START_TEST(missing_required)
{
	struct mp b;

	mp_env(&b, 3, REEL_PROTO_VERSION, MSG_SUBMIT);
	mp_str(&b, "template_id");
	mp_str(&b, "vid_0123456789ab");
	expect_error(&b, "SUBMIT: field video_id: missing");

	mp_env(&b, 3, REEL_PROTO_VERSION, MSG_PROGRESS);
	mp_str(&b, "gen");
	msgpack_pack_int(&b.pk, 1);
	expect_error(&b, "PROGRESS: field permille: missing");

	mp_env(&b, 3, REEL_PROTO_VERSION, MSG_RESPONSE);
	mp_str(&b, "success");
	msgpack_pack_false(&b.pk);
	expect_error(&b, "RESPONSE: field error: missing");

	mp_env(&b, 4, REEL_PROTO_VERSION, MSG_RESPONSE);
	mp_str(&b, "success");
	msgpack_pack_false(&b.pk);
	mp_str(&b, "error");
	msgpack_pack_map(&b.pk, 1);
	mp_str(&b, "detail");
	mp_str(&b, "x");
	expect_error(&b, "RESPONSE: field error: code: missing");

	mp_env(&b, 2, REEL_PROTO_VERSION, MSG_JOB_START);
	expect_error(&b, "JOB_START: field job_id: missing");
}
END_TEST

START_TEST(duplicate_and_unknown_fields)
{
	char err[256];
	struct msg m;
	struct mp b;

	mp_env(&b, 4, REEL_PROTO_VERSION, MSG_STATUS);
	mp_str(&b, "job_id");
	mp_str(&b, "job_0123456789ab");
	mp_str(&b, "job_id");
	mp_str(&b, "job_0123456789ac");
	expect_error(&b, "STATUS: field job_id: duplicate");

	mp_env(&b, 4, REEL_PROTO_VERSION, MSG_STATUS);
	mp_str(&b, "job_id");
	mp_str(&b, "job_0123456789ab");
	mp_str(&b, "future_field");
	msgpack_pack_array(&b.pk, 2);
	msgpack_pack_int(&b.pk, 1);
	msgpack_pack_nil(&b.pk);
	ck_assert_msg(mp_decode(&b, &m, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(m.u.job_ref.job_id, "job_0123456789ab");
}
END_TEST

START_TEST(string_limits)
{
	char err[256], id[REEL_ID_SIZE + 1], want[128];
	struct msg m;
	struct mp b;

	/* A buffer of REEL_ID_SIZE holds REEL_ID_LEN bytes and the NUL. */
	memset(id, 'a', REEL_ID_LEN);
	id[REEL_ID_LEN] = '\0';
	mp_env(&b, 3, REEL_PROTO_VERSION, MSG_STATUS);
	mp_str(&b, "job_id");
	mp_str(&b, id);
	ck_assert_int_eq(mp_decode(&b, &m, err, sizeof(err)), 0);
	ck_assert_str_eq(m.u.job_ref.job_id, id);

	id[REEL_ID_LEN] = 'a';
	id[REEL_ID_LEN + 1] = '\0';
	mp_env(&b, 3, REEL_PROTO_VERSION, MSG_STATUS);
	mp_str(&b, "job_id");
	mp_str(&b, id);
	snprintf(want, sizeof(want),
	    "STATUS: field job_id: string of %d bytes exceeds limit %d",
	    REEL_ID_LEN + 1, REEL_ID_LEN);
	expect_error(&b, want);

	mp_env(&b, 3, REEL_PROTO_VERSION, MSG_STATUS);
	mp_str(&b, "job_id");
	msgpack_pack_str_with_body(&b.pk, "job_\0", 5);
	expect_error(&b, "STATUS: field job_id: string contains a NUL byte");
}
END_TEST

START_TEST(permille_range)
{
	char err[256], *buf;
	struct msg m;
	struct mp b;
	size_t len;

	mp_env(&b, 4, REEL_PROTO_VERSION, MSG_PROGRESS);
	mp_str(&b, "gen");
	msgpack_pack_int(&b.pk, 1);
	mp_str(&b, "permille");
	msgpack_pack_int(&b.pk, 1001);
	expect_error(&b, "PROGRESS: field permille: 1001 out of range 0..1000");

	mp_env(&b, 4, REEL_PROTO_VERSION, MSG_PROGRESS);
	mp_str(&b, "gen");
	msgpack_pack_int(&b.pk, 1);
	mp_str(&b, "permille");
	msgpack_pack_int(&b.pk, 1000);
	ck_assert_int_eq(mp_decode(&b, &m, err, sizeof(err)), 0);
	ck_assert_uint_eq(m.u.progress.permille, 1000);

	/* The encoder refuses what the decoder would. */
	m.u.progress.permille = 1001;
	errno = 0;
	ck_assert_int_eq(msg_encode(&m, &buf, &len), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(encode_limits)
{
	struct msg m;
	char *buf, *big;
	size_t len;

	msg_init(&m, MSG_RESPONSE);
	m.u.response.success = true;
	big = calloc(1, FRAME_MAX + 1);
	memset(big, 'x', FRAME_MAX);
	m.u.response.data = json_string(big);
	errno = 0;
	ck_assert_int_eq(msg_encode(&m, &buf, &len), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	msg_clear(&m);
	ck_assert_ptr_null(m.u.response.data);

	/* An unterminated buffer string is refused, not read past. */
	msg_init(&m, MSG_STATUS);
	memset(m.u.job_ref.job_id, 'a', sizeof(m.u.job_ref.job_id));
	ck_assert_int_eq(msg_encode(&m, &buf, &len), -1);
	ck_assert_int_eq(errno, EINVAL);

	msg_init(&m, MSG_SUBMIT);
	m.u.submit.config.count = MSG_CONFIG_MAX + 1;
	ck_assert_int_eq(msg_encode(&m, &buf, &len), -1);
	fill_SUBMIT(&m);
	str_copy(m.u.submit.config.kv[1].key, m.u.submit.config.kv[0].key,
	    sizeof(m.u.submit.config.kv[1].key));
	ck_assert_int_eq(msg_encode(&m, &buf, &len), -1);
	ck_assert_int_eq(errno, EINVAL);
	msg_init(&m, (enum msg_type)999);
	ck_assert_int_eq(msg_encode(&m, &buf, &len), -1);
	free(big);
}
END_TEST

START_TEST(hostile_msgpack)
{
	/* array 32 announcing 2^32-1 elements, in a 5-byte body */
	const unsigned char huge[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
	const unsigned char never[] = {0x81, 0xc1, 0xc0};
	const unsigned char cut[] = {0x82, 0xa1, 'v'};
	unsigned char deep[40];
	char err[256];
	struct msg m;
	bool wants_fd;

	ck_assert_int_eq(msg_decode(huge, sizeof(huge), ALL_DIRS, &m, &wants_fd,
			     err, sizeof(err)),
	    -1);
	ck_assert_msg(
	    strstr(err, "announces more elements") != NULL, "%s", err);
	ck_assert_int_eq(msg_decode(never, sizeof(never), ALL_DIRS, &m,
			     &wants_fd, err, sizeof(err)),
	    -1);
	ck_assert_int_eq(msg_decode(cut, sizeof(cut), ALL_DIRS, &m, &wants_fd,
			     err, sizeof(err)),
	    -1);
	ck_assert_msg(
	    strstr(err, "announces more elements") != NULL, "%s", err);
	memset(deep, 0x91, sizeof(deep));
	deep[sizeof(deep) - 1] = 0xc0;
	ck_assert_int_eq(msg_decode(deep, sizeof(deep), ALL_DIRS, &m, &wants_fd,
			     err, sizeof(err)),
	    -1);
	ck_assert_msg(strstr(err, "nested deeper") != NULL, "%s", err);
	ck_assert_int_eq(
	    msg_decode(deep, 0, ALL_DIRS, &m, &wants_fd, err, sizeof(err)), -1);
}
END_TEST

static Suite *
msg_suite(void)
{
	Suite *s = suite_create("msg");
	TCase *tc = tcase_create("catalogue");
	int n = (int)NITEMS(catalogue);

	tcase_add_loop_test(tc, roundtrip_full, 0, n);
	tcase_add_loop_test(tc, roundtrip_defaults, 0, n);
	tcase_add_loop_test(tc, wrong_direction, 0, n);
	tcase_add_loop_test(tc, names_and_dirs, 0, n);
	tcase_add_test(tc, response_failure_envelope);
	suite_add_tcase(s, tc);
	tc = tcase_create("frames");
	tcase_add_test(tc, frame_lengths);
	tcase_add_test(tc, frame_byte_by_byte);
	tcase_add_test(tc, two_frames_in_one_buffer);
	tcase_add_test(tc, trailing_bytes);
	suite_add_tcase(s, tc);
	tc = tcase_create("strict");
	tcase_add_test(tc, envelope_errors);
	tcase_add_test(tc, wrong_field_types);
	tcase_add_test(tc, config_errors);
	tcase_add_test(tc, missing_required);
	tcase_add_test(tc, duplicate_and_unknown_fields);
	tcase_add_test(tc, string_limits);
	tcase_add_test(tc, permille_range);
	tcase_add_test(tc, encode_limits);
	tcase_add_test(tc, hostile_msgpack);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(msg_suite)
