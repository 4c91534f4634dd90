/*
 * The request router: method and path to one route of the API under
 * /api/v1 (docs/httpd.md), with the job id a path carries. Pure: no I/O,
 * so the fuzz target drives it directly.
 */
#ifndef REEL_HTTPD_ROUTER_H
#define REEL_HTTPD_ROUTER_H

#include "contract.h"

#define ROUTER_PREFIX "/api/v1"
/* The longest path the router looks at; longer ones are 414. */
#define ROUTER_PATH_MAX 256

enum route {
	ROUTE_NONE = 0, /* no such path: 404 */
	ROUTE_HEALTH,
	ROUTE_METRICS,
	ROUTE_UPLOAD,
	ROUTE_JOBS_CREATE,
	ROUTE_JOBS_LIST,
	ROUTE_JOB_STATUS,
	ROUTE_JOB_RESULT,
	ROUTE_JOB_CANCEL,
	ROUTE_JOB_EVENTS,
	ROUTE_JOB_REDELIVER,
	ROUTE_JOB_ARTIFACT,
};

enum router_verdict {
	ROUTER_OK,
	ROUTER_NOT_FOUND,	   /* 404 */
	ROUTER_METHOD_NOT_ALLOWED, /* 405, with allow set */
	ROUTER_BAD_ID,		   /* a job path whose id is malformed: 404 */
	ROUTER_TOO_LONG,	   /* 414 */
};

struct route_match {
	enum route route;
	char job_id[REEL_ID_SIZE];
	/* ROUTE_JOB_ARTIFACT: the artifact's file name (style.json, ...). */
	const char *artifact;
	/* ROUTER_METHOD_NOT_ALLOWED: the methods the path allows. */
	const char *allow;
};

/*
 * Matches method and path (without the query string, percent-decoded by
 * libmicrohttpd). Paths match whole and dot segments are not resolved, so
 * "..", "%2e" or a doubled slash never name a job or a file.
 */
enum router_verdict router_match(
    const char *method, const char *path, struct route_match *out);
/* The Content-Type of an artifact the router knows, or NULL. */
const char *router_artifact_type(const char *artifact);

#endif
