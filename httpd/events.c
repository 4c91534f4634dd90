/*
 * libmicrohttpd runs one thread per connection, so the content callback
 * may wait for the next change itself. A job that has left the table
 * (its slot reused) is read from reeld instead.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "contract.h"
#include "events.h"
#include "reply.h"
#include "shmview.h"
#include "util.h"

struct stream {
	struct auth_identity who;
	char job_id[REEL_ID_SIZE];
	char *last;    /* the last JobResponse sent, compact JSON */
	bool ended;    /* the end event has been sent */
	bool opened;   /* the retry hint has been sent */
	uint32_t slot; /* where the job was last found in the table */
	int64_t quiet_since;
};

/* The job's JobResponse now, from the table or else from reeld. */
static json_t *
stream_job(struct stream *s)
{
	json_t *job = shmview_job_at(s->job_id, &s->who, &s->slot);
	json_t *data = NULL;
	char err[256];
	struct msg req, resp;

	if (job != NULL)
		return job;
	msg_init(&req, MSG_STATUS);
	str_copy(req.u.job_ref.job_id, s->job_id, sizeof(req.u.job_ref.job_id));
	if (backend_call(&s->who, &req, &resp, err, sizeof(err)) != 0)
		return NULL;
	if (resp.u.response.success && resp.u.response.data != NULL)
		data = shmview_job_from(resp.u.response.data);
	msg_clear(&resp);
	return data;
}

static bool
job_terminal_json(const json_t *job)
{
	enum job_status st;

	return job_status_parse(
		   json_string_value(json_object_get(job, "status")), &st) ==
		   0 &&
	       job_status_terminal(st);
}

static ssize_t
stream_write(char *buf, size_t max, const char *event, const char *data)
{
	int n = snprintf(buf, max, "event: %s\ndata: %s\n\n", event, data);

	return n > 0 && (size_t)n < max ? n : MHD_CONTENT_READER_END_WITH_ERROR;
}

/* The next event, once there is one; waits for a change. */
static ssize_t
stream_next(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *s = cls;
	struct timespec nap = {0, EVENTS_POLL_MS * 1000000L};
	json_t *job;
	char *text;
	ssize_t n;

	(void)pos;
	if (!s->opened) {
		s->opened = true;
		s->quiet_since = clock_monotonic_us() / 1000;
		return snprintf(buf, max, "retry: 1000\n\n");
	}
	if (s->ended)
		return MHD_CONTENT_READER_END_OF_STREAM;
	for (;;) {
		if ((job = stream_job(s)) == NULL)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		text = json_dumps(job, JSON_COMPACT);
		s->ended = job_terminal_json(job);
		json_decref(job);
		if (s->ended || s->last == NULL || strcmp(text, s->last) != 0)
			break;
		free(text);
		if (clock_monotonic_us() / 1000 - s->quiet_since >=
		    EVENTS_KEEPALIVE_MS) {
			s->quiet_since = clock_monotonic_us() / 1000;
			return snprintf(buf, max, ": keepalive\n\n");
		}
		nanosleep(&nap, NULL);
	}
	n = stream_write(buf, max, s->ended ? "end" : "status", text);
	free(s->last);
	s->last = text;
	s->quiet_since = clock_monotonic_us() / 1000;
	return n;
}

static void
stream_free(void *cls)
{
	struct stream *s = cls;

	free(s->last);
	free(s);
}

enum MHD_Result
events_reply(struct MHD_Connection *c, const struct auth_identity *who,
    const char *job_id)
{
	struct stream *s = xcalloc(1, sizeof(*s));
	struct MHD_Response *r;
	json_t *job;
	enum MHD_Result rc;
	char detail[64];

	s->who = *who;
	str_copy(s->job_id, job_id, sizeof(s->job_id));
	if ((job = stream_job(s)) == NULL) {
		stream_free(s);
		snprintf(detail, sizeof(detail), "No job with id '%s' exists.",
		    job_id);
		return reply_error(c, ERR_JOB_NOT_FOUND,
		    "The specified job could not be found.", detail);
	}
	json_decref(job);
	r = MHD_create_response_from_callback(
	    MHD_SIZE_UNKNOWN, 4096, stream_next, s, stream_free);
	MHD_add_response_header(
	    r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
	MHD_add_response_header(r, "X-Accel-Buffering", "no");
	reply_headers(c, r);
	rc = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return rc;
}
