/*
 * Retention: terminal jobs past --retention-seconds are forgotten, their
 * directory, webhook events and journal record with them.
 */
#include <errno.h>
#include <stdio.h>

#include "config.h"
#include "job.h"
#include "jobshm.h"
#include "journal.h"
#include "log.h"
#include "retention.h"
#include "util.h"
#include "webhook.h"

static const struct config *retention_cfg;

void
retention_init(const struct config *cfg)
{
	retention_cfg = cfg;
}

/*
 * Gives back the job's shm slot, then frees it. Only terminal jobs, or jobs
 * during replay, are forgotten: neither is ever in the queue.
 */
static void
retention_forget(struct job *j)
{
	jobshm_release_slot(j);
	job_free(j);
}

int
retention_replay_forget(unsigned type, json_t *rec)
{
	const char *id = json_string_value(json_object_get(rec, "id"));
	struct job *j = id != NULL ? job_lookup(id) : NULL;

	(void)type;
	if (j != NULL)
		retention_forget(j);
	return 0;
}

/* A terminal job past --retention-seconds: its files, events and record go. */
static void
retention_expire(struct job *j)
{
	char path[MSG_PATH_SIZE];
	json_t *rec = json_pack("{s:s}", "id", j->j_id);

	if (journal_write(JOURNAL_FORGET, rec, false) != 0) {
		json_decref(rec);
		return;
	}
	json_decref(rec);
	job_dir(j, path, sizeof(path));
	if (remove_tree(path) != 0 && errno != ENOENT)
		log_warn("%s: remove %s", j->j_id, path);
	log_info("%s expired after the retention of %u s", j->j_id,
	    retention_cfg->retention_seconds);
	webhook_forget_job(j->j_id);
	retention_forget(j);
}

void
retention_tick(void)
{
	static int64_t last_scan;
	int64_t now = clock_realtime_ms();
	int64_t limit = now - (int64_t)retention_cfg->retention_seconds * 1000;
	struct job *j, *next;

	/* Retention is counted in seconds: one pass a second is enough. */
	if (now - last_scan < 1000)
		return;
	last_scan = now;

	for (j = job_first(); j != NULL; j = next) {
		next = job_next(j);
		if (job_terminal(j) && !j->j_running &&
		    j->j_st.completed_ms < limit)
			retention_expire(j);
	}
}
