/*
 * jobrun.c: jobs from submission to their end. The FIFO queue, the --slots
 * processing slots, each stage's worker through child.c (audio_analysis
 * beside video_analysis), the job timeout, cancellation and shutdown.
 * Every state change goes through jobstate.c, is journalled (jobrecord.c)
 * and then published (jobshm.c).
 */
#ifndef REEL_SUP_JOBRUN_H
#define REEL_SUP_JOBRUN_H

#include <event2/event.h>
#include <jansson.h>

#include "config.h"
#include "job.h"
#include "msg.h"

void jobrun_init(struct event_base *base, const struct config *cfg);
int jobrun_submit(const struct msg_submit *req, const struct caller *who,
    json_t **data, char *code, char *detail);
int jobrun_cancel(struct job *j, char *code, char *detail);
/* Puts a recovered job at the end of the queue; jobrun_schedule() runs it. */
void jobrun_enqueue(struct job *j);
/* Starts queued jobs while a processing slot is free. */
void jobrun_schedule(void);
/* Posts the webhook event of a job that has ended. */
void jobrun_notify(const struct job *j);
/*
 * Stops every worker. Their jobs stay processing in the journal and run
 * their current stage again when reeld next starts.
 */
void jobrun_shutdown(void);

#endif
