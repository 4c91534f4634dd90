/*
 * job.c: the registry of jobs. It owns every job record (struct job), finds
 * them by id, decides who may see one (its owner, or an admin), and knows
 * each job's directory. The other job modules share struct job: jobrun.c
 * changes it, jobshm.c, jobrecord.c and jobview.c show it.
 */
#ifndef REEL_SUP_JOB_H
#define REEL_SUP_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/queue.h>
#include <sys/types.h>

#include <event2/event.h>
#include <jansson.h>

#include "child.h"
#include "config.h"
#include "contract.h"
#include "jobstate.h"
#include "msg.h"

/*
 * Who sent a request, from SO_PEERCRED (control.c), and the owner a
 * trusted front end named with IDENTIFY ("" for local clients).
 */
struct caller {
	uid_t uid;
	char name[REEL_USER_SIZE];
	bool admin;   /* root, in --admin-group, or an admin token */
	bool trusted; /* root, reeld's own user or --api-user */
};

struct job {
	TAILQ_ENTRY(job) j_all;
	/* In the queue, or in the running list while j_running. */
	TAILQ_ENTRY(job) j_active;
	LIST_ENTRY(job) j_hash;
	bool j_queued;
	/* Processing when reeld stopped: runs its current stage again. */
	bool j_resume;
	uid_t j_owner;
	char j_owner_name[REEL_USER_SIZE];
	char j_id[REEL_ID_SIZE];
	char j_video[REEL_ID_SIZE];
	char j_template[REEL_ID_SIZE];
	char j_webhook[MSG_URL_SIZE];
	struct msg_config j_config;
	struct jobstate j_st;
	/* The worker of the job's current stage. */
	struct child *j_child;
	/*
	 * audio_analysis started early, beside video_analysis (docs/jobs.md,
	 * "stages run"), and its outcome, kept until the job reaches that
	 * stage.
	 */
	struct child *j_early;
	bool j_early_ended;
	struct child_outcome j_early_out;
	char j_early_code[MSG_WORD_SIZE];
	/* Set while the job holds one of the --slots processing slots. */
	bool j_running;
	struct event *j_timeout_ev;
	int j_slot;
	json_t *j_style;
	/* Per stage: worker wall time and peak RSS, for the detail view. */
	struct {
		double wall_s;
		double cpu_s;
		long peak_rss_kb;
	} j_stats[STAGE_LAST + 1];
};

void job_init(const struct config *cfg);
/* A new record, in no list yet; job_insert() registers it. */
struct job *job_alloc(void);
void job_insert(struct job *j);
/* Unregisters and frees j; its shm slot must be given back first. */
void job_free(struct job *j);
/* Any job by id, whoever owns it: for reeld's own bookkeeping. */
struct job *job_lookup(const char *job_id);
bool job_visible(const struct job *j, const struct caller *who);
/* NULL when there is no such job or the caller may not see it. */
struct job *job_find(const char *job_id, const struct caller *who);
/* Every job in the order of submission (replay keeps that order). */
struct job *job_first(void);
struct job *job_next(const struct job *j);
struct job *job_last(void);
struct job *job_prev(const struct job *j);
const char *job_id(const struct job *j);
const char *job_webhook_url(const struct job *j);
bool job_terminal(const struct job *j);
/* STATE_DIR/jobs/<id>: the job's artifacts. */
void job_dir(const struct job *j, char *buf, size_t len);
/* Removes the files of the job directory whose names start with prefix. */
void job_clean_files(const struct job *j, const char *prefix, const char *why);

#endif
