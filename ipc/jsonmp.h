/*
 * Converts between jansson values and msgpack, so that free-form data
 * (response payloads, probe results) crosses the wire as msgpack and is
 * printed as JSON. Nesting is limited to JSONMP_MAX_DEPTH.
 */
#ifndef REEL_JSONMP_H
#define REEL_JSONMP_H

#include <jansson.h>
#include <msgpack.h>

#define JSONMP_MAX_DEPTH 32

int jsonmp_pack(msgpack_packer *pk, const json_t *value);
/* Returns a new reference, or NULL with err (bad type, too deep). */
json_t *jsonmp_unpack(const msgpack_object *obj, char *err, size_t errlen);

#endif
