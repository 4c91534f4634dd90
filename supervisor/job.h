/*
 * job.c: jobs, the FIFO queue, stage sequencing, the shm table.
 */
#ifndef REEL_SUP_JOB_H
#define REEL_SUP_JOB_H

#include <stdbool.h>
#include <sys/types.h>

#include <event2/event.h>
#include <jansson.h>

#include "config.h"
#include "jobtab.h"
#include "msg.h"

struct wal_compaction;

/* Who sent a request, from SO_PEERCRED (control.c). */
struct caller {
	uid_t uid;
	bool admin; /* root or in --admin-group: sees every job */
};

struct job;
void job_init(
    struct event_base *base, const struct config *cfg, struct jobtab *jt);
int job_replay(unsigned type, json_t *rec);
int job_replay_forget(unsigned type, json_t *rec);
/* After replay: requeue and resume what was unfinished. */
void job_recover(void);
int job_snapshot(struct wal_compaction *c);
int job_submit(const struct msg_submit *req, const struct caller *who,
    json_t **data, char *code, char *detail);
/* NULL when there is no such job or the caller may not see it. */
struct job *job_find(const char *job_id, const struct caller *who);
const char *job_id(const struct job *j);
const char *job_webhook_url(const struct job *j);
int job_cancel(struct job *j, char *code, char *detail);
json_t *job_json(const struct job *j, bool detail);
json_t *job_list_json(const char *status, unsigned page, unsigned page_size,
    const struct caller *who);
int job_artifact_open(const struct job *j, const char *artifact, int *fd,
    char *code, char *detail);
bool job_terminal(const struct job *j);
void job_publish_counters(void);
void job_heartbeat(void);
void job_shutdown(void);
unsigned job_active_count(void);

#endif
