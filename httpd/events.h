/*
 * GET /jobs/{id}/events: Server-Sent Events. A "status" event with the
 * JobResponse on every change of status, stage or progress, then an "end"
 * event with the terminal state, then the stream closes. Browsers'
 * EventSource reads it. Changes are read from the job's slot in reeld's
 * shared job table every EVENTS_POLL_MS (one slot copy, microseconds), so
 * a stream costs reeld nothing; changes closer together than that are
 * sent as one.
 */
#ifndef REEL_HTTPD_EVENTS_H
#define REEL_HTTPD_EVENTS_H

#include <microhttpd.h>

#include "auth.h"

#define EVENTS_POLL_MS 20
/* A comment line this often keeps proxies and idle timeouts away. */
#define EVENTS_KEEPALIVE_MS 15000

enum MHD_Result events_reply(struct MHD_Connection *c,
    const struct auth_identity *who, const char *job_id);

#endif
