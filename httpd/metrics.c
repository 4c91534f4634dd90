/*
 * Each family is written with its HELP and TYPE lines, then its samples;
 * a family appears once, as the format requires.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract.h"
#include "metrics.h"
#include "reply.h"
#include "shmview.h"
#include "util.h"

struct text {
	char *buf;
	size_t len, cap;
};

static void __attribute__((format(printf, 2, 3)))
text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < t->cap - t->len)
			break;
		t->cap = t->cap * 2 + (size_t)n + 1;
		t->buf = xreallocarray(t->buf, t->cap, 1);
	}
	t->len += (size_t)n;
}

static void
family(struct text *t, const char *name, const char *type, const char *help)
{
	text_add(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
jobs_families(struct text *t, const struct jobtab_info *in)
{
	family(t, "reel_jobs_submitted_total", "counter",
	    "Jobs accepted since reeld started.");
	text_add(t, "reel_jobs_submitted_total %llu\n",
	    (unsigned long long)in->submitted);
	family(t, "reel_jobs_finished_total", "counter",
	    "Jobs that reached a terminal status since reeld started.");
	text_add(t,
	    "reel_jobs_finished_total{status=\"completed\"} %llu\n"
	    "reel_jobs_finished_total{status=\"failed\"} %llu\n"
	    "reel_jobs_finished_total{status=\"cancelled\"} %llu\n",
	    (unsigned long long)in->completed, (unsigned long long)in->failed,
	    (unsigned long long)in->cancelled);
	family(t, "reel_jobs", "gauge", "Jobs now queued or processing.");
	text_add(t,
	    "reel_jobs{status=\"queued\"} %llu\n"
	    "reel_jobs{status=\"processing\"} %llu\n",
	    (unsigned long long)in->queue_depth,
	    (unsigned long long)in->running);
	family(t, "reel_queue_depth", "gauge",
	    "Jobs waiting for a processing slot.");
	text_add(
	    t, "reel_queue_depth %llu\n", (unsigned long long)in->queue_depth);
}

static void
reeld_families(struct text *t, const struct jobtab_info *in, int64_t age)
{
	family(t, "reel_reeld_uptime_seconds", "gauge",
	    "Seconds since reeld started.");
	text_add(t, "reel_reeld_uptime_seconds %.3f\n",
	    (clock_realtime_ms() - in->start_ms) / 1000.0);
	family(t, "reel_reeld_heartbeat_age_seconds", "gauge",
	    "Seconds since reeld's last heartbeat in the job table.");
	text_add(t, "reel_reeld_heartbeat_age_seconds %.3f\n", age / 1000.0);
	family(t, "reel_reeld_up", "gauge",
	    "1 when reeld's heartbeat is fresh, else 0.");
	text_add(t, "reel_reeld_up %d\n", age <= SHMVIEW_STALE_MS);
}

enum MHD_Result
metrics_reply(struct MHD_Connection *c)
{
	struct text t = {xcalloc(1, 4096), 0, 4096};
	struct jobtab_info info;
	struct MHD_Response *r;
	char err[256];
	int64_t age;
	enum MHD_Result rc;

	if (shmview_info(&info, &age, err, sizeof(err)) != 0) {
		free(t.buf);
		return reply_error(c, ERR_SERVICE_UNAVAILABLE,
		    "The service is unavailable.", err);
	}
	jobs_families(&t, &info);
	reeld_families(&t, &info, age);
	r = MHD_create_response_from_buffer(
	    t.len, t.buf, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "text/plain; version=0.0.4; charset=utf-8");
	reply_headers(c, r);
	rc = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return rc;
}
