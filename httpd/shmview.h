/*
 * reeld's shared-memory job table, read-only: the fast path for job
 * status, the service's liveness and its counters. A status poll costs
 * reeld nothing. reeld replaces the file when it restarts, so the view
 * maps the new one as soon as the path names another file.
 */
#ifndef REEL_HTTPD_SHMVIEW_H
#define REEL_HTTPD_SHMVIEW_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "auth.h"
#include "jobtab.h"

/* A heartbeat older than this (reeld beats every second): reeld is gone. */
#define SHMVIEW_STALE_MS 3000

void shmview_init(const char *path);
/*
 * The job's JobResponse when its slot is in the table and who may see it;
 * NULL otherwise (reeld then answers: the slot may have been reused).
 */
json_t *shmview_job(const char *job_id, const struct auth_identity *who);
/*
 * As shmview_job, trying slot *hint first and setting it to the job's
 * slot: a stream that polls one job reads one slot, not the table.
 */
json_t *shmview_job_at(
    const char *job_id, const struct auth_identity *who, uint32_t *hint);
/* The JobResponse of a job object of reeld's (its other keys left out). */
json_t *shmview_job_from(json_t *job);
/* The JobResponse of a job, from its slot. */
json_t *shmview_job_json(const struct jobtab_job *row);
/*
 * The header: 0 with info and the heartbeat's age, or -1 with err when
 * there is no table or it cannot be read.
 */
int shmview_info(
    struct jobtab_info *info, int64_t *age_ms, char *err, size_t errlen);

#endif
