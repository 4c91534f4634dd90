/*
 * jansson <-> msgpack conversion for free-form payloads. Both directions
 * accept exactly the JSON data model: nil, booleans, integers that fit a
 * json_int_t, finite reals, UTF-8 strings, arrays and maps whose keys are
 * unique strings. The top value is at level 1 and each container puts its
 * elements one level deeper; a value below level JSONMP_MAX_DEPTH is
 * refused. With the frame's own map on top, that keeps every payload within
 * the 32 nested containers that msgpack-c's unpacker accepts.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include "jsonmp.h"

static int jsonmp_pack_at(msgpack_packer *pk, const json_t *v, int level);
static json_t *jsonmp_unpack_at(
    const msgpack_object *obj, int level, char *err, size_t errlen);

static int
jsonmp_pack_str(msgpack_packer *pk, const char *s, size_t len)
{
	if (msgpack_pack_str(pk, len) != 0 ||
	    msgpack_pack_str_body(pk, s, len) != 0)
		return -1;
	return 0;
}

static int
jsonmp_pack_array(msgpack_packer *pk, const json_t *v, int level)
{
	size_t i;
	json_t *elem;

	if (msgpack_pack_array(pk, json_array_size(v)) != 0)
		return -1;
	json_array_foreach(v, i, elem)
	{
		if (jsonmp_pack_at(pk, elem, level + 1) != 0)
			return -1;
	}
	return 0;
}

static int
jsonmp_pack_object(msgpack_packer *pk, const json_t *v, int level)
{
	const char *key;
	size_t keylen;
	json_t *elem;

	if (msgpack_pack_map(pk, json_object_size(v)) != 0)
		return -1;
	/* The iteration macro wants a non-const object; it does not modify it.
	 */
	json_object_keylen_foreach((json_t *)v, key, keylen, elem)
	{
		if (jsonmp_pack_str(pk, key, keylen) != 0 ||
		    jsonmp_pack_at(pk, elem, level + 1) != 0)
			return -1;
	}
	return 0;
}

static int
jsonmp_pack_at(msgpack_packer *pk, const json_t *v, int level)
{
	if (v == NULL || level > JSONMP_MAX_DEPTH) {
		errno = EINVAL;
		return -1;
	}
	switch (json_typeof(v)) {
	case JSON_NULL:
		return msgpack_pack_nil(pk);
	case JSON_TRUE:
		return msgpack_pack_true(pk);
	case JSON_FALSE:
		return msgpack_pack_false(pk);
	case JSON_INTEGER:
		return msgpack_pack_int64(pk, json_integer_value(v));
	case JSON_REAL:
		return msgpack_pack_double(pk, json_real_value(v));
	case JSON_STRING:
		return jsonmp_pack_str(
		    pk, json_string_value(v), json_string_length(v));
	case JSON_ARRAY:
		return jsonmp_pack_array(pk, v, level);
	case JSON_OBJECT:
		return jsonmp_pack_object(pk, v, level);
	}
	errno = EINVAL;
	return -1;
}

/* Returns 0, or -1 with errno: EINVAL for a value too deep, else ENOMEM. */
int
jsonmp_pack(msgpack_packer *pk, const json_t *value)
{
	errno = ENOMEM;
	return jsonmp_pack_at(pk, value, 1);
}

static json_t *
jsonmp_fail(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s", what);
	return NULL;
}

static json_t *
jsonmp_unpack_array(
    const msgpack_object *obj, int level, char *err, size_t errlen)
{
	json_t *arr, *elem;
	uint32_t i;

	if ((arr = json_array()) == NULL)
		return jsonmp_fail(err, errlen, "out of memory");
	for (i = 0; i < obj->via.array.size; i++) {
		elem = jsonmp_unpack_at(
		    &obj->via.array.ptr[i], level + 1, err, errlen);
		if (elem == NULL) {
			json_decref(arr);
			return NULL;
		}
		if (json_array_append_new(arr, elem) != 0) {
			json_decref(arr);
			return jsonmp_fail(err, errlen, "out of memory");
		}
	}
	return arr;
}

static int
jsonmp_unpack_pair(
    json_t *o, const msgpack_object_kv *kv, int level, char *err, size_t errlen)
{
	size_t keylen = kv->key.via.str.size;
	const char *key = keylen > 0 ? kv->key.via.str.ptr : "";
	json_t *elem;

	if (kv->key.type != MSGPACK_OBJECT_STR) {
		snprintf(err, errlen, "map key is not a string");
		return -1;
	}
	if (json_object_getn(o, key, keylen) != NULL) {
		snprintf(err, errlen, "duplicate map key \"%.*s\"",
		    (int)(keylen > 64 ? 64 : keylen), key);
		return -1;
	}
	if ((elem = jsonmp_unpack_at(&kv->val, level + 1, err, errlen)) == NULL)
		return -1;
	if (json_object_setn_new(o, key, keylen, elem) != 0) {
		snprintf(err, errlen, "map key is not valid UTF-8");
		return -1;
	}
	return 0;
}

static json_t *
jsonmp_unpack_map(
    const msgpack_object *obj, int level, char *err, size_t errlen)
{
	json_t *o;
	uint32_t i;

	if ((o = json_object()) == NULL)
		return jsonmp_fail(err, errlen, "out of memory");
	for (i = 0; i < obj->via.map.size; i++) {
		if (jsonmp_unpack_pair(
			o, &obj->via.map.ptr[i], level, err, errlen) != 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

static json_t *
jsonmp_unpack_scalar(const msgpack_object *obj, char *err, size_t errlen)
{
	json_t *v;

	switch (obj->type) {
	case MSGPACK_OBJECT_NIL:
		return json_null();
	case MSGPACK_OBJECT_BOOLEAN:
		return json_boolean(obj->via.boolean);
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		if (obj->via.u64 > INT64_MAX)
			return jsonmp_fail(err, errlen, "integer out of range");
		return json_integer((json_int_t)obj->via.u64);
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		return json_integer((json_int_t)obj->via.i64);
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		if (!isfinite(obj->via.f64))
			return jsonmp_fail(err, errlen, "real is not finite");
		return json_real(obj->via.f64);
	case MSGPACK_OBJECT_STR:
		/* msgpack-c may give an empty string a NULL pointer. */
		v = json_stringn(obj->via.str.size > 0 ? obj->via.str.ptr : "",
		    obj->via.str.size);
		return v != NULL ? v
				 : jsonmp_fail(err, errlen,
				       "string is not valid UTF-8");
	default:
		return jsonmp_fail(
		    err, errlen, "binary and ext have no JSON form");
	}
}

static json_t *
jsonmp_unpack_at(const msgpack_object *obj, int level, char *err, size_t errlen)
{
	if (level > JSONMP_MAX_DEPTH) {
		snprintf(err, errlen, "nested deeper than %d levels",
		    JSONMP_MAX_DEPTH);
		return NULL;
	}
	if (obj->type == MSGPACK_OBJECT_ARRAY)
		return jsonmp_unpack_array(obj, level, err, errlen);
	if (obj->type == MSGPACK_OBJECT_MAP)
		return jsonmp_unpack_map(obj, level, err, errlen);
	return jsonmp_unpack_scalar(obj, err, errlen);
}

json_t *
jsonmp_unpack(const msgpack_object *obj, char *err, size_t errlen)
{
	return jsonmp_unpack_at(obj, 1, err, errlen);
}
