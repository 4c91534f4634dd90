/*
 * One table maps error codes to statuses, so every route answers the same
 * code with the same status. Codes the docs leave without a status get
 * the one a REST client expects (docs/httpd.md gives the reasons).
 */
#include <stdlib.h>
#include <string.h>

#include "contract.h"
#include "reply.h"
#include "util.h"

static const struct {
	const char *code;
	unsigned status;
} statuses[] = {
    {ERR_INVALID_REQUEST, MHD_HTTP_BAD_REQUEST},
    {ERR_UNAUTHORIZED, MHD_HTTP_UNAUTHORIZED},
    {ERR_FORBIDDEN, MHD_HTTP_FORBIDDEN},
    {ERR_NOT_FOUND, MHD_HTTP_NOT_FOUND},
    {ERR_VIDEO_NOT_FOUND, MHD_HTTP_NOT_FOUND},
    {ERR_JOB_NOT_FOUND, MHD_HTTP_NOT_FOUND},
    {"ARTIFACT_NOT_FOUND", MHD_HTTP_NOT_FOUND},
    {ERR_METHOD_NOT_ALLOWED, MHD_HTTP_METHOD_NOT_ALLOWED},
    {ERR_JOB_ALREADY_PROCESSING, MHD_HTTP_CONFLICT},
    {ERR_RESULT_NOT_READY, MHD_HTTP_CONFLICT},
    {ERR_JOB_ALREADY_TERMINAL, MHD_HTTP_CONFLICT},
    {ERR_FILE_TOO_LARGE, MHD_HTTP_CONTENT_TOO_LARGE},
    {ERR_REQUEST_TOO_LARGE, MHD_HTTP_CONTENT_TOO_LARGE},
    {ERR_UNSUPPORTED_MEDIA_TYPE, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE},
    {ERR_UNSUPPORTED_FORMAT, MHD_HTTP_UNPROCESSABLE_CONTENT},
    {ERR_MISSING_FIELD, MHD_HTTP_UNPROCESSABLE_CONTENT},
    {ERR_STORAGE_FULL, MHD_HTTP_INSUFFICIENT_STORAGE},
    {ERR_SERVICE_UNAVAILABLE, MHD_HTTP_SERVICE_UNAVAILABLE},
    {ERR_INTERNAL, MHD_HTTP_INTERNAL_SERVER_ERROR},
};

static char *cors_origins;

unsigned
reply_status_of(const char *code)
{
	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		if (strcmp(code, statuses[i].code) == 0)
			return statuses[i].status;
	}
	return MHD_HTTP_INTERNAL_SERVER_ERROR;
}

void
reply_set_cors(const char *origins)
{
	free(cors_origins);
	cors_origins = origins != NULL ? xstrdup(origins) : NULL;
}

/* Whether origin is one of the comma-separated allowed origins. */
static bool
cors_allows(const char *origin)
{
	size_t len = strlen(origin);
	const char *p = cors_origins;

	while (p != NULL && *p != '\0') {
		size_t n = strcspn(p, ",");

		if (n == len && strncmp(p, origin, n) == 0)
			return true;
		p += n;
		p += strspn(p, ", ");
	}
	return false;
}

void
reply_headers(struct MHD_Connection *c, struct MHD_Response *r)
{
	const char *origin = MHD_lookup_connection_value(
	    c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ORIGIN);

	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (origin != NULL && cors_allows(origin)) {
		MHD_add_response_header(
		    r, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_ORIGIN, origin);
		MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Origin");
	}
}

static enum MHD_Result
reply_json_with(struct MHD_Connection *c, unsigned status, json_t *body,
    const char *header, const char *value)
{
	char *text = json_dumps(body, JSON_COMPACT);
	struct MHD_Response *r;
	enum MHD_Result rc;

	json_decref(body);
	if (text == NULL)
		return MHD_NO;
	r = MHD_create_response_from_buffer(
	    strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(
	    r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	if (header != NULL)
		MHD_add_response_header(r, header, value);
	reply_headers(c, r);
	rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

enum MHD_Result
reply_json(struct MHD_Connection *c, unsigned status, json_t *body)
{
	return reply_json_with(c, status, body, NULL, NULL);
}

static json_t *
error_body(const char *code, const char *message, const char *detail)
{
	return json_pack("{s:b, s:s, s:{s:s, s:s}}", "success", 0, "message",
	    message, "error", "code", code, "detail",
	    detail != NULL ? detail : "");
}

enum MHD_Result
reply_method_not_allowed(
    struct MHD_Connection *c, const char *allow, const char *detail)
{
	return reply_json_with(c, MHD_HTTP_METHOD_NOT_ALLOWED,
	    error_body(ERR_METHOD_NOT_ALLOWED, "Method not allowed.", detail),
	    MHD_HTTP_HEADER_ALLOW, allow);
}

enum MHD_Result
reply_unauthorized(struct MHD_Connection *c)
{
	return reply_json_with(c, MHD_HTTP_UNAUTHORIZED,
	    error_body(ERR_UNAUTHORIZED, "Unauthorized",
		"Missing or invalid authentication credentials."),
	    MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"reel\"");
}

enum MHD_Result
reply_ok(struct MHD_Connection *c, const char *message, json_t *data)
{
	return reply_json(c, MHD_HTTP_OK,
	    json_pack("{s:b, s:s, s:o}", "success", 1, "message", message,
		"data", data != NULL ? data : json_null()));
}

enum MHD_Result
reply_error_status(struct MHD_Connection *c, unsigned status, const char *code,
    const char *message, const char *detail)
{
	return reply_json(c, status, error_body(code, message, detail));
}

enum MHD_Result
reply_error(struct MHD_Connection *c, const char *code, const char *message,
    const char *detail)
{
	return reply_error_status(
	    c, reply_status_of(code), code, message, detail);
}
