/*
 * jsonfmt.c: the JSON forms the contract gives to values that may be
 * missing, shared by reeld's job and webhook views and reel-httpd's.
 */
#ifndef REEL_JSONFMT_H
#define REEL_JSONFMT_H

#include <stdint.h>

#include <jansson.h>

/* ISO 8601 UTC, or null for 0 (never happened). */
json_t *jsonfmt_time(int64_t ms);
/* The id, or null for "" (none). */
json_t *jsonfmt_id(const char *id);

#endif
