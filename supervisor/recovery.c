/*
 * Recovery at start-up, after the journal's replay: the registry holds every
 * job's last recorded state, and this puts them back in the queue and the
 * shared-memory table (docs/jobs.md "Durability and recovery").
 */
#include "job.h"
#include "jobrun.h"
#include "jobshm.h"
#include "jobview.h"
#include "log.h"
#include "recovery.h"
#include "webhook.h"

static void
recover_one(struct job *j)
{
	char event_id[REEL_ID_SIZE + 16];

	jobshm_counters()->submitted++;
	if (job_terminal(j)) {
		jobshm_count_end(j);
		if (j->j_st.status == JOB_COMPLETED)
			jobview_load_style(j);
		jobview_event_id(j, event_id, sizeof(event_id));
		/* Reeld died between the terminal record and the event's. */
		if (j->j_webhook[0] != '\0' && !webhook_known(event_id))
			jobrun_notify(j);
		return;
	}
	if (j->j_st.status == JOB_PROCESSING) {
		j->j_resume = true;
		job_clean_files(j, ".", "left by a killed worker");
		log_info(
		    "%s resumes at %s", j->j_id, stage_name(j->j_st.stage));
	}
	if (j->j_st.stage > STAGE_STYLE_EXTRACTION)
		jobview_load_style(j);
}

/*
 * Unfinished jobs go back in the queue: those that were processing first,
 * in their order of starting, then the queued ones in their order of
 * submission: nobody loses their place.
 */
void
recovery_run(void)
{
	struct job *j;

	for (j = job_first(); j != NULL; j = job_next(j)) {
		recover_one(j);
		if (j->j_resume)
			jobrun_enqueue(j);
	}
	for (j = job_first(); j != NULL; j = job_next(j)) {
		if (!job_terminal(j) && !j->j_resume)
			jobrun_enqueue(j);
		jobshm_claim_slot(j);
		jobshm_publish(j);
	}
	jobshm_publish_counters();
	jobrun_schedule();
}
