/*
 * The first error wins and is kept until the body ends (or the request is
 * answered early, for a size already over the limit), so the answer names
 * what went wrong first: an oversize file stays FILE_TOO_LARGE however
 * the body goes on.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "contract.h"
#include "log.h"
#include "msg.h"
#include "multipart.h"
#include "reply.h"
#include "upload.h"
#include "util.h"

enum upload_part { PART_NONE, PART_FILE, PART_TEMPLATE, PART_WEBHOOK };

struct upload {
	struct mp_parser *mp;
	int fd;
	uint64_t max_bytes;
	uint64_t file_bytes;
	enum upload_part part;
	bool have_file;
	char filename[MSG_FILENAME_SIZE];
	char template_id[REEL_ID_SIZE + 1];
	char webhook_url[MSG_URL_SIZE + 1];
	size_t field_len;
	char code[MSG_WORD_SIZE];
	char message[128];
	char detail[MSG_TEXT_SIZE];
};

static void __attribute__((format(printf, 4, 5))) upload_error(struct upload *u,
    const char *code, const char *message, const char *fmt, ...)
{
	va_list ap;

	if (u->code[0] != '\0')
		return;
	str_copy(u->code, code, sizeof(u->code));
	str_copy(u->message, message, sizeof(u->message));
	va_start(ap, fmt);
	vsnprintf(u->detail, sizeof(u->detail), fmt, ap);
	va_end(ap);
	mp_set_error(u->mp, "%s", u->detail);
}

static void
too_large(struct upload *u)
{
	upload_error(u, ERR_FILE_TOO_LARGE,
	    "Uploaded file exceeds the maximum allowed size.",
	    "File size is over %llu MB. Maximum allowed is %llu MB.",
	    (unsigned long long)(u->max_bytes >> 20),
	    (unsigned long long)(u->max_bytes >> 20));
}

static int
on_file(struct upload *u, const struct mp_part *p)
{
	if (u->have_file) {
		upload_error(u, ERR_INVALID_REQUEST, "Invalid upload.",
		    "more than one file part");
		return -1;
	}
	u->have_file = true;
	u->part = PART_FILE;
	if (p->filename[0] == '\0' || strcmp(p->filename, ".") == 0 ||
	    strcmp(p->filename, "..") == 0)
		str_copy(u->filename, "upload", sizeof(u->filename));
	else if (str_copy(u->filename, p->filename, sizeof(u->filename)) != 0) {
		upload_error(u, ERR_INVALID_REQUEST, "Invalid upload.",
		    "the filename is longer than %d bytes",
		    MSG_FILENAME_SIZE - 1);
		return -1;
	}
	return 0;
}

static int
on_part_begin(void *arg, const struct mp_part *p)
{
	struct upload *u = arg;

	u->field_len = 0;
	if (strcmp(p->name, "file") == 0)
		return on_file(u, p);
	if (strcmp(p->name, "template_video_id") == 0)
		u->part = PART_TEMPLATE;
	else if (strcmp(p->name, "webhook_url") == 0)
		u->part = PART_WEBHOOK;
	else {
		upload_error(u, ERR_INVALID_REQUEST, "Invalid upload.",
		    "unknown field '%.40s'; known: file, template_video_id, "
		    "webhook_url",
		    p->name);
		return -1;
	}
	return 0;
}

static int
on_file_data(struct upload *u, const char *data, size_t len)
{
	u->file_bytes += len;
	if (u->file_bytes > u->max_bytes) {
		too_large(u);
		return -1;
	}
	if (write_all(u->fd, data, len) != 0) {
		log_warn("upload: write");
		upload_error(u,
		    errno == ENOSPC ? ERR_STORAGE_FULL : ERR_INTERNAL,
		    "Cannot store the upload.", "%s", strerror(errno));
		return -1;
	}
	return 0;
}

static int
on_part_data(void *arg, const char *data, size_t len)
{
	struct upload *u = arg;
	char *field =
	    u->part == PART_TEMPLATE ? u->template_id : u->webhook_url;
	size_t size = u->part == PART_TEMPLATE ? sizeof(u->template_id)
					       : sizeof(u->webhook_url);

	if (u->part == PART_FILE)
		return on_file_data(u, data, len);
	if (u->field_len + len >= size) {
		upload_error(u, ERR_INVALID_REQUEST, "Invalid upload.",
		    "field %s is longer than %zu bytes",
		    u->part == PART_TEMPLATE ? "template_video_id"
					     : "webhook_url",
		    size - 2);
		return -1;
	}
	memcpy(field + u->field_len, data, len);
	u->field_len += len;
	field[u->field_len] = '\0';
	return 0;
}

static const struct mp_callbacks callbacks = {
    .part_begin = on_part_begin,
    .part_data = on_part_data,
};

static int
tmpfile_in(const char *dir)
{
	char path[4096];
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR))
		return fd;
	/* No O_TMPFILE here: a name that lives only until the unlink. */
	snprintf(path, sizeof(path), "%s/.reel-upload.XXXXXX", dir);
	if ((fd = mkostemp(path, O_CLOEXEC)) >= 0)
		unlink(path);
	return fd;
}

static enum MHD_Result
declared_too_large(struct MHD_Connection *c, uint64_t max_bytes)
{
	const char *cl = MHD_lookup_connection_value(
	    c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	char detail[160];
	unsigned long long n;

	if (cl == NULL ||
	    (n = strtoull(cl, NULL, 10)) <= max_bytes + UPLOAD_OVERHEAD_MAX)
		return MHD_YES;
	snprintf(detail, sizeof(detail),
	    "File size is %llu MB. Maximum allowed is %llu MB.",
	    (n + (1 << 20) - 1) >> 20, (unsigned long long)(max_bytes >> 20));
	return reply_error(c, ERR_FILE_TOO_LARGE,
	    "Uploaded file exceeds the maximum allowed size.", detail);
}

struct upload *
upload_begin(struct MHD_Connection *c, const char *dir, uint64_t max_bytes,
    enum MHD_Result *rc)
{
	const char *type = MHD_lookup_connection_value(
	    c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	char boundary[MP_BOUNDARY_MAX + 1], err[200];
	struct upload *u;

	if (type == NULL || mp_boundary(type, boundary, sizeof(boundary), err,
				sizeof(err)) != 0) {
		*rc = reply_error(c, ERR_UNSUPPORTED_MEDIA_TYPE,
		    "The upload must be multipart/form-data.",
		    type == NULL ? "no Content-Type" : err);
		return NULL;
	}
	if ((*rc = declared_too_large(c, max_bytes)) != MHD_YES)
		return NULL;
	u = xcalloc(1, sizeof(*u));
	u->max_bytes = max_bytes;
	if ((u->fd = tmpfile_in(dir)) < 0) {
		log_warn("upload: temporary file in %s", dir);
		*rc = reply_error(c, ERR_INTERNAL, "Cannot store the upload.",
		    strerror(errno));
		free(u);
		return NULL;
	}
	if ((u->mp = mp_new(boundary, &callbacks, u)) == NULL)
		fatal("%s: mp_new", __func__);
	return u;
}

int
upload_feed(struct upload *u, const char *data, size_t len)
{
	if (u->code[0] != '\0')
		return -1;
	if (mp_feed(u->mp, data, len) == 0)
		return 0;
	upload_error(u, ERR_INVALID_REQUEST, "Malformed multipart body.", "%s",
	    mp_error(u->mp));
	return -1;
}

static enum MHD_Result
upload_send(
    struct MHD_Connection *c, struct upload *u, const struct auth_identity *who)
{
	struct msg req;

	if (lseek(u->fd, 0, SEEK_SET) != 0)
		return reply_error(c, ERR_INTERNAL, "Cannot store the upload.",
		    strerror(errno));
	msg_init(&req, MSG_UPLOAD);
	req.fd = u->fd;
	str_copy(
	    req.u.upload.filename, u->filename, sizeof(req.u.upload.filename));
	return api_forward(c, who, &req);
}

enum MHD_Result
upload_finish(
    struct MHD_Connection *c, struct upload *u, const struct auth_identity *who)
{
	if (u->code[0] == '\0' && mp_finish(u->mp) != 0)
		upload_error(u, ERR_INVALID_REQUEST,
		    "Malformed multipart body.", "%s", mp_error(u->mp));
	if (u->code[0] == '\0' && !u->have_file)
		upload_error(u, ERR_MISSING_FIELD, "No file was uploaded.",
		    "the multipart body has no part named 'file'");
	if (u->code[0] == '\0' && u->template_id[0] != '\0' &&
	    !reel_id_valid("vid_", u->template_id))
		upload_error(u, ERR_VIDEO_NOT_FOUND,
		    "The specified video could not be found.",
		    "template_video_id '%.32s' is not vid_ and 12 lowercase "
		    "hex digits",
		    u->template_id);
	if (u->code[0] != '\0')
		return reply_error(c, u->code, u->message, u->detail);
	return upload_send(c, u, who);
}

void
upload_free(struct upload *u)
{
	if (u == NULL)
		return;
	mp_free(u->mp);
	close(u->fd);
	free(u);
}
