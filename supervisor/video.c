/*
 * Uploads and the registry of stored videos.
 *
 * A client passes an open file (SCM_RIGHTS); reeld never opens a path a
 * client names. The file is copied into videos/<video_id>/ in 1 MiB reads,
 * a few per loop turn, so a large upload never stalls other clients; then a
 * short-lived worker probes the copy with libavformat. Only a probed video
 * gets a video.json and enters the registry; a failed or abandoned upload
 * leaves nothing behind. At start-up the registry is rebuilt from the
 * video.json files, and directories without one (an upload cut short by a
 * crash) are removed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <unistd.h>

#include "child.h"
#include "config.h"
#include "log.h"
#include "util.h"
#include "video.h"

#define COPY_CHUNK (1024 * 1024)
#define COPY_CHUNKS_PER_TURN 8

struct video {
	LIST_ENTRY(video) v_entry;
	char v_id[REEL_ID_SIZE];
	char v_path[MSG_PATH_SIZE];
	json_t *v_json;
};

struct upload {
	LIST_ENTRY(upload) u_entry;
	/* How to answer the client; u_client is NULL once it has gone. */
	const struct upload_reply *u_reply;
	void *u_client;
	char u_id[REEL_ID_SIZE];
	char u_dir[MSG_PATH_SIZE];
	char u_path[MSG_PATH_SIZE];
	char u_filename[MSG_FILENAME_SIZE];
	int u_src;
	int u_dst;
	off_t u_copied;
	struct event *u_copy_ev;
	struct child *u_probe;
};

static LIST_HEAD(, video) videos = LIST_HEAD_INITIALIZER(videos);
static LIST_HEAD(, upload) uploads = LIST_HEAD_INITIALIZER(uploads);
static struct event_base *video_base;
static const struct config *video_cfg;
static char *copy_buf;

static void upload_copy_cb(evutil_socket_t fd, short what, void *arg);
static void upload_probe_finished(void *arg, const struct child_outcome *out);
static void upload_end(struct upload *u, const char *message, const char *code,
    const char *detail);

static const struct child_ops probe_ops = {
    .progress = NULL,
    .finished = upload_probe_finished,
};

void
video_init(struct event_base *base, const struct config *cfg)
{
	video_base = base;
	video_cfg = cfg;
	copy_buf = xcalloc(1, COPY_CHUNK);
}

struct video *
video_find(const char *video_id)
{
	struct video *v;

	LIST_FOREACH(v, &videos, v_entry)
	{
		if (strcmp(v->v_id, video_id) == 0)
			return v;
	}
	return NULL;
}

const char *
video_path(const struct video *v)
{
	return v->v_path;
}

static void
video_add(const char *id, const char *path, json_t *record)
{
	struct video *v = xcalloc(1, sizeof(*v));

	str_copy(v->v_id, id, sizeof(v->v_id));
	str_copy(v->v_path, path, sizeof(v->v_path));
	v->v_json = record;
	LIST_INSERT_HEAD(&videos, v, v_entry);
}

/* Loads one videos/<id>/video.json; returns -1 when it is not valid. */
static int
video_load_one(const char *dir, const char *id)
{
	char file[MSG_PATH_SIZE + 16], path[MSG_PATH_SIZE];
	const char *name;
	json_t *record;

	snprintf(file, sizeof(file), "%s/video.json", dir);
	record = json_load_file(file, 0, NULL);
	name = json_string_value(json_object_get(record, "stored_as"));
	if (record == NULL || name == NULL || strchr(name, '/') != NULL) {
		json_decref(record);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	video_add(id, path, record);
	return 0;
}

int
video_load_all(void)
{
	char root[MSG_PATH_SIZE], dir[MSG_PATH_SIZE + REEL_ID_SIZE];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(root, sizeof(root), "%s/videos", video_cfg->state_dir);
	if (mkdir_p(root, 0750) != 0 || (d = opendir(root)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (!reel_id_valid("vid_", de->d_name))
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", root, de->d_name);
		if (video_load_one(dir, de->d_name) == 0) {
			n++;
			continue;
		}
		log_warnx("removing unfinished upload %s", dir);
		remove_tree(dir);
	}
	closedir(d);
	return n;
}

/* Uploads */

/* Keeps the client's file name readable but safe as one path component. */
static void
sanitize_name(const char *in, char *out, size_t outlen)
{
	const char *base = strrchr(in, '/');
	size_t n = 0;

	base = base != NULL ? base + 1 : in;
	for (; *base != '\0' && n + 1 < outlen; base++) {
		char ch = *base;

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			(ch >= '0' && ch <= '9') || ch == '.' || ch == '-' ||
			ch == '_'))
			ch = '_';
		out[n++] = ch;
	}
	out[n] = '\0';
	if (n == 0 || out[0] == '.')
		out[0] = '_';
	if (n == 0)
		str_copy(out, "_video", outlen);
}

static int
upload_check_source(const struct upload_reply *reply, void *client, int fd)
{
	char detail[MSG_TEXT_SIZE];
	uint64_t limit = (uint64_t)video_cfg->max_file_size_mb << 20;
	struct stat st;
	int mode = fcntl(fd, F_GETFL);

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || mode < 0 ||
	    (mode & O_ACCMODE) == O_WRONLY) {
		reply->err(client, "The upload must be a readable file.",
		    ERR_INVALID_REQUEST,
		    "The descriptor passed is not a readable regular file.");
		return -1;
	}
	if ((uint64_t)st.st_size > limit) {
		snprintf(detail, sizeof(detail),
		    "File size is %llu MB. Maximum allowed is %u MB.",
		    (unsigned long long)((st.st_size + (1 << 20) - 1) >> 20),
		    video_cfg->max_file_size_mb);
		reply->err(client,
		    "Uploaded file exceeds the maximum allowed size.",
		    ERR_FILE_TOO_LARGE, detail);
		return -1;
	}
	return 0;
}

static struct upload *
upload_new(const struct upload_reply *reply, void *client, const struct msg *m)
{
	struct upload *u = xcalloc(1, sizeof(*u));
	char name[MSG_FILENAME_SIZE];

	u->u_reply = reply;
	u->u_client = client;
	u->u_src = m->fd;
	u->u_dst = -1;
	str_copy(u->u_filename, m->u.upload.filename, sizeof(u->u_filename));
	sanitize_name(m->u.upload.filename, name, sizeof(name));
	do {
		if (reel_id_new("vid_", u->u_id) != 0)
			fatal("%s: getrandom", __func__);
	} while (video_find(u->u_id) != NULL);
	snprintf(u->u_dir, sizeof(u->u_dir), "%s/videos/%s",
	    video_cfg->state_dir, u->u_id);
	snprintf(u->u_path, sizeof(u->u_path), "%s/%s", u->u_dir, name);
	u->u_copy_ev = event_new(video_base, -1, 0, upload_copy_cb, u);
	LIST_INSERT_HEAD(&uploads, u, u_entry);
	return u;
}

void
video_upload(struct msg *m, const struct upload_reply *reply, void *client)
{
	struct upload *u;
	struct timeval now = {0, 0};

	if (m->fd < 0) {
		reply->err(client, "No file was passed.", ERR_MISSING_FIELD,
		    "UPLOAD needs the open video file passed with SCM_RIGHTS.");
		return;
	}
	if (upload_check_source(reply, client, m->fd) != 0) {
		close(m->fd);
		return;
	}
	u = upload_new(reply, client, m);
	m->fd = -1;
	if (mkdir_p(u->u_dir, 0750) != 0 ||
	    (u->u_dst = open(u->u_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		 0640)) < 0) {
		log_warn("%s: %s", __func__, u->u_path);
		upload_end(u, "Cannot store the upload.", ERR_INTERNAL,
		    strerror(errno));
		return;
	}
	event_add(u->u_copy_ev, &now);
}

static void
upload_start_probe(struct upload *u)
{
	struct msg_job_start start;

	memset(&start, 0, sizeof(start));
	str_copy(start.job_id, u->u_id, sizeof(start.job_id));
	str_copy(start.stage, "probe", sizeof(start.stage));
	str_copy(start.job_dir, u->u_dir, sizeof(start.job_dir));
	str_copy(start.source, u->u_path, sizeof(start.source));
	u->u_probe = child_start(&start, &probe_ops, u);
	if (u->u_probe == NULL)
		upload_end(u, "Cannot probe the upload.", ERR_INTERNAL,
		    "cannot start a worker process");
}

/* Copies a few chunks, then yields to the loop until the next turn. */
static void
upload_copy_cb(evutil_socket_t fd, short what, void *arg)
{
	struct upload *u = arg;
	struct timeval now = {0, 0};
	uint64_t limit = (uint64_t)video_cfg->max_file_size_mb << 20;
	ssize_t n = 0;

	(void)fd;
	(void)what;
	for (int i = 0; i < COPY_CHUNKS_PER_TURN; i++) {
		n = pread(u->u_src, copy_buf, COPY_CHUNK, u->u_copied);
		if (n <= 0)
			break;
		if (write(u->u_dst, copy_buf, n) != n) {
			n = -1;
			break;
		}
		u->u_copied += n;
	}
	if (n < 0)
		return upload_end(u, "Cannot store the upload.", ERR_INTERNAL,
		    strerror(errno));
	if ((uint64_t)u->u_copied > limit)
		return upload_end(u,
		    "Uploaded file exceeds the maximum allowed size.",
		    ERR_FILE_TOO_LARGE, "The file grew past the limit.");
	if (n > 0)
		return (void)event_add(u->u_copy_ev, &now);
	close(u->u_src);
	u->u_src = -1;
	if (fsync(u->u_dst) != 0 || close(u->u_dst) != 0) {
		u->u_dst = -1;
		return upload_end(u, "Cannot store the upload.", ERR_INTERNAL,
		    strerror(errno));
	}
	u->u_dst = -1;
	upload_start_probe(u);
}

static json_t *
upload_record(const struct upload *u, json_t *metadata)
{
	char when[UTIL_ISO_SIZE], url[MSG_PATH_SIZE + 8];
	const char *stored = strrchr(u->u_path, '/') + 1;

	time_iso8601(clock_realtime_ms(), when);
	snprintf(url, sizeof(url), "file://%s", u->u_path);
	return json_pack("{s:s, s:s, s:I, s:s, s:s, s:O, s:s}", "video_id",
	    u->u_id, "filename", u->u_filename, "file_size_bytes",
	    (json_int_t)u->u_copied, "uploaded_at", when, "storage_url", url,
	    "metadata", metadata, "stored_as", stored);
}

static int
upload_commit(struct upload *u, json_t *metadata)
{
	char file[MSG_PATH_SIZE + 16], tmp[MSG_PATH_SIZE + 16];
	json_t *record;

	if (!json_is_object(metadata) ||
	    json_integer_value(json_object_get(metadata, "width")) <= 0 ||
	    json_integer_value(json_object_get(metadata, "height")) <= 0)
		return -1;
	record = upload_record(u, metadata);
	snprintf(file, sizeof(file), "%s/video.json", u->u_dir);
	snprintf(tmp, sizeof(tmp), "%s/.video.json.tmp", u->u_dir);
	if (record == NULL || json_dump_file(record, tmp, JSON_COMPACT) != 0 ||
	    rename(tmp, file) != 0) {
		json_decref(record);
		return -1;
	}
	video_add(u->u_id, u->u_path, record);
	return 0;
}

static void
upload_probe_finished(void *arg, const struct child_outcome *out)
{
	struct upload *u = arg;
	json_t *data;

	u->u_probe = NULL;
	if (out->end == CHILD_CANCELLED)
		return upload_end(u, "The upload was abandoned.", ERR_INTERNAL,
		    "reeld stopped or the client went away");
	if (out->end == CHILD_FAILED && out->input_fault)
		return upload_end(u,
		    "The uploaded file format is not supported.",
		    ERR_UNSUPPORTED_FORMAT, out->message);
	if (out->end == CHILD_FAILED)
		return upload_end(u, "The server could not probe the upload.",
		    ERR_INTERNAL, out->message);
	if (upload_commit(u, out->result) != 0)
		return upload_end(u,
		    "The uploaded file format is not supported.",
		    ERR_UNSUPPORTED_FORMAT, "the probe found no usable video");
	data = json_deep_copy(video_find(u->u_id)->v_json);
	json_object_del(data, "stored_as");
	log_info("%s stored: %s (%lld bytes)", u->u_id, u->u_filename,
	    (long long)u->u_copied);
	if (u->u_client != NULL)
		u->u_reply->ok(
		    u->u_client, "Video uploaded successfully", data);
	else
		json_decref(data);
	upload_end(u, NULL, NULL, NULL);
}

/*
 * Ends an upload. With a message it failed: the client (if still there)
 * gets the error and the stored copy is removed.
 */
static void
upload_end(
    struct upload *u, const char *message, const char *code, const char *detail)
{
	if (message != NULL && u->u_client != NULL)
		u->u_reply->err(u->u_client, message, code, detail);
	if (u->u_src >= 0)
		close(u->u_src);
	if (u->u_dst >= 0)
		close(u->u_dst);
	if (message != NULL && remove_tree(u->u_dir) != 0)
		log_warn("%s: remove %s", __func__, u->u_dir);
	event_free(u->u_copy_ev);
	LIST_REMOVE(u, u_entry);
	free(u);
}

/* The client went away: abandon its uploads. */
void
video_client_gone(void *client)
{
	struct upload *u, *next;

	for (u = LIST_FIRST(&uploads); u != NULL; u = next) {
		next = LIST_NEXT(u, u_entry);
		if (u->u_client != client)
			continue;
		u->u_client = NULL;
		if (u->u_probe != NULL)
			child_stop(u->u_probe, "CANCELLED");
		else
			upload_end(u, "abandoned", ERR_INTERNAL, NULL);
	}
}
