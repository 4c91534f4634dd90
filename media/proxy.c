/*
 * The motion proxy file (see proxy.h; format in
 * docs/stages/video_analysis.md). Every number is little-endian, so a
 * proxy means the same on any host. The writer gathers records in a
 * buffer of about PROXY_BUFFER bytes and writes it out whole, so a long
 * video costs a few hundred write calls, not one per frame; the frame
 * count goes in a trailer, so the file is written front to back once and
 * a reader can tell a complete file from a cut one by its size alone.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proxy.h"
#include "util.h"

#define PROXY_MAGIC "REELPRXY"
#define PROXY_END "REELPEND"
#define PROXY_BUFFER (1 << 20)
/* Largest side a proxy can have: PROXY_SIZE, with room for other sizes. */
#define PROXY_SIDE_MAX 4096

struct proxy_writer {
	struct stage_ctx *ctx;
	struct proxy_info info;
	char path[PATH_MAX], tmp[PATH_MAX];
	int fd;
	size_t record; /* bytes per frame record */
	uint8_t *buf;
	size_t used, cap;
	off_t written; /* bytes in the file so far */
};

struct proxy_reader {
	struct proxy_info info;
	int fd;
	size_t record;
};

static void proxy_put_f64(uint8_t *p, double v);
static double proxy_get_f64(const uint8_t *p);
static void proxy_make_id(char id[PROXY_ID_SIZE]);
static enum stage_result proxy_flush(struct proxy_writer *w);
static enum stage_result proxy_header(struct proxy_writer *w);
static enum stage_result proxy_bad(
    struct stage_ctx *ctx, struct proxy_reader *r, const char *why);
static enum stage_result proxy_check(
    struct stage_ctx *ctx, struct proxy_reader *r, const struct stat *sb);

/* Little-endian integers of n bytes, the file's byte order. */
static void
proxy_put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
proxy_get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void
proxy_put_f64(uint8_t *p, double v)
{
	uint64_t bits;

	memcpy(&bits, &v, sizeof(bits));
	proxy_put_le(p, bits, 8);
}

static double
proxy_get_f64(const uint8_t *p)
{
	uint64_t bits = proxy_get_le(p, 8);
	double v;

	memcpy(&v, &bits, sizeof(v));
	return v;
}

/* Unique enough to tell two runs apart: the clock mixed with the pid. */
static void
proxy_make_id(char id[PROXY_ID_SIZE])
{
	struct timespec ts;
	uint64_t z;

	clock_gettime(CLOCK_REALTIME, &ts);
	z = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	z ^= (uint64_t)getpid() << 40;
	/* splitmix64's finaliser spreads every input bit. */
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	z ^= z >> 31;
	snprintf(id, PROXY_ID_SIZE, "%016llx", (unsigned long long)z);
}

void
proxy_name(const char *role, char name[PROXY_NAME_SIZE])
{
	snprintf(name, PROXY_NAME_SIZE, "proxy-%s.gray", role);
}

static enum stage_result
proxy_flush(struct proxy_writer *w)
{
	if (w->used > 0 && write_all(w->fd, w->buf, w->used) < 0)
		return stage_fail(w->ctx, STAGE_E_IO, "cannot write %s: %s",
		    w->info.name, strerror(errno != 0 ? errno : EIO));
	/*
	 * Writeback starts now, in the background, so that the sync before
	 * the rename finds little left to do: for the 30 s 1080p bench
	 * template it took 0.16 s when the whole file waited for it, 1 ms
	 * now.
	 */
	(void)sync_file_range(
	    w->fd, w->written, (off_t)w->used, SYNC_FILE_RANGE_WRITE);
	w->written += (off_t)w->used;
	w->used = 0;
	return STAGE_OK;
}

static enum stage_result
proxy_header(struct proxy_writer *w)
{
	uint8_t *h = w->buf;

	memset(h, 0, PROXY_HEADER_SIZE);
	memcpy(h, PROXY_MAGIC, 8);
	proxy_put_le(h + 8, PROXY_VERSION, 4);
	proxy_put_le(h + 12, (uint32_t)w->info.width, 4);
	proxy_put_le(h + 16, (uint32_t)w->info.height, 4);
	proxy_put_f64(h + 24, w->info.fps_declared);
	memcpy(h + 32, w->info.id, PROXY_ID_SIZE - 1);
	w->used = PROXY_HEADER_SIZE;
	return proxy_flush(w);
}

enum stage_result
proxy_create(struct stage_ctx *ctx, const char *name, int width, int height,
    double fps_declared, struct proxy_writer **out)
{
	struct proxy_writer *w;
	size_t rec = 8 + (size_t)width * (size_t)height;
	int err;

	*out = NULL;
	if (width < 1 || height < 1 || width > PROXY_SIDE_MAX ||
	    height > PROXY_SIDE_MAX)
		return stage_fail(ctx, STAGE_E_SOFTWARE,
		    "cannot make a %dx%d motion proxy", width, height);
	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->buf = malloc(rec > PROXY_BUFFER ? rec : PROXY_BUFFER)) ==
		NULL) {
		free(w);
		return stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	}
	w->ctx = ctx;
	w->cap = rec > PROXY_BUFFER ? rec : PROXY_BUFFER;
	w->record = rec;
	w->info.width = width;
	w->info.height = height;
	w->info.fps_declared = fps_declared;
	proxy_make_id(w->info.id);
	snprintf(w->info.name, sizeof(w->info.name), "%s", name);
	snprintf(w->path, sizeof(w->path), "%s/%s", ctx->job_dir, name);
	snprintf(w->tmp, sizeof(w->tmp), "%s/.%s.XXXXXX", ctx->job_dir, name);
	if ((w->fd = mkstemp(w->tmp)) < 0) {
		free(w->buf);
		free(w);
		return stage_fail(ctx, STAGE_E_IO, "cannot create %s: %s", name,
		    strerror(errno));
	}
	errno = 0;
	if (fchmod(w->fd, 0644) < 0 || proxy_header(w) != STAGE_OK) {
		err = errno != 0 ? errno : EIO;
		proxy_abort(w);
		return stage_fail(ctx, STAGE_E_IO, "cannot write %s: %s", name,
		    strerror(err));
	}
	*out = w;
	return STAGE_OK;
}

enum stage_result
proxy_put(struct proxy_writer *w, double t, const uint8_t *gray, int linesize)
{
	size_t row = (size_t)w->info.width;
	uint8_t *p;
	int y;

	if (w->cap - w->used < w->record && proxy_flush(w) != STAGE_OK)
		return STAGE_E_IO;
	p = w->buf + w->used;
	proxy_put_f64(p, t);
	p += 8;
	for (y = 0; y < w->info.height; y++, p += row)
		memcpy(p, gray + (size_t)y * linesize, row);
	w->used += w->record;
	w->info.frames++;
	return STAGE_OK;
}

const struct proxy_info *
proxy_writer_info(const struct proxy_writer *w)
{
	return &w->info;
}

enum stage_result
proxy_commit(struct proxy_writer *w)
{
	struct stage_ctx *ctx = w->ctx;
	enum stage_result rc = STAGE_OK;
	uint8_t *end;

	if (w->info.frames == 0)
		rc = stage_fail(ctx, STAGE_E_SOFTWARE, "%s would hold no frame",
		    w->info.name);
	if (rc == STAGE_OK && w->cap - w->used < PROXY_TRAILER_SIZE)
		rc = proxy_flush(w);
	if (rc == STAGE_OK) {
		end = w->buf + w->used;
		memcpy(end, PROXY_END, 8);
		proxy_put_le(end + 8, (uint64_t)w->info.frames, 8);
		w->used += PROXY_TRAILER_SIZE;
		rc = proxy_flush(w);
	}
	/* The rename below must never expose a file still in flight. */
	if (rc == STAGE_OK &&
	    (fdatasync(w->fd) < 0 || rename(w->tmp, w->path) < 0))
		rc = stage_fail(ctx, STAGE_E_IO, "cannot write %s: %s",
		    w->info.name, strerror(errno));
	if (rc != STAGE_OK) {
		proxy_abort(w);
		return rc;
	}
	close(w->fd);
	free(w->buf);
	free(w);
	return STAGE_OK;
}

void
proxy_abort(struct proxy_writer *w)
{
	if (w == NULL)
		return;
	close(w->fd);
	unlink(w->tmp);
	free(w->buf);
	free(w);
}

static enum stage_result
proxy_bad(struct stage_ctx *ctx, struct proxy_reader *r, const char *why)
{
	enum stage_result rc = stage_fail(
	    ctx, STAGE_E_DATA, "motion proxy %s %s", r->info.name, why);

	proxy_close(r);
	return rc;
}

/* The header, the trailer and the size must all agree. */
static enum stage_result
proxy_check(
    struct stage_ctx *ctx, struct proxy_reader *r, const struct stat *sb)
{
	uint8_t h[PROXY_HEADER_SIZE], t[PROXY_TRAILER_SIZE];
	struct proxy_info *in = &r->info;
	off_t body;

	memset(h, 0, sizeof(h));
	if (pread(r->fd, h, sizeof(h), 0) < 8 || memcmp(h, PROXY_MAGIC, 8) != 0)
		return proxy_bad(ctx, r, "is not a version 1 motion proxy");
	if (sb->st_size < PROXY_HEADER_SIZE + PROXY_TRAILER_SIZE)
		return proxy_bad(
		    ctx, r, "is truncated: video_analysis did not finish it");
	if (proxy_get_le(h + 8, 4) != PROXY_VERSION)
		return proxy_bad(ctx, r, "is not a version 1 motion proxy");
	in->width = (int)proxy_get_le(h + 12, 4);
	in->height = (int)proxy_get_le(h + 16, 4);
	in->fps_declared = proxy_get_f64(h + 24);
	memcpy(in->id, h + 32, PROXY_ID_SIZE - 1);
	in->id[PROXY_ID_SIZE - 1] = '\0';
	if (in->width < 1 || in->height < 1 || in->width > PROXY_SIDE_MAX ||
	    in->height > PROXY_SIDE_MAX)
		return proxy_bad(ctx, r, "has an impossible frame size");
	r->record = 8 + (size_t)in->width * (size_t)in->height;
	body = sb->st_size - PROXY_HEADER_SIZE - PROXY_TRAILER_SIZE;
	if (pread(r->fd, t, sizeof(t), sb->st_size - PROXY_TRAILER_SIZE) !=
		(ssize_t)sizeof(t) ||
	    memcmp(t, PROXY_END, 8) != 0 || body % (off_t)r->record != 0)
		return proxy_bad(
		    ctx, r, "is truncated: video_analysis did not finish it");
	in->frames = (int64_t)proxy_get_le(t + 8, 8);
	if (in->frames < 1 || in->frames != body / (off_t)r->record)
		return proxy_bad(ctx, r,
		    "is truncated: its frame count and "
		    "its size disagree");
	return STAGE_OK;
}

enum stage_result
proxy_open(struct stage_ctx *ctx, const char *name, struct proxy_reader **out)
{
	char path[PATH_MAX];
	struct proxy_reader *r;
	struct stat sb;
	enum stage_result rc;

	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	snprintf(r->info.name, sizeof(r->info.name), "%s", name);
	snprintf(path, sizeof(path), "%s/%s", ctx->job_dir, name);
	if ((r->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
	    fstat(r->fd, &sb) < 0) {
		rc = stage_fail(ctx,
		    errno == ENOENT ? STAGE_E_NOINPUT : STAGE_E_IO,
		    "motion proxy %s: %s%s", name, strerror(errno),
		    errno == ENOENT ? " (video_analysis writes it)" : "");
		proxy_close(r);
		return rc;
	}
	if ((rc = proxy_check(ctx, r, &sb)) != STAGE_OK)
		return rc;
	*out = r;
	return STAGE_OK;
}

const struct proxy_info *
proxy_reader_info(const struct proxy_reader *r)
{
	return &r->info;
}

int
proxy_read(
    const struct proxy_reader *r, int64_t index, uint8_t *gray, double *t)
{
	uint8_t head[8];
	off_t at = PROXY_HEADER_SIZE + (off_t)index * (off_t)r->record;
	size_t n = r->record - 8, done = 0;
	ssize_t k;

	if (index < 0 || index >= r->info.frames) {
		errno = ERANGE;
		return -1;
	}
	if (pread(r->fd, head, sizeof(head), at) != (ssize_t)sizeof(head))
		return -1;
	*t = proxy_get_f64(head);
	while (done < n) {
		k = pread(r->fd, gray + done, n - done, at + 8 + (off_t)done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			errno = k == 0 ? EIO : errno;
			return -1;
		}
		done += (size_t)k;
	}
	return 0;
}

void
proxy_close(struct proxy_reader *r)
{
	if (r == NULL)
		return;
	if (r->fd >= 0)
		close(r->fd);
	free(r);
}
