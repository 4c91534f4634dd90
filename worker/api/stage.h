/*
 * The contract between the worker skeleton and a stage. A stage sees only
 * this header and the libav helpers (av.h): never sockets or msgpack. It
 * reads its inputs and the earlier stages' artifacts from job_dir, writes
 * its own artifact there, reports progress, and returns.
 */
#ifndef REEL_STAGE_H
#define REEL_STAGE_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

/*
 * Exit codes of reel-worker (sysexits.h values), and what reeld makes of
 * them. A stage returns one of these; STAGE_OK only after real work.
 */
enum stage_result {
	STAGE_OK = 0,
	STAGE_E_USAGE = 64,    /* bad command line */
	STAGE_E_DATA = 65,     /* input media is corrupt or unsupported */
	STAGE_E_NOINPUT = 66,  /* an input or earlier artifact is missing */
	STAGE_E_SOFTWARE = 70, /* internal error */
	STAGE_E_OS = 71,       /* system error (fork, mmap, ...) */
	STAGE_E_IO = 74,       /* read or write error */
	STAGE_E_TEMP = 75,     /* temporary: out of memory, ... */
	STAGE_E_PROTOCOL = 76, /* bad message from reeld */
};

struct stage_ctx {
	const char *job_id;
	const char *stage;
	/* Artifacts of every stage of this job live here. */
	const char *job_dir;
	/* Source and template video paths; NULL when the job has none. */
	const char *source;
	const char *template_path;
	bool template_only;
	/* Stage-specific result sent to reeld (e.g. probe metadata), or NULL.
	 */
	json_t *result;
	/* Human-readable cause when run() fails. */
	char error[512];
	/* Private to the skeleton. */
	void *skeleton;
};

struct stage_ops {
	const char *name;
	enum stage_result (*run)(struct stage_ctx *ctx);
};

/*
 * Reports the fraction of the stage done, 0..1. Cheap to call per frame:
 * the skeleton sends at most every 100 ms or when the value moves by 1%.
 */
void stage_progress(struct stage_ctx *ctx, double fraction);
/* A job config value (reelctl --config k=v), or NULL. */
const char *stage_config(const struct stage_ctx *ctx, const char *key);
/* Sets ctx->error from a format and returns code, for one-line failures. */
enum stage_result stage_fail(struct stage_ctx *ctx, enum stage_result code,
    const char *fmt, ...) __attribute__((__format__(__printf__, 3, 4)));
/*
 * Writes <job_dir>/<name> atomically with what emit prints (emit returns
 * < 0 on failure): a temporary file beside it, synced, renamed over the
 * old one, and the directory synced, so a reader sees the old artifact or
 * the whole new one. STAGE_E_IO with ctx->error on failure, leaving no
 * temporary file behind.
 */
enum stage_result stage_write_file(struct stage_ctx *ctx, const char *name,
    int (*emit)(FILE *f, const void *arg), const void *arg);
/* stage_write_file for a JSON document, indented for people. */
enum stage_result stage_write_json(
    struct stage_ctx *ctx, const char *name, const json_t *doc);
/* Whether two paths name the same file (template used as its own source). */
bool stage_same_file(const char *a, const char *b);
/*
 * Look a stage up; NULL when unknown. The stages are split between two
 * libraries by what they link: stage_find() is reel-stages.so's table of
 * the stages that decode or encode media, stage_find_nolibav() that of
 * reel-stages-nolibav.so, the stages that only read reel's own artifacts.
 */
const struct stage_ops *stage_find(const char *name);
const struct stage_ops *stage_find_nolibav(const char *name);
/* The entry of table[0..n) named name, for the two finders; NULL if none. */
const struct stage_ops *stage_lookup(
    const struct stage_ops *table, size_t n, const char *name);

#endif
