/*
 * Publishing jobs to the shared-memory table (docs/reelstat.md). This file
 * is the only caller of the jobtab writer functions: reeld is the table's
 * only writer, and readers never block it.
 */
#include <string.h>

#include "child.h"
#include "job.h"
#include "jobshm.h"
#include "log.h"
#include "util.h"

/* The job shown in each slot of the shared-memory table, or NULL. */
static struct job **slot_owner;
static struct jobtab *job_table;
static struct jobtab_info counters;

void
jobshm_init(struct jobtab *jt)
{
	job_table = jt;
	slot_owner = xcalloc(jobtab_slot_count(jt), sizeof(*slot_owner));
}

/*
 * A free slot of the shared-memory table; when the table is full, the
 * oldest finished job gives up its slot (it stays queryable by id).
 */
static int
find_free_slot(struct job *j)
{
	uint32_t nslots = jobtab_slot_count(job_table);
	static uint32_t hint;
	struct job *old;

	for (uint32_t i = 0; i < nslots; i++) {
		uint32_t slot = (hint + i) % nslots;

		if (slot_owner[slot] == NULL) {
			hint = slot + 1;
			slot_owner[slot] = j;
			return (int)slot;
		}
	}
	for (old = job_first(); old != NULL; old = job_next(old)) {
		if (old->j_slot >= 0 && job_terminal(old) && !old->j_running) {
			int slot = old->j_slot;

			old->j_slot = -1;
			slot_owner[slot] = j;
			return slot;
		}
	}
	return -1;
}

void
jobshm_claim_slot(struct job *j)
{
	j->j_slot = find_free_slot(j);
}

void
jobshm_release_slot(struct job *j)
{
	if (j->j_slot < 0)
		return;
	slot_owner[j->j_slot] = NULL;
	jobtab_clear_job(job_table, (uint32_t)j->j_slot);
	j->j_slot = -1;
}

void
jobshm_publish(const struct job *j)
{
	struct jobtab_job row;

	if (j->j_slot < 0)
		return;
	memset(&row, 0, sizeof(row));
	row.in_use = 1;
	row.status = (uint8_t)j->j_st.status;
	row.stage = (uint8_t)j->j_st.stage;
	row.progress = (uint8_t)j->j_st.progress;
	row.error_stage = (uint8_t)j->j_st.error_stage;
	row.template_only = j->j_st.template_only;
	row.worker_pid = j->j_child != NULL   ? child_pid(j->j_child)
			 : j->j_early != NULL ? child_pid(j->j_early)
					      : 0;
	row.created_ms = j->j_st.created_ms;
	row.updated_ms = j->j_st.updated_ms;
	row.started_ms = j->j_st.started_ms;
	row.completed_ms = j->j_st.completed_ms;
	str_copy(row.job_id, j->j_id, sizeof(row.job_id));
	str_copy(row.video_id, j->j_video, sizeof(row.video_id));
	str_copy(row.template_id, j->j_template, sizeof(row.template_id));
	str_copy(row.error, j->j_st.error, sizeof(row.error));
	row.owner_uid = (uint32_t)j->j_owner;
	str_copy(row.owner_name, j->j_owner_name, sizeof(row.owner_name));
	str_copy(row.error_code, j->j_st.error_code, sizeof(row.error_code));
	jobtab_write_job(job_table, (uint32_t)j->j_slot, &row);
}

struct jobtab_info *
jobshm_counters(void)
{
	return &counters;
}

void
jobshm_count_end(const struct job *j)
{
	switch (j->j_st.status) {
	case JOB_COMPLETED:
		counters.completed++;
		break;
	case JOB_FAILED:
		counters.failed++;
		break;
	case JOB_CANCELLED:
		counters.cancelled++;
		break;
	default:
		fatalx("%s: %s ended as %s", __func__, j->j_id,
		    job_status_name(j->j_st.status));
	}
}

void
jobshm_publish_counters(void)
{
	jobtab_write_counters(job_table, &counters);
}

void
jobshm_heartbeat(void)
{
	jobtab_heartbeat(job_table, clock_realtime_ms());
}
