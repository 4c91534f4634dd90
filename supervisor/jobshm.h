/*
 * jobshm.c: the only writer of jobs.shm's rows and counters. A job shows in
 * one slot of the table; when the table is full, the oldest finished job
 * gives its slot up (it stays queryable by id).
 */
#ifndef REEL_SUP_JOBSHM_H
#define REEL_SUP_JOBSHM_H

#include "job.h"
#include "jobtab.h"

void jobshm_init(struct jobtab *jt);
/* Gives j a slot, or leaves j->j_slot at -1 when none is free. */
void jobshm_claim_slot(struct job *j);
void jobshm_release_slot(struct job *j);
/* Writes j's row, when it has a slot. */
void jobshm_publish(const struct job *j);
/* The table header's counters; jobshm_publish_counters() writes them. */
struct jobtab_info *jobshm_counters(void);
/* Counts a job that has ended: completed, failed or cancelled. */
void jobshm_count_end(const struct job *j);
void jobshm_publish_counters(void);
void jobshm_heartbeat(void);

#endif
