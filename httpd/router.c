/*
 * Routes are a table of fixed paths and of /jobs/{id}/<tail> patterns. A
 * job id must be exactly what reeld issues (reel_id_valid) before any
 * other layer sees it.
 */
#include <string.h>

#include "router.h"
#include "util.h"

struct fixed_route {
	const char *path;
	const char *method;
	enum route route;
	const char *allow;
};

static const struct fixed_route fixed_routes[] = {
    {"/health", "GET", ROUTE_HEALTH, "GET"},
    {"/metrics", "GET", ROUTE_METRICS, "GET"},
    {"/videos/upload", "POST", ROUTE_UPLOAD, "POST"},
    {"/jobs", "POST", ROUTE_JOBS_CREATE, "GET, POST"},
    {"/jobs", "GET", ROUTE_JOBS_LIST, "GET, POST"},
};

/* What follows /jobs/{id}: "" is the job itself. */
static const struct fixed_route job_routes[] = {
    {"", "GET", ROUTE_JOB_STATUS, "GET"},
    {"/result", "GET", ROUTE_JOB_RESULT, "GET"},
    {"/cancel", "POST", ROUTE_JOB_CANCEL, "POST"},
    {"/events", "GET", ROUTE_JOB_EVENTS, "GET"},
    {"/webhook/redeliver", "POST", ROUTE_JOB_REDELIVER, "POST"},
};

static const struct {
	const char *name;
	const char *type;
} artifacts[] = {
    {"output.mp4", "video/mp4"},
    {"style.json", "application/json"},
    {"grade.cube", "text/plain; charset=utf-8"},
    {"plan.json", "application/json"},
    {"contact.png", "image/png"},
    {"report.json", "application/json"},
};

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

const char *
router_artifact_type(const char *artifact)
{
	for (size_t i = 0; i < NITEMS(artifacts); i++) {
		if (strcmp(artifact, artifacts[i].name) == 0)
			return artifacts[i].type;
	}
	return NULL;
}

/* HEAD is answered as GET (libmicrohttpd drops the body). */
static bool
method_is(const char *method, const char *want)
{
	return strcmp(method, want) == 0 ||
	       (strcmp(want, "GET") == 0 && strcmp(method, "HEAD") == 0);
}

static enum router_verdict
match_in(const struct fixed_route *table, size_t n, const char *method,
    const char *path, struct route_match *out)
{
	bool path_known = false;

	for (size_t i = 0; i < n; i++) {
		if (strcmp(path, table[i].path) != 0)
			continue;
		path_known = true;
		out->allow = table[i].allow;
		if (method_is(method, table[i].method)) {
			out->route = table[i].route;
			return ROUTER_OK;
		}
	}
	return path_known ? ROUTER_METHOD_NOT_ALLOWED : ROUTER_NOT_FOUND;
}

static enum router_verdict
match_artifact(const char *method, const char *tail, struct route_match *out)
{
	static const char prefix[] = "/artifacts/";

	if (strncmp(tail, prefix, sizeof(prefix) - 1) != 0)
		return ROUTER_NOT_FOUND;
	tail += sizeof(prefix) - 1;
	for (size_t i = 0; i < NITEMS(artifacts); i++) {
		if (strcmp(tail, artifacts[i].name) != 0)
			continue;
		out->allow = "GET";
		if (!method_is(method, "GET"))
			return ROUTER_METHOD_NOT_ALLOWED;
		out->route = ROUTE_JOB_ARTIFACT;
		out->artifact = artifacts[i].name;
		return ROUTER_OK;
	}
	return ROUTER_NOT_FOUND;
}

static enum router_verdict
match_job(const char *method, const char *rest, struct route_match *out)
{
	size_t idlen = strcspn(rest, "/");
	enum router_verdict v;

	if (idlen != REEL_ID_LEN) {
		out->job_id[0] = '\0';
		return idlen == 0 ? ROUTER_NOT_FOUND : ROUTER_BAD_ID;
	}
	memcpy(out->job_id, rest, REEL_ID_LEN);
	out->job_id[REEL_ID_LEN] = '\0';
	if (!reel_id_valid("job_", out->job_id))
		return ROUTER_BAD_ID;
	v = match_in(job_routes, NITEMS(job_routes), method, rest + idlen, out);
	if (v == ROUTER_NOT_FOUND)
		v = match_artifact(method, rest + idlen, out);
	return v;
}

enum router_verdict
router_match(const char *method, const char *path, struct route_match *out)
{
	static const char jobs[] = "/jobs/";
	size_t plen = sizeof(ROUTER_PREFIX) - 1;

	memset(out, 0, sizeof(*out));
	if (strlen(path) > ROUTER_PATH_MAX)
		return ROUTER_TOO_LONG;
	if (strncmp(path, ROUTER_PREFIX, plen) != 0)
		return ROUTER_NOT_FOUND;
	path += plen;
	if (strncmp(path, jobs, sizeof(jobs) - 1) == 0)
		return match_job(method, path + sizeof(jobs) - 1, out);
	return match_in(fixed_routes, NITEMS(fixed_routes), method, path, out);
}
