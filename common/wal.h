/*
 * A checksummed, append-only record log (write-ahead log) that knows
 * nothing of what its records mean. Guarantees: replay yields exactly the
 * records whose append returned 0, in order, minus at most an unsynced tail
 * lost to a crash; a torn or corrupt tail is cut at the last valid record;
 * a failed append leaves no partial record behind; compaction replaces the
 * log atomically or not at all; a file that is not a log is never
 * modified. The file format is in docs/journal.md.
 */
#ifndef REEL_WAL_H
#define REEL_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define WAL_VERSION 1
#define WAL_HEADER_SIZE 32
#define WAL_RECORD_HEADER_SIZE 12
/* Longest payload; a record header claiming more is corrupt. */
#define WAL_RECORD_MAX (1024 * 1024)

struct wal;
struct wal_compaction;

/*
 * Called for each valid record in order. data is valid only during the
 * call and has no particular alignment. Return 0 to go on, or -1 with a
 * message in err to abort the replay.
 */
typedef int (*wal_record_fn)(void *arg, unsigned type, const void *data,
    size_t len, char *err, size_t errlen);

struct wal_stats {
	uint64_t size;	       /* bytes in the log, file header included */
	uint64_t records;      /* records in the log */
	uint64_t base_size;    /* bytes of the last snapshot, header included */
	uint64_t base_records; /* records of the last snapshot */
};

/*
 * Opens the log at path, creating it (mode 0600) if absent, and takes an
 * exclusive lock on it. Removes a <path>.tmp left by an interrupted
 * compaction, replays every valid record through fn (may be NULL), and
 * cuts what follows the last valid record: zeros written ahead, or a torn
 * or corrupt tail (with a warning). Returns NULL with a reason
 * in err if the file is not a log of this version (left untouched), is
 * locked by another process, cannot be read, or fn aborts.
 */
struct wal *wal_open(
    const char *path, wal_record_fn fn, void *arg, char *err, size_t errlen);
/*
 * Appends one record: type 1..255, len <= WAL_RECORD_MAX. With sync, the
 * record is on stable storage when 0 is returned. On failure returns -1
 * with errno set (EINVAL, EMSGSIZE, ENOSPC, EIO, ...) and the record is
 * not in the log. After a failed sync every append fails with that errno
 * until a compaction commits or the log is reopened.
 */
int wal_append(
    struct wal *w, unsigned type, const void *data, size_t len, bool sync);
/*
 * From now on, keeps bytes (0: none) of zeros written ahead of the
 * records, so that a synced append does not grow the file: its fdatasync
 * then writes no inode. The zeros are cut when the log is next opened.
 * When they cannot be written, the log goes on without until reopened.
 */
void wal_set_prealloc(struct wal *w, uint64_t bytes);
/* Makes every record appended so far durable. */
int wal_sync(struct wal *w);
uint64_t wal_size(const struct wal *w);
void wal_stats(const struct wal *w, struct wal_stats *st);
/* Does not sync: call wal_sync first if unsynced records must survive. */
void wal_close(struct wal *w);

/*
 * Compaction: begin opens <path>.tmp, add writes the full current state
 * there as records, commit makes it the log (fsync, rename, directory
 * fsync) and the wal appends to it from then on. Until commit the log is
 * untouched and appends go on; abort, or any failure, removes the
 * temporary file and leaves the log as it was. Commit and abort free c.
 * Commit returns -1 with errno set if it did not replace the log, except
 * when only the directory fsync failed: the new log is then in use (the
 * same state either way) and the next synced append retries that fsync.
 * One compaction at a time (EBUSY).
 */
struct wal_compaction *wal_compact_begin(struct wal *w);
int wal_compact_add(
    struct wal_compaction *c, unsigned type, const void *data, size_t len);
int wal_compact_commit(struct wal_compaction *c);
void wal_compact_abort(struct wal_compaction *c);

/*
 * Parses a whole in-memory log image with the same decoder as wal_open,
 * calling fn (may be NULL) per valid record. Returns the length of the
 * valid prefix (where a torn or corrupt tail begins), or -1 with errno
 * EINVAL for a bad file header or ECANCELED if fn aborted. No I/O.
 */
ssize_t wal_parse(const void *buf, size_t len, wal_record_fn fn, void *arg);

#endif
