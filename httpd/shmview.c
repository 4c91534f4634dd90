/*
 * One mapping shared by every request thread, swapped under a rwlock when
 * the file at the path changes (its inode differs). Readers hold the read
 * lock while they copy a slot, so an old mapping is unmapped only after
 * the last copy from it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "contract.h"
#include "jsonfmt.h"
#include "shmview.h"
#include "util.h"

static pthread_rwlock_t view_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct jobtab *view;
static ino_t view_ino;
static dev_t view_dev;
static char view_path[4096];

void
shmview_init(const char *path)
{
	str_copy(view_path, path, sizeof(view_path));
}

static bool
view_current(const struct stat *st)
{
	return view != NULL && st->st_ino == view_ino && st->st_dev == view_dev;
}

/* Maps the file now at the path when it is not the one mapped. */
static void
view_refresh(void)
{
	char err[256];
	struct stat st;
	struct jobtab *fresh;

	if (stat(view_path, &st) != 0)
		return;
	pthread_rwlock_rdlock(&view_lock);
	if (view_current(&st)) {
		pthread_rwlock_unlock(&view_lock);
		return;
	}
	pthread_rwlock_unlock(&view_lock);
	if ((fresh = jobtab_open_ro(view_path, err, sizeof(err))) == NULL)
		return;
	pthread_rwlock_wrlock(&view_lock);
	if (view != NULL)
		jobtab_close(view);
	view = fresh;
	view_ino = st.st_ino;
	view_dev = st.st_dev;
	pthread_rwlock_unlock(&view_lock);
}

json_t *
shmview_job_json(const struct jobtab_job *row)
{
	json_t *o = json_pack(
	    "{s:s, s:s, s:o, s:s, s:i, s:o, s:o, s:o, s:o, s:o, s:b}", "job_id",
	    row->job_id, "video_id", row->video_id, "template_video_id",
	    jsonfmt_id(row->template_id), "status",
	    job_status_name(row->status), "progress_percent",
	    (int)row->progress, "current_stage",
	    row->status == JOB_PROCESSING ? json_string(stage_name(row->stage))
					  : json_null(),
	    "created_at", jsonfmt_time(row->created_ms), "updated_at",
	    jsonfmt_time(row->updated_ms), "started_at",
	    jsonfmt_time(row->started_ms), "completed_at",
	    jsonfmt_time(row->completed_ms), "template_only",
	    row->template_only != 0);

	if (o != NULL && row->status == JOB_FAILED)
		json_object_set_new(o, "error",
		    json_pack("{s:s, s:s, s:s}", "stage",
			stage_name(row->error_stage), "message", row->error,
			"code", row->error_code));
	return o;
}

/* The JobResponse keys of reeld's job object, in the documented order. */
json_t *
shmview_job_from(json_t *job)
{
	static const char *const keys[] = {"job_id", "video_id",
	    "template_video_id", "status", "progress_percent", "current_stage",
	    "created_at", "updated_at", "started_at", "completed_at",
	    "template_only", "error"};
	json_t *o = json_object(), *v;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if ((v = json_object_get(job, keys[i])) != NULL)
			json_object_set(o, keys[i], v);
	}
	return o;
}

static bool
row_visible(const struct jobtab_job *row, const struct auth_identity *who)
{
	return who->admin || (row->owner_uid == (uint32_t)getuid() &&
				 strcmp(row->owner_name, who->user) == 0);
}

/* Whether slot i holds the job; its copy in row. Under the read lock. */
static bool
slot_holds(uint32_t i, const char *job_id, struct jobtab_job *row)
{
	return jobtab_try_read_job(view, i, row) == 0 && row->in_use &&
	       strcmp(row->job_id, job_id) == 0;
}

json_t *
shmview_job_at(
    const char *job_id, const struct auth_identity *who, uint32_t *hint)
{
	struct jobtab_job row;
	json_t *found = NULL;
	uint32_t n, i = 0;
	bool held = false;

	view_refresh();
	pthread_rwlock_rdlock(&view_lock);
	n = view != NULL ? jobtab_slot_count(view) : 0;
	if (hint != NULL && *hint < n && slot_holds(*hint, job_id, &row)) {
		held = true;
		i = *hint;
	}
	while (!held && i < n && !(held = slot_holds(i, job_id, &row)))
		i++;
	if (held && row_visible(&row, who)) {
		found = shmview_job_json(&row);
		if (hint != NULL)
			*hint = i;
	}
	pthread_rwlock_unlock(&view_lock);
	return found;
}

json_t *
shmview_job(const char *job_id, const struct auth_identity *who)
{
	return shmview_job_at(job_id, who, NULL);
}

int
shmview_info(
    struct jobtab_info *info, int64_t *age_ms, char *err, size_t errlen)
{
	int rc = -1;

	view_refresh();
	pthread_rwlock_rdlock(&view_lock);
	if (view == NULL)
		snprintf(err, errlen, "%s: no job table (has reeld started?)",
		    view_path);
	else if (jobtab_try_read_info(view, info) != 0)
		snprintf(err, errlen, "%s: reeld holds the header mid-update",
		    view_path);
	else
		rc = 0;
	pthread_rwlock_unlock(&view_lock);
	if (rc == 0) {
		*age_ms = clock_realtime_ms() - info->heartbeat_ms;
		if (*age_ms < 0)
			*age_ms = 0;
	}
	return rc;
}
