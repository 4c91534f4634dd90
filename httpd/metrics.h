/*
 * GET /metrics: Prometheus's text exposition format (version 0.0.4),
 * from reeld's counters in the shared job table, so a scrape costs reeld
 * nothing. Names follow Prometheus's conventions: reel_ prefix, _total
 * for counters, base units (seconds).
 */
#ifndef REEL_HTTPD_METRICS_H
#define REEL_HTTPD_METRICS_H

#include <microhttpd.h>

enum MHD_Result metrics_reply(struct MHD_Connection *c);

#endif
