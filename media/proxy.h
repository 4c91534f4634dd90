/*
 * The motion proxy file: the small gray frames of one input, with their
 * times, that video_analysis writes while it decodes and motion_analysis
 * reads instead of decoding the video a second time. The format is
 * documented in docs/stages/video_analysis.md.
 *
 * Guarantees:
 * - A proxy appears under its final name only complete: it is written to
 *   a temporary file beside it (a dot name, which reeld sweeps away when a
 *   killed job resumes), synced, then renamed.
 * - Writing and reading stream: memory never grows with the video.
 * - proxy_open() checks the whole file's shape before a frame is read, so
 *   a missing, truncated or foreign file fails at once with a message
 *   naming it; reads are positional and safe from several threads.
 * Prefix proxy_.
 */
#ifndef REEL_PROXY_H
#define REEL_PROXY_H

#include <stdint.h>

#include "stage.h"

/* Longer side of the gray proxy, px (never more than the video's own). */
#define PROXY_SIZE 256
#define PROXY_VERSION 1
/* Header and trailer sizes, bytes. */
#define PROXY_HEADER_SIZE 64
#define PROXY_TRAILER_SIZE 16
/* Room for "proxy-template.gray" and the like. */
#define PROXY_NAME_SIZE 32
/* 16 hex digits. */
#define PROXY_ID_SIZE 17

/* What a proxy holds, as its header and trailer say. */
struct proxy_info {
	int width, height;	    /* upright, rows packed */
	double fps_declared;	    /* the container's rate, 0 if unknown */
	int64_t frames;		    /* count of frame records */
	char id[PROXY_ID_SIZE];	    /* tells one video_analysis run's file */
	char name[PROXY_NAME_SIZE]; /* the file's name in the job directory */
};

struct proxy_writer;
struct proxy_reader;

/* The file name for an input role ("template" or "source"). */
void proxy_name(const char *role, char name[PROXY_NAME_SIZE]);

/*
 * Starts <job_dir>/<name> as a temporary file for width x height frames.
 * On failure ctx->error says why.
 */
enum stage_result proxy_create(struct stage_ctx *ctx, const char *name,
    int width, int height, double fps_declared, struct proxy_writer **out);
/* Appends one frame taken at t seconds. */
enum stage_result proxy_put(
    struct proxy_writer *w, double t, const uint8_t *gray, int linesize);
/* What the finished file will hold; valid until proxy_commit/abort. */
const struct proxy_info *proxy_writer_info(const struct proxy_writer *w);
/*
 * Ends the file, syncs it and gives it its final name; frees w whatever
 * happens. A proxy without a frame is refused.
 */
enum stage_result proxy_commit(struct proxy_writer *w);
/* Drops the temporary file and frees w; NULL is ignored. */
void proxy_abort(struct proxy_writer *w);

/*
 * Opens <job_dir>/<name> and checks it: STAGE_E_NOINPUT when it is
 * missing, STAGE_E_DATA when it is truncated or not a proxy.
 */
enum stage_result proxy_open(
    struct stage_ctx *ctx, const char *name, struct proxy_reader **out);
const struct proxy_info *proxy_reader_info(const struct proxy_reader *r);
/*
 * Reads frame index into gray (width x height, rows packed) and its time
 * into *t. Returns 0, or -1 with errno set.
 */
int proxy_read(
    const struct proxy_reader *r, int64_t index, uint8_t *gray, double *t);
void proxy_close(struct proxy_reader *r);

#endif
