/*
 * jansson <-> msgpack: every JSON type survives the round trip unchanged,
 * the nesting limit holds in both directions, and msgpack that has no JSON
 * form (binary, non-string keys, bad UTF-8, huge integers) is refused.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check_main.h"
#include "jsonmp.h"

struct mp {
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_unpacked up;
};

static void
mp_init(struct mp *b)
{
	msgpack_sbuffer_init(&b->sb);
	msgpack_packer_init(&b->pk, &b->sb, msgpack_sbuffer_write);
	msgpack_unpacked_init(&b->up);
}

static const msgpack_object *
mp_parse(struct mp *b)
{
	size_t off = 0;

	ck_assert_int_eq(
	    msgpack_unpack_next(&b->up, b->sb.data, b->sb.size, &off),
	    MSGPACK_UNPACK_SUCCESS);
	ck_assert_uint_eq(off, b->sb.size);
	return &b->up.data;
}

static void
mp_free(struct mp *b)
{
	msgpack_unpacked_destroy(&b->up);
	msgpack_sbuffer_destroy(&b->sb);
}

static json_t *
roundtrip(const json_t *in)
{
	char err[128] = "";
	struct mp b;
	json_t *out;

	mp_init(&b);
	ck_assert_int_eq(jsonmp_pack(&b.pk, in), 0);
	out = jsonmp_unpack(mp_parse(&b), err, sizeof(err));
	ck_assert_msg(out != NULL, "%s", err);
	mp_free(&b);
	return out;
}

START_TEST(every_type)
{
	json_t *in, *out;

	in = json_pack("{s:n, s:b, s:b, s:I, s:I, s:I, s:f, s:f, s:s, s:s#, "
		       "s:[i, s, [], {}], s:{s:{s:[n]}}, s:s}",
	    "null", "t", 1, "f", 0, "max", (json_int_t)INT64_MAX, "min",
	    (json_int_t)INT64_MIN, "zero", (json_int_t)0, "real", 1.5, "whole",
	    1.0, "utf8", "ça tourne \xe2\x9c\x93", "nul", "a\0b", 3, "array", 7,
	    "x", "nested", "a", "b", "", "");
	ck_assert_ptr_nonnull(in);
	out = roundtrip(in);
	ck_assert(json_equal(in, out));
	/* 1.0 stays a real: probe results keep their types. */
	ck_assert(json_is_real(json_object_get(out, "whole")));
	ck_assert_uint_eq(json_string_length(json_object_get(out, "nul")), 3);
	json_decref(in);
	json_decref(out);
}
END_TEST

START_TEST(scalars_at_top)
{
	json_t *vals[] = {json_null(), json_true(), json_integer(-5),
	    json_real(-2.25), json_string("")};
	json_t *out;
	size_t i;

	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		out = roundtrip(vals[i]);
		ck_assert(json_equal(vals[i], out));
		json_decref(out);
		json_decref(vals[i]);
	}
}
END_TEST

/* level arrays nested, the innermost holding an integer. */
static json_t *
nested(int levels)
{
	json_t *v = json_integer(1), *a;
	int i;

	for (i = 0; i < levels; i++) {
		a = json_array();
		json_array_append_new(a, v);
		v = a;
	}
	return v;
}

START_TEST(depth_limit)
{
	char err[128] = "";
	json_t *ok = nested(JSONMP_MAX_DEPTH - 1);
	json_t *deep = nested(JSONMP_MAX_DEPTH);
	json_t *out;
	struct mp b;

	/* The integer sits at level JSONMP_MAX_DEPTH: accepted. */
	out = roundtrip(ok);
	ck_assert(json_equal(ok, out));
	json_decref(out);

	mp_init(&b);
	errno = 0;
	ck_assert_int_eq(jsonmp_pack(&b.pk, deep), -1);
	ck_assert_int_eq(errno, EINVAL);
	mp_free(&b);

	/* The same depth built with msgpack directly is refused on unpack. */
	mp_init(&b);
	for (int i = 0; i < JSONMP_MAX_DEPTH; i++)
		msgpack_pack_array(&b.pk, 1);
	msgpack_pack_int(&b.pk, 1);
	ck_assert_ptr_null(jsonmp_unpack(mp_parse(&b), err, sizeof(err)));
	ck_assert_msg(strstr(err, "nested deeper than 32") != NULL, "%s", err);
	mp_free(&b);
	json_decref(ok);
	json_decref(deep);
}
END_TEST

static void
expect_refused(void (*build)(msgpack_packer *), const char *want)
{
	char err[128] = "";
	struct mp b;

	mp_init(&b);
	build(&b.pk);
	ck_assert_ptr_null(jsonmp_unpack(mp_parse(&b), err, sizeof(err)));
	ck_assert_msg(strstr(err, want) != NULL, "error \"%s\", wanted \"%s\"",
	    err, want);
	mp_free(&b);
}

static void
build_int_key(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 1);
	msgpack_pack_int(pk, 1);
	msgpack_pack_nil(pk);
}

static void
build_dup_key(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 2);
	msgpack_pack_str_with_body(pk, "k", 1);
	msgpack_pack_int(pk, 1);
	msgpack_pack_str_with_body(pk, "k", 1);
	msgpack_pack_int(pk, 2);
}

static void
build_bin(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 1);
	msgpack_pack_bin_with_body(pk, "\x01\x02", 2);
}

static void
build_huge_uint(msgpack_packer *pk)
{
	msgpack_pack_uint64(pk, UINT64_MAX);
}

static void
build_bad_utf8(msgpack_packer *pk)
{
	msgpack_pack_str_with_body(pk, "\xff\xfe", 2);
}

static void
build_bad_utf8_key(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 1);
	msgpack_pack_str_with_body(pk, "\xc3", 1);
	msgpack_pack_nil(pk);
}

static void
build_nan(msgpack_packer *pk)
{
	msgpack_pack_double(pk, NAN);
}

START_TEST(refused_msgpack)
{
	expect_refused(build_int_key, "map key is not a string");
	expect_refused(build_dup_key, "duplicate map key \"k\"");
	expect_refused(build_bin, "binary and ext have no JSON form");
	expect_refused(build_huge_uint, "integer out of range");
	expect_refused(build_bad_utf8, "string is not valid UTF-8");
	expect_refused(build_bad_utf8_key, "map key is not valid UTF-8");
	expect_refused(build_nan, "real is not finite");
}
END_TEST

static Suite *
jsonmp_suite(void)
{
	Suite *s = suite_create("jsonmp");
	TCase *tc = tcase_create("jsonmp");

	tcase_add_test(tc, every_type);
	tcase_add_test(tc, scalars_at_top);
	tcase_add_test(tc, depth_limit);
	tcase_add_test(tc, refused_msgpack);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(jsonmp_suite)
