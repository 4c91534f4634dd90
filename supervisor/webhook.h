/*
 * webhook.c: the durable outbox. POSTs a JSON body to a job's webhook_url
 * when the job ends, with retries. event_id is stable across retries and
 * restarts (the webhook-id header). It knows jobs only by their id.
 */
#ifndef REEL_SUP_WEBHOOK_H
#define REEL_SUP_WEBHOOK_H

#include <stdbool.h>

#include <event2/event.h>
#include <jansson.h>

#include "config.h"

struct wal_compaction;

void webhook_init(struct event_base *base, const struct config *cfg);
/* Journals and serialises body at once; the caller keeps its reference. */
int webhook_post(
    const char *job_id, const char *url, const char *event_id, json_t *body);
bool webhook_known(const char *event_id);
int webhook_replay(unsigned type, json_t *rec);
int webhook_snapshot(struct wal_compaction *c);
/* Starts the deliveries replay found unfinished. */
void webhook_resume(void);
/* The job's events and their attempts, for the detail view. */
json_t *webhook_job_json(const char *job_id);
/* Sends the job's last event again, under the same id. */
int webhook_redeliver(const char *job_id, char *code, char *detail);
void webhook_forget_job(const char *job_id);
void webhook_shutdown(void);

#endif
