/*
 * journal.c: the write-ahead journal (docs/journal.md), a passive log.
 * Records are JSON objects; replay hands each to the handler registered
 * for its type, and a compaction asks every registered snapshot writer.
 */
#ifndef REEL_SUP_JOURNAL_H
#define REEL_SUP_JOURNAL_H

#include <stdbool.h>

#include <jansson.h>

#include "config.h"

enum journal_record {
	JOURNAL_JOB = 1,	     /* a job's whole state */
	JOURNAL_WEBHOOK = 2,	     /* a webhook event, with its body */
	JOURNAL_WEBHOOK_ATTEMPT = 3, /* an event's delivery state changed */
	JOURNAL_FORGET = 4,	     /* a job left after its retention */
	JOURNAL_RECORD_MAX = JOURNAL_FORGET,
};
/* Room for every module that keeps records: jobs and webhooks today. */
#define JOURNAL_SNAPSHOT_WRITERS 4
struct wal_compaction;
/* Applies one replayed record; -1 when it is not one reeld wrote. */
typedef int journal_replay_fn(unsigned type, json_t *rec);
/* Adds one record per live object to a compaction; -1 on failure. */
typedef int journal_snapshot_fn(struct wal_compaction *c);
/* Both before journal_open(); snapshots run in registration order. */
void journal_on_replay(unsigned type, journal_replay_fn *fn);
void journal_on_snapshot(journal_snapshot_fn *fn);
void journal_open(const struct config *cfg);
/* important: fsync under the default policy. -1 with errno on failure. */
int journal_write(unsigned type, json_t *rec, bool important);
int journal_snapshot_add(struct wal_compaction *c, unsigned type, json_t *rec);
bool journal_writable(void);
void journal_tick(void);
void journal_close(void);

#endif
