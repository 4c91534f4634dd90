/*
 * Only reeld decides: reel-httpd checks what HTTP adds (the JSON body's
 * shape, query parameters) and forwards the rest, so the socket and HTTP
 * give one answer to one request. The job object over HTTP is the
 * documented JobResponse, the same whether it comes from shared memory or
 * from reeld.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "backend.h"
#include "contract.h"
#include "log.h"
#include "reply.h"
#include "request.h"
#include "shmview.h"
#include "util.h"

#define API_VERSION "1.0"

static enum MHD_Result
api_unavailable(struct MHD_Connection *c, const char *err)
{
	log_warnx("reeld: %s", err);
	return reply_error(
	    c, ERR_SERVICE_UNAVAILABLE, "The service is unavailable.", err);
}

static enum MHD_Result
api_answer(struct MHD_Connection *c, struct msg *resp, bool job_view)
{
	const struct msg_response *r = &resp->u.response;
	json_t *data;

	if (!r->success)
		return reply_error(
		    c, r->error_code, r->message, r->error_detail);
	data = job_view && r->data != NULL ? shmview_job_from(r->data)
					   : json_incref(r->data);
	return reply_ok(c, r->message, data);
}

static enum MHD_Result
api_call(struct MHD_Connection *c, const struct auth_identity *who,
    const struct msg *req, bool job_view)
{
	char err[512];
	struct msg resp;
	enum MHD_Result rc;

	if (backend_call(who, req, &resp, err, sizeof(err)) != 0)
		return api_unavailable(c, err);
	if (resp.fd >= 0)
		close(resp.fd);
	rc = api_answer(c, &resp, job_view);
	msg_clear(&resp);
	return rc;
}

enum MHD_Result
api_forward(struct MHD_Connection *c, const struct auth_identity *who,
    const struct msg *req)
{
	return api_call(c, who, req, false);
}

enum MHD_Result
api_health(struct MHD_Connection *c)
{
	struct jobtab_info info;
	char err[256], detail[300], now[UTIL_ISO_SIZE];
	int64_t age;

	if (shmview_info(&info, &age, err, sizeof(err)) != 0)
		return api_unavailable(c, err);
	if (age > SHMVIEW_STALE_MS) {
		snprintf(detail, sizeof(detail),
		    "reeld (pid %d) last beat %.1f s ago", (int)info.pid,
		    age / 1000.0);
		return api_unavailable(c, detail);
	}
	time_iso8601(clock_realtime_ms(), now);
	return reply_ok(c, "API is healthy",
	    json_pack("{s:s, s:s, s:s, s:{s:i, s:f, s:f, s:I, s:I}}", "status",
		"ok", "timestamp", now, "version", API_VERSION, "reeld", "pid",
		(int)info.pid, "uptime_seconds",
		(clock_realtime_ms() - info.start_ms) / 1000.0,
		"heartbeat_age_seconds", age / 1000.0, "queue_depth",
		(json_int_t)info.queue_depth, "running",
		(json_int_t)info.running));
}

enum MHD_Result
api_job_status(struct MHD_Connection *c, const struct auth_identity *who,
    const char *job_id)
{
	json_t *job = shmview_job(job_id, who);
	struct msg req;

	if (job != NULL)
		return reply_ok(c, "Job status", job);
	msg_init(&req, MSG_STATUS);
	str_copy(req.u.job_ref.job_id, job_id, sizeof(req.u.job_ref.job_id));
	return api_call(c, who, &req, true);
}

/* A query parameter that must be a whole number in 1..max, if present. */
static int
query_number(struct MHD_Connection *c, const char *name, unsigned max,
    uint32_t *out, char *detail, size_t len)
{
	const char *v =
	    MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
	unsigned long n;
	char *end;

	if (v == NULL)
		return 0;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno != 0 || n < 1 ||
	    n > max) {
		snprintf(detail, len, "%s must be a whole number from 1 to %u",
		    name, max);
		return -1;
	}
	*out = (uint32_t)n;
	return 0;
}

static enum MHD_Result
api_list_answer(struct MHD_Connection *c, struct msg *resp)
{
	const struct msg_response *r = &resp->u.response;
	json_t *data, *jobs, *job;
	size_t i;

	if (!r->success || r->data == NULL)
		return api_answer(c, resp, false);
	data = json_deep_copy(r->data);
	jobs = json_object_get(data, "jobs");
	json_array_foreach(jobs, i, job)
	{
		json_array_set_new(jobs, i, shmview_job_from(job));
	}
	return reply_ok(c, r->message, data);
}

enum MHD_Result
api_job_list(struct MHD_Connection *c, const struct auth_identity *who)
{
	const char *status =
	    MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "status");
	char detail[128], err[512];
	struct msg req, resp;
	enum MHD_Result rc;

	msg_init(&req, MSG_LIST);
	if (query_number(c, "page", REQUEST_PAGE_MAX, &req.u.list.page, detail,
		sizeof(detail)) != 0 ||
	    query_number(c, "page_size", REQUEST_PAGE_SIZE_MAX,
		&req.u.list.page_size, detail, sizeof(detail)) != 0)
		return reply_error(
		    c, ERR_INVALID_REQUEST, "Invalid query parameter.", detail);
	if (status != NULL &&
	    str_copy(req.u.list.status, status, sizeof(req.u.list.status)) != 0)
		return reply_error(c, ERR_INVALID_REQUEST,
		    "Invalid query parameter.", "status is not a status name");
	if (backend_call(who, &req, &resp, err, sizeof(err)) != 0)
		return api_unavailable(c, err);
	rc = api_list_answer(c, &resp);
	msg_clear(&resp);
	return rc;
}

enum MHD_Result
api_job_call(struct MHD_Connection *c, const struct auth_identity *who,
    enum route route, const char *job_id)
{
	struct msg req;

	switch (route) {
	case ROUTE_JOB_RESULT:
		msg_init(&req, MSG_RESULT);
		str_copy(
		    req.u.result.job_id, job_id, sizeof(req.u.result.job_id));
		return api_call(c, who, &req, false);
	case ROUTE_JOB_CANCEL:
		msg_init(&req, MSG_CANCEL);
		break;
	default:
		msg_init(&req, MSG_REDELIVER);
		break;
	}
	str_copy(req.u.job_ref.job_id, job_id, sizeof(req.u.job_ref.job_id));
	return api_call(c, who, &req, route == ROUTE_JOB_CANCEL);
}

/*
 * One range of "bytes=A-B", "bytes=A-" or "bytes=-N" within size: 1 with
 * *from and *len, 0 when there is no Range header, -1 when it cannot be
 * served (several ranges, malformed, or past the end: 416).
 */
static int
parse_range(const char *h, uint64_t size, uint64_t *from, uint64_t *len)
{
	unsigned long long a = 0, b = size > 0 ? size - 1 : 0;
	char *end;

	if (h == NULL)
		return 0;
	if (strncmp(h, "bytes=", 6) != 0 || strchr(h, ',') != NULL)
		return -1;
	h += 6;
	if (*h == '-') {
		unsigned long long n = strtoull(h + 1, &end, 10);

		if (end == h + 1 || *end != '\0' || n == 0 || size == 0)
			return -1;
		a = n >= size ? 0 : size - n;
	} else {
		a = strtoull(h, &end, 10);
		if (end == h || *end != '-')
			return -1;
		h = end + 1;
		if (*h != '\0') {
			b = strtoull(h, &end, 10);
			if (*end != '\0' || b < a)
				return -1;
		}
		if (a >= size)
			return -1;
		if (b >= size)
			b = size - 1;
	}
	*from = a;
	*len = b - a + 1;
	return 1;
}

static enum MHD_Result
artifact_send(struct MHD_Connection *c, int fd, const char *artifact)
{
	const char *range = MHD_lookup_connection_value(
	    c, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE);
	struct MHD_Response *r;
	struct stat st;
	uint64_t from = 0, len = 0, size;
	char cr[96];
	int ranged;
	enum MHD_Result rc;

	if (fstat(fd, &st) != 0) {
		close(fd);
		return reply_error(c, ERR_INTERNAL, "Cannot read the artifact.",
		    strerror(errno));
	}
	size = (uint64_t)st.st_size;
	if ((ranged = parse_range(range, size, &from, &len)) < 0) {
		close(fd);
		r = MHD_create_response_from_buffer(
		    0, NULL, MHD_RESPMEM_PERSISTENT);
		snprintf(
		    cr, sizeof(cr), "bytes */%llu", (unsigned long long)size);
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
		rc = MHD_queue_response(c, MHD_HTTP_RANGE_NOT_SATISFIABLE, r);
		MHD_destroy_response(r);
		return rc;
	}
	if (ranged == 0)
		len = size;
	r = MHD_create_response_from_fd_at_offset64(len, fd, from);
	if (r == NULL) {
		close(fd);
		return MHD_NO;
	}
	MHD_add_response_header(
	    r, MHD_HTTP_HEADER_CONTENT_TYPE, router_artifact_type(artifact));
	MHD_add_response_header(r, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
	if (ranged) {
		snprintf(cr, sizeof(cr), "bytes %llu-%llu/%llu",
		    (unsigned long long)from,
		    (unsigned long long)(from + len - 1),
		    (unsigned long long)size);
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
	}
	reply_headers(c, r);
	rc = MHD_queue_response(
	    c, ranged ? MHD_HTTP_PARTIAL_CONTENT : MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return rc;
}

enum MHD_Result
api_job_artifact(struct MHD_Connection *c, const struct auth_identity *who,
    const char *job_id, const char *artifact)
{
	char err[512];
	struct msg req, resp;
	enum MHD_Result rc;

	msg_init(&req, MSG_RESULT);
	str_copy(req.u.result.job_id, job_id, sizeof(req.u.result.job_id));
	str_copy(
	    req.u.result.artifact, artifact, sizeof(req.u.result.artifact));
	if (backend_call(who, &req, &resp, err, sizeof(err)) != 0)
		return api_unavailable(c, err);
	if (resp.u.response.success && resp.fd >= 0) {
		rc = artifact_send(c, resp.fd, artifact);
	} else {
		if (resp.fd >= 0)
			close(resp.fd);
		rc = api_answer(c, &resp, false);
	}
	msg_clear(&resp);
	return rc;
}

/* A config value as reeld takes it: text; numbers and booleans as JSON. */
static int
config_value(json_t *v, char *out, size_t size)
{
	char *text;
	int rc;

	if (json_is_string(v))
		return str_copy(out, json_string_value(v), size);
	if (!json_is_number(v) && !json_is_boolean(v))
		return -1;
	text = json_dumps(v, JSON_ENCODE_ANY);
	rc = text != NULL ? str_copy(out, text, size) : -1;
	free(text);
	return rc;
}

static int
parse_config(json_t *cfg, struct msg_config *out, char *detail, size_t len)
{
	const char *key;
	json_t *v;

	if (cfg == NULL || json_is_null(cfg))
		return 0;
	if (!json_is_object(cfg)) {
		snprintf(detail, len, "config must be an object");
		return -1;
	}
	json_object_foreach(cfg, key, v)
	{
		if (out->count == MSG_CONFIG_MAX ||
		    str_copy(out->kv[out->count].key, key,
			sizeof(out->kv[0].key)) != 0 ||
		    config_value(v, out->kv[out->count].value,
			sizeof(out->kv[0].value)) != 0) {
			snprintf(detail, len,
			    "config: at most %d keys of up to %d bytes, each "
			    "a string, number or boolean of up to %d bytes "
			    "(at '%.40s')",
			    MSG_CONFIG_MAX, MSG_CONFIG_KEY_SIZE - 1,
			    MSG_CONFIG_VALUE_SIZE - 1, key);
			return -1;
		}
		out->count++;
	}
	return 0;
}

/* An optional string field: absent and null are "". */
static int
parse_text(json_t *body, const char *name, char *out, size_t size, char *detail,
    size_t len)
{
	json_t *v = json_object_get(body, name);

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) ||
	    str_copy(out, json_string_value(v), size) != 0) {
		snprintf(detail, len,
		    "%s must be a string of at most %zu bytes", name, size - 1);
		return -1;
	}
	return 0;
}

static int
parse_submit(
    json_t *body, struct msg_submit *s, char *code, char *detail, size_t len)
{
	static const char *const known[] = {"video_id", "template_video_id",
	    "config", "webhook_url", "template_only", NULL};
	json_t *v;
	const char *key;

	str_copy(code, ERR_INVALID_REQUEST, MSG_WORD_SIZE);
	json_object_foreach(body, key, v)
	{
		size_t i = 0;

		while (known[i] != NULL && strcmp(known[i], key) != 0)
			i++;
		if (known[i] == NULL) {
			snprintf(detail, len,
			    "unknown field '%.40s'; known: video_id, "
			    "template_video_id, config, webhook_url, "
			    "template_only",
			    key);
			return -1;
		}
	}
	v = json_object_get(body, "video_id");
	if (v == NULL || json_is_null(v)) {
		str_copy(code, ERR_MISSING_FIELD, MSG_WORD_SIZE);
		snprintf(detail, len, "video_id is required");
		return -1;
	}
	v = json_object_get(body, "template_only");
	if (v != NULL && !json_is_boolean(v) && !json_is_null(v)) {
		snprintf(detail, len, "template_only must be true or false");
		return -1;
	}
	s->template_only = json_is_true(v);
	return parse_text(body, "video_id", s->video_id, sizeof(s->video_id),
		   detail, len) != 0 ||
		       parse_text(body, "template_video_id", s->template_id,
			   sizeof(s->template_id), detail, len) != 0 ||
		       parse_text(body, "webhook_url", s->webhook_url,
			   sizeof(s->webhook_url), detail, len) != 0 ||
		       parse_config(json_object_get(body, "config"), &s->config,
			   detail, len) != 0
		   ? -1
		   : 0;
}

enum MHD_Result
api_job_create(struct MHD_Connection *c, const struct auth_identity *who,
    const char *body, size_t len)
{
	char code[MSG_WORD_SIZE], detail[MSG_TEXT_SIZE];
	json_error_t jerr;
	json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	struct msg req;

	if (o == NULL || !json_is_object(o)) {
		if (o == NULL)
			snprintf(detail, sizeof(detail),
			    "the body is not JSON: %s (line %d, column %d)",
			    jerr.text, jerr.line, jerr.column);
		else
			snprintf(detail, sizeof(detail),
			    "the body must be a JSON object");
		json_decref(o);
		return reply_error(
		    c, ERR_INVALID_REQUEST, "Invalid request body.", detail);
	}
	msg_init(&req, MSG_SUBMIT);
	if (parse_submit(o, &req.u.submit, code, detail, sizeof(detail)) != 0) {
		json_decref(o);
		return reply_error(c, code, "Invalid request body.", detail);
	}
	json_decref(o);
	return api_call(c, who, &req, true);
}
