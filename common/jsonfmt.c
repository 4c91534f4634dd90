/*
 * The contract's JSON forms of optional values: a timestamp that has not
 * happened and an id that is not set are null, never 0 or "".
 */
#include "jsonfmt.h"
#include "util.h"

json_t *
jsonfmt_time(int64_t ms)
{
	char buf[UTIL_ISO_SIZE];

	if (ms == 0)
		return json_null();
	time_iso8601(ms, buf);
	return json_string(buf);
}

json_t *
jsonfmt_id(const char *id)
{
	return id[0] != '\0' ? json_string(id) : json_null();
}
