/*
 * The journal: reeld's write-ahead log in STATE_DIR/journal, on
 * common/wal.c. Every record is one JSON object with the whole current
 * state of one job or one webhook event, so replay is an upsert by id and a
 * snapshot is one record per live object (docs/journal.md).
 *
 * Callers change their state in memory first, then record it here, then
 * publish it. When an append fails (ENOSPC, EIO) the journal is "behind":
 * new submissions are refused, and every tick tries to catch up by writing a
 * whole snapshot, which records everything the failed appends missed. The
 * log itself never holds a partial record, because wal.c cuts a failed
 * append back off.
 *
 * The journal knows no record's meaning: replay hands each record to the
 * handler its owner registered for that type, and a snapshot asks every
 * registered owner for its records. main.c does the registering, so the
 * journal never calls up into the modules that write to it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "journal.h"
#include "log.h"
#include "msg.h"
#include "util.h"
#include "wal.h"

/* Compact when the log has grown past both of these. */
#define JOURNAL_COMPACT_MIN (4u << 20)
#define JOURNAL_COMPACT_FACTOR 2
/*
 * Zeros written ahead of the records (wal_set_prealloc): a synced append
 * then changes no size. bench/supervisor's submissions, 4 alternated runs:
 * p50 368 against 410 us, p99 635 against 700 us (medians). One fsync per
 * MiB pays for it.
 */
#define JOURNAL_PREALLOC (1u << 20)
/* Test knob: tests cannot write megabytes to see a compaction. */
#define JOURNAL_COMPACT_ENV "REEL_JOURNAL_COMPACT_BYTES"

static struct wal *journal;
static const struct config *journal_cfg;
static uint64_t snapshot_bytes;
static uint64_t compact_min = JOURNAL_COMPACT_MIN;
static bool behind;
static bool compact_due;
static journal_replay_fn *replay_handlers[JOURNAL_RECORD_MAX + 1];
static journal_snapshot_fn *snapshot_writers[JOURNAL_SNAPSHOT_WRITERS];
static unsigned nsnapshot_writers;

void
journal_on_replay(unsigned type, journal_replay_fn *fn)
{
	if (type == 0 || type > JOURNAL_RECORD_MAX)
		fatalx("%s: no record type %u", __func__, type);
	replay_handlers[type] = fn;
}

void
journal_on_snapshot(journal_snapshot_fn *fn)
{
	if (nsnapshot_writers == JOURNAL_SNAPSHOT_WRITERS)
		fatalx("%s: too many snapshot writers", __func__);
	snapshot_writers[nsnapshot_writers++] = fn;
}

/* -1 for a type nobody registered: reeld never wrote such a record. */
static int
journal_dispatch(unsigned type, json_t *rec)
{
	if (type == 0 || type > JOURNAL_RECORD_MAX ||
	    replay_handlers[type] == NULL)
		return -1;
	return replay_handlers[type](type, rec);
}

static int
journal_replay_cb(void *arg, unsigned type, const void *data, size_t len,
    char *errbuf, size_t errlen)
{
	json_error_t err;
	json_t *rec;
	int rc;

	(void)arg;
	rec = json_loadb(data, len, 0, &err);
	if (rec == NULL || !json_is_object(rec)) {
		snprintf(errbuf, errlen, "unreadable record of type %u: %s",
		    type, err.text);
		json_decref(rec);
		return -1;
	}
	rc = journal_dispatch(type, rec);
	if (rc != 0)
		snprintf(errbuf, errlen, "invalid record of type %u", type);
	json_decref(rec);
	return rc;
}

static void
journal_knob(void)
{
	const char *v = getenv(JOURNAL_COMPACT_ENV);
	char *end;
	unsigned long long n;

	if (v == NULL || *v == '\0')
		return;
	n = strtoull(v, &end, 10);
	if (*end != '\0' || n < 4096 || n > JOURNAL_COMPACT_MIN) {
		log_warnx("%s=%s ignored: must be 4096..%u",
		    JOURNAL_COMPACT_ENV, v, JOURNAL_COMPACT_MIN);
		return;
	}
	compact_min = n;
	log_info("journal: %s=%llu", JOURNAL_COMPACT_ENV, n);
}

void
journal_open(const struct config *cfg)
{
	char path[MSG_PATH_SIZE], err[256];
	struct wal_stats st;

	journal_cfg = cfg;
	journal_knob();
	snprintf(path, sizeof(path), "%s/journal", cfg->state_dir);
	journal = wal_open(path, journal_replay_cb, NULL, err, sizeof(err));
	if (journal == NULL)
		fatalx("journal %s: %s", path, err);
	if (cfg->journal_sync != JOURNAL_SYNC_NEVER)
		wal_set_prealloc(journal, JOURNAL_PREALLOC);
	wal_stats(journal, &st);
	snapshot_bytes = st.base_size;
	log_info("journal %s: %llu records, %llu bytes replayed", path,
	    (unsigned long long)st.records, (unsigned long long)st.size);
}

static bool
journal_sync_wanted(bool important)
{
	switch (journal_cfg->journal_sync) {
	case JOURNAL_SYNC_ALWAYS:
		return true;
	case JOURNAL_SYNC_NEVER:
		return false;
	}
	return important;
}

int
journal_write(unsigned type, json_t *rec, bool important)
{
	char *text = json_dumps(rec, JSON_COMPACT | JSON_REAL_PRECISION(17));
	int rc, saved;

	if (text == NULL)
		fatalx("%s: cannot encode a record", __func__);
	rc = wal_append(
	    journal, type, text, strlen(text), journal_sync_wanted(important));
	saved = errno;
	free(text);
	if (rc != 0) {
		if (!behind)
			log_warnx("journal: append failed: %s; refusing new "
				  "jobs until it can be written",
			    strerror(saved));
		behind = true;
		errno = saved;
		return -1;
	}
	if (wal_size(journal) > compact_min &&
	    wal_size(journal) > JOURNAL_COMPACT_FACTOR * snapshot_bytes)
		compact_due = true;
	return 0;
}

int
journal_snapshot_add(struct wal_compaction *c, unsigned type, json_t *rec)
{
	char *text = json_dumps(rec, JSON_COMPACT | JSON_REAL_PRECISION(17));
	int rc;

	if (text == NULL)
		fatalx("%s: cannot encode a record", __func__);
	rc = wal_compact_add(c, type, text, strlen(text));
	free(text);
	return rc;
}

/* Rewrites the log as one record per live object, writer by writer. */
static int
journal_compact(void)
{
	struct wal_compaction *c = wal_compact_begin(journal);

	if (c == NULL)
		return -1;
	for (unsigned i = 0; i < nsnapshot_writers; i++) {
		if (snapshot_writers[i](c) != 0) {
			wal_compact_abort(c);
			return -1;
		}
	}
	if (wal_compact_commit(c) != 0)
		return -1;
	snapshot_bytes = wal_size(journal);
	log_info("journal compacted to %llu bytes",
	    (unsigned long long)snapshot_bytes);
	return 0;
}

/* From the heartbeat, when no caller is half-way through a change. */
void
journal_tick(void)
{
	if (!behind && !compact_due)
		return;
	if (journal_compact() != 0) {
		if (!behind)
			log_warn("journal: compaction failed");
		compact_due = false;
		return;
	}
	if (behind)
		log_info("journal: caught up; accepting new jobs again");
	behind = false;
	compact_due = false;
}

/* False while the journal cannot take records: refuse new work. */
bool
journal_writable(void)
{
	if (behind)
		journal_tick();
	return !behind;
}

void
journal_close(void)
{
	if (journal == NULL)
		return;
	if (wal_sync(journal) != 0)
		log_warn("journal: final sync");
	wal_close(journal);
	journal = NULL;
}
