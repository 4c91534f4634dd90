/*
 * jobrecord.c: a job's journal record, its whole state as one JSON object
 * (docs/journal.md), and replaying it as an upsert by id.
 */
#ifndef REEL_SUP_JOBRECORD_H
#define REEL_SUP_JOBRECORD_H

#include <stdbool.h>

#include <jansson.h>

#include "job.h"

struct wal_compaction;

/* Records j; a failure leaves the journal behind (journal.c). */
int jobrecord_write(const struct job *j, bool important);
/* The journal's snapshot writer and JOURNAL_JOB replay handler. */
int jobrecord_snapshot(struct wal_compaction *c);
int jobrecord_replay(unsigned type, json_t *rec);

#endif
