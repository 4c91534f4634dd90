/*
 * The registry of jobs: every job reeld knows, in the order of submission,
 * and a hash by id. Nothing here changes a job's state; jobrun.c does that,
 * through jobstate.c.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "job.h"
#include "log.h"
#include "util.h"

#define JOB_HASH_SIZE 4096

static TAILQ_HEAD(jobhead, job) jobs = TAILQ_HEAD_INITIALIZER(jobs);
static LIST_HEAD(, job) job_hash[JOB_HASH_SIZE];
static const struct config *job_cfg;

void
job_init(const struct config *cfg)
{
	job_cfg = cfg;
}

static unsigned
job_hash_of(const char *id)
{
	return str_hash(id) % JOB_HASH_SIZE;
}

void
job_dir(const struct job *j, char *buf, size_t len)
{
	snprintf(buf, len, "%s/jobs/%s", job_cfg->state_dir, j->j_id);
}

struct job *
job_lookup(const char *job_id)
{
	struct job *j;

	LIST_FOREACH(j, &job_hash[job_hash_of(job_id)], j_hash)
	{
		if (strcmp(j->j_id, job_id) == 0)
			return j;
	}
	return NULL;
}

bool
job_visible(const struct job *j, const struct caller *who)
{
	return who->admin || (j->j_owner == who->uid &&
				 strcmp(j->j_owner_name, who->name) == 0);
}

struct job *
job_find(const char *job_id, const struct caller *who)
{
	struct job *j = job_lookup(job_id);

	return j != NULL && job_visible(j, who) ? j : NULL;
}

const char *
job_id(const struct job *j)
{
	return j->j_id;
}

const char *
job_webhook_url(const struct job *j)
{
	return j->j_webhook;
}

bool
job_terminal(const struct job *j)
{
	return job_status_terminal(j->j_st.status);
}

struct job *
job_first(void)
{
	return TAILQ_FIRST(&jobs);
}

struct job *
job_next(const struct job *j)
{
	return TAILQ_NEXT(j, j_all);
}

struct job *
job_last(void)
{
	return TAILQ_LAST(&jobs, jobhead);
}

struct job *
job_prev(const struct job *j)
{
	return TAILQ_PREV(j, jobhead, j_all);
}

struct job *
job_alloc(void)
{
	struct job *j = xcalloc(1, sizeof(*j));

	j->j_slot = -1;
	return j;
}

void
job_insert(struct job *j)
{
	TAILQ_INSERT_TAIL(&jobs, j, j_all);
	LIST_INSERT_HEAD(&job_hash[job_hash_of(j->j_id)], j, j_hash);
}

void
job_free(struct job *j)
{
	TAILQ_REMOVE(&jobs, j, j_all);
	LIST_REMOVE(j, j_hash);
	if (j->j_timeout_ev != NULL)
		event_free(j->j_timeout_ev);
	json_decref(j->j_style);
	free(j);
}

/*
 * Removes the job directory's files whose names start with prefix:
 * temporary files (".name.XXXXXX") of a worker killed mid-write, or the
 * analysis proxies ("proxy-") that no stage needs once the job has ended.
 */
void
job_clean_files(const struct job *j, const char *prefix, const char *why)
{
	char path[MSG_PATH_SIZE];
	struct dirent *de;
	DIR *d;

	job_dir(j, path, sizeof(path));
	if ((d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, prefix, strlen(prefix)) != 0 ||
		    strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			log_info("%s: removed %s %s", j->j_id, de->d_name, why);
	}
	closedir(d);
}
