/*
 * jobview.c: what clients and webhook receivers see of a job: the
 * contract's job object, the list, the result's artifacts and the webhook
 * body. Reads jobs, never changes their state.
 */
#ifndef REEL_SUP_JOBVIEW_H
#define REEL_SUP_JOBVIEW_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "job.h"

json_t *jobview_json(const struct job *j, bool detail);
json_t *jobview_list(const char *status, unsigned page, unsigned page_size,
    const struct caller *who);
int jobview_artifact_open(const struct job *j, const char *artifact, int *fd,
    char *code, char *detail);
/* (Re)reads style.json for the detail view's style_json. */
void jobview_load_style(struct job *j);
/* The event id of the job's end: stable across retries and restarts. */
void jobview_event_id(const struct job *j, char *buf, size_t len);
json_t *jobview_webhook_body(const struct job *j);

#endif
