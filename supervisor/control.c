/*
 * The client socket (reeld.sock, mode 0660) and request dispatch. Each
 * request gets exactly one RESPONSE in the documented envelope; a client
 * may have one upload in flight, and sends nothing else until it is
 * answered. A client that sends a bad frame gets an error response and is
 * disconnected; reeld goes on serving everyone else.
 *
 * Every client is identified once, at accept, with SO_PEERCRED: it sees and
 * cancels only the jobs it submitted, unless it is root or a member of
 * --admin-group. Another user's job answers JOB_NOT_FOUND, so ids do not
 * leak (docs/security.md).
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "control.h"
#include "job.h"
#include "jobrun.h"
#include "jobview.h"
#include "log.h"
#include "peer.h"
#include "request.h"
#include "util.h"
#include "video.h"
#include "webhook.h"

#define LIST_PAGE_SIZE_DEFAULT 10
#define ACCEPT_BACKOFF_MS 200
#define CLOSE_GRACE_MS 1000

struct client {
	struct peer *cl_peer;
	struct caller cl_who;
	bool cl_uploading;
	struct event *cl_close_ev;
};

static struct event *listen_ev;
static struct event *backoff_ev;
static struct event_base *client_base;
static gid_t admin_gid;
static bool admin_group_set;
static uid_t api_uid;
static bool api_user_set;
static char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)];

static void client_on_msg(
    struct peer *p, struct msg *m, const char *error, void *arg);
static void client_free(struct client *cl);
static void client_respond_ok(
    struct client *cl, const char *message, json_t *data, int fd);
static void client_respond_err(struct client *cl, const char *message,
    const char *code, const char *detail);
static void upload_reply_ok(void *arg, const char *message, json_t *data);
static void upload_reply_err(
    void *arg, const char *message, const char *code, const char *detail);

static const struct upload_reply upload_reply = {
    .ok = upload_reply_ok,
    .err = upload_reply_err,
};

/*
 * Every response ends the request in flight, the upload included. One that
 * would not fit in a frame becomes an error the client can act on.
 */
static void
client_send(struct client *cl, struct msg *m)
{
	struct msg err;

	if (peer_send(cl->cl_peer, m) != 0) {
		if (errno != EMSGSIZE) {
			log_warn("%s: peer_send", __func__);
		} else {
			msg_init(&err, MSG_RESPONSE);
			str_copy(err.u.response.message,
			    "The response is too large.",
			    sizeof(err.u.response.message));
			str_copy(err.u.response.error_code,
			    ERR_RESPONSE_TOO_LARGE,
			    sizeof(err.u.response.error_code));
			snprintf(err.u.response.error_detail,
			    sizeof(err.u.response.error_detail),
			    "It would exceed the %d-byte frame limit; ask for "
			    "a "
			    "smaller page or fetch the artifact by descriptor.",
			    FRAME_MAX);
			if (peer_send(cl->cl_peer, &err) != 0)
				log_warn("%s: peer_send", __func__);
		}
	}
	cl->cl_uploading = false;
}

static void
client_respond_ok(struct client *cl, const char *message, json_t *data, int fd)
{
	struct msg m;

	msg_init(&m, MSG_RESPONSE);
	m.fd = fd;
	m.u.response.success = true;
	str_copy(m.u.response.message, message, sizeof(m.u.response.message));
	m.u.response.data = data;
	client_send(cl, &m);
	msg_clear(&m);
}

static void
client_respond_err(struct client *cl, const char *message, const char *code,
    const char *detail)
{
	struct msg m;

	msg_init(&m, MSG_RESPONSE);
	str_copy(m.u.response.message, message, sizeof(m.u.response.message));
	str_copy(
	    m.u.response.error_code, code, sizeof(m.u.response.error_code));
	str_copy(m.u.response.error_detail, detail != NULL ? detail : "",
	    sizeof(m.u.response.error_detail));
	client_send(cl, &m);
}

/* An upload's answer: uploads know the client only through these. */
static void
upload_reply_ok(void *arg, const char *message, json_t *data)
{
	client_respond_ok(arg, message, data, -1);
}

static void
upload_reply_err(
    void *arg, const char *message, const char *code, const char *detail)
{
	client_respond_err(arg, message, code, detail);
}

static void
job_not_found(struct client *cl, const char *job_id)
{
	char detail[MSG_TEXT_SIZE];

	snprintf(
	    detail, sizeof(detail), "No job with id '%.32s' exists.", job_id);
	client_respond_err(cl, "The specified job could not be found.",
	    ERR_JOB_NOT_FOUND, detail);
}

static void
handle_submit(struct client *cl, const struct msg_submit *req)
{
	char code[MSG_WORD_SIZE], detail[MSG_TEXT_SIZE];
	json_t *data;

	if (jobrun_submit(req, &cl->cl_who, &data, code, detail) != 0) {
		client_respond_err(
		    cl, "The job was not created.", code, detail);
		return;
	}
	client_respond_ok(cl, "Job created", data, -1);
}

static void
handle_status(struct client *cl, const struct msg_job_ref *req)
{
	struct job *j = job_find(req->job_id, &cl->cl_who);

	if (j == NULL)
		return job_not_found(cl, req->job_id);
	client_respond_ok(cl, "Job status", jobview_json(j, false), -1);
}

static void
handle_list(struct client *cl, const struct msg_list *req)
{
	unsigned page = req->page != 0 ? req->page : 1;
	unsigned size =
	    req->page_size != 0 ? req->page_size : LIST_PAGE_SIZE_DEFAULT;
	client_respond_ok(
	    cl, "Jobs", jobview_list(req->status, page, size, &cl->cl_who), -1);
}

static void
handle_cancel(struct client *cl, const struct msg_job_ref *req)
{
	char code[MSG_WORD_SIZE], detail[MSG_TEXT_SIZE];
	struct job *j = job_find(req->job_id, &cl->cl_who);

	if (j == NULL)
		return job_not_found(cl, req->job_id);
	if (jobrun_cancel(j, code, detail) != 0) {
		client_respond_err(
		    cl, "The job cannot be cancelled.", code, detail);
		return;
	}
	client_respond_ok(cl, "Job cancelled", jobview_json(j, false), -1);
}

static void
handle_result(struct client *cl, const struct msg_result *req)
{
	char code[MSG_WORD_SIZE], detail[MSG_TEXT_SIZE];
	struct job *j = job_find(req->job_id, &cl->cl_who);
	int fd = -1;

	if (j == NULL)
		return job_not_found(cl, req->job_id);
	if (!job_terminal(j)) {
		snprintf(detail, sizeof(detail), "Job %s has not finished yet.",
		    req->job_id);
		client_respond_err(cl, "Result not available yet.",
		    ERR_RESULT_NOT_READY, detail);
		return;
	}
	if (req->artifact[0] != '\0' &&
	    jobview_artifact_open(j, req->artifact, &fd, code, detail) != 0) {
		client_respond_err(
		    cl, "The artifact is not available.", code, detail);
		return;
	}
	client_respond_ok(cl, "Job result", jobview_json(j, true), fd);
	if (fd >= 0)
		close(fd);
}

static void
handle_webhooks(struct client *cl, const struct msg_job_ref *req)
{
	struct job *j = job_find(req->job_id, &cl->cl_who);

	if (j == NULL)
		return job_not_found(cl, req->job_id);
	client_respond_ok(cl, "Webhook deliveries",
	    json_pack("{s:s, s:o}", "job_id", job_id(j), "webhooks",
		webhook_job_json(job_id(j))),
	    -1);
}

static void
handle_redeliver(struct client *cl, const struct msg_job_ref *req)
{
	char code[MSG_WORD_SIZE], detail[MSG_TEXT_SIZE];
	struct job *j = job_find(req->job_id, &cl->cl_who);

	if (j == NULL)
		return job_not_found(cl, req->job_id);
	if (webhook_redeliver(job_id(j), code, detail) != 0) {
		client_respond_err(
		    cl, "The webhook cannot be redelivered.", code, detail);
		return;
	}
	client_respond_ok(cl, "Webhook redelivery scheduled",
	    json_pack("{s:s, s:o}", "job_id", job_id(j), "webhooks",
		webhook_job_json(job_id(j))),
	    -1);
}

/*
 * The connection acts for the owner that reel-httpd authenticated. Only a
 * trusted peer may say so: anyone else could claim any owner's jobs.
 */
static void
handle_identify(struct client *cl, const struct msg_identify *req)
{
	if (!cl->cl_who.trusted) {
		client_respond_err(cl, "Forbidden.", ERR_FORBIDDEN,
		    "only root, reeld's user or --api-user may act for "
		    "another owner");
		return;
	}
	str_copy(cl->cl_who.name, req->user, sizeof(cl->cl_who.name));
	cl->cl_who.admin = req->admin;
	client_respond_ok(cl, "Identified",
	    json_pack("{s:s, s:b}", "user", req->user, "admin", req->admin),
	    -1);
}

static const char *
request_message(const char *code)
{
	if (strcmp(code, ERR_JOB_NOT_FOUND) == 0)
		return "The specified job could not be found.";
	if (strcmp(code, ERR_VIDEO_NOT_FOUND) == 0)
		return "The specified video could not be found.";
	return "Invalid request.";
}

static void
client_dispatch(struct client *cl, struct msg *m)
{
	char code[MSG_WORD_SIZE], detail[MSG_TEXT_SIZE];

	if (cl->cl_uploading) {
		client_respond_err(cl, "Busy.", ERR_INVALID_REQUEST,
		    "wait for the upload's response before the next request");
		/* That answer was not the upload's: it is still in flight. */
		cl->cl_uploading = true;
		return;
	}
	if (request_check(m, code, detail) != 0) {
		client_respond_err(cl, request_message(code), code, detail);
		return;
	}
	switch (m->type) {
	case MSG_UPLOAD:
		cl->cl_uploading = true;
		video_upload(m, &upload_reply, cl);
		break;
	case MSG_SUBMIT:
		handle_submit(cl, &m->u.submit);
		break;
	case MSG_STATUS:
		handle_status(cl, &m->u.job_ref);
		break;
	case MSG_LIST:
		handle_list(cl, &m->u.list);
		break;
	case MSG_CANCEL:
		handle_cancel(cl, &m->u.job_ref);
		break;
	case MSG_RESULT:
		handle_result(cl, &m->u.result);
		break;
	case MSG_WEBHOOKS:
		handle_webhooks(cl, &m->u.job_ref);
		break;
	case MSG_REDELIVER:
		handle_redeliver(cl, &m->u.job_ref);
		break;
	case MSG_IDENTIFY:
		handle_identify(cl, &m->u.identify);
		break;
	default:
		client_respond_err(cl, "Unexpected message.",
		    ERR_INVALID_REQUEST, msg_type_name(m->type));
	}
}

static void
client_close_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	client_free(arg);
}

/* Lets the last response drain (bounded), then disconnects. */
static void
client_close_soon(struct client *cl)
{
	struct timeval tv = {0, CLOSE_GRACE_MS * 1000};

	if (peer_pending(cl->cl_peer) == 0) {
		client_free(cl);
		return;
	}
	cl->cl_close_ev = evtimer_new(client_base, client_close_cb, cl);
	evtimer_add(cl->cl_close_ev, &tv);
}

static void
client_on_msg(struct peer *p, struct msg *m, const char *error, void *arg)
{
	struct client *cl = arg;

	(void)p;
	if (m != NULL) {
		client_dispatch(cl, m);
		if (m->fd >= 0)
			close(m->fd);
		msg_clear(m);
		return;
	}
	if (error != NULL) {
		log_warnx("client fd %d: %s", peer_fd(cl->cl_peer), error);
		client_respond_err(
		    cl, "Bad request.", ERR_INVALID_REQUEST, error);
	}
	video_client_gone(cl);
	client_close_soon(cl);
}

static void
client_free(struct client *cl)
{
	if (cl->cl_close_ev != NULL)
		event_free(cl->cl_close_ev);
	peer_free(cl->cl_peer);
	free(cl);
}

static void
backoff_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	event_add(listen_ev, NULL);
}

static bool
client_in_group(uid_t uid, gid_t gid)
{
	gid_t groups[256];
	int n = (int)(sizeof(groups) / sizeof(groups[0]));
	struct passwd *pw;

	if (gid == admin_gid)
		return true;
	if ((pw = getpwuid(uid)) == NULL ||
	    getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) < 0)
		return false;
	for (int i = 0; i < n; i++) {
		if (groups[i] == admin_gid)
			return true;
	}
	return false;
}

static int
client_identify(int s, struct caller *who)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
		return -1;
	who->uid = cred.uid;
	who->admin = cred.uid == 0 ||
		     (admin_group_set && client_in_group(cred.uid, cred.gid));
	who->trusted = cred.uid == 0 || cred.uid == geteuid() ||
		       (api_user_set && cred.uid == api_uid);
	return 0;
}

static void
accept_cb(evutil_socket_t fd, short what, void *arg)
{
	struct timeval tv = {0, ACCEPT_BACKOFF_MS * 1000};
	struct client *cl;
	int s;

	(void)what;
	(void)arg;
	s = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (s < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			log_warn("%s: accept, pausing", __func__);
			event_del(listen_ev);
			evtimer_add(backoff_ev, &tv);
		}
		return;
	}
	cl = xcalloc(1, sizeof(*cl));
	if (client_identify(s, &cl->cl_who) != 0) {
		log_warn("%s: SO_PEERCRED", __func__);
		close(s);
		free(cl);
		return;
	}
	cl->cl_peer =
	    peer_new(client_base, s, DIR_FROM_CLIENT, client_on_msg, cl);
}

int
control_listen(struct event_base *base, const struct config *cfg)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd;

	client_base = base;
	if (cfg->admin_group != NULL) {
		struct group *gr = getgrnam(cfg->admin_group);

		if (gr == NULL)
			fatalx("--admin-group %s: no such group",
			    cfg->admin_group);
		admin_gid = gr->gr_gid;
		admin_group_set = true;
	}
	if (cfg->api_user != NULL) {
		struct passwd *pw = getpwnam(cfg->api_user);

		if (pw == NULL)
			fatalx("--api-user %s: no such user", cfg->api_user);
		api_uid = pw->pw_uid;
		api_user_set = true;
	}
	if (snprintf(socket_path, sizeof(socket_path), "%s/%s",
		cfg->runtime_dir,
		REEL_SOCKET_NAME) >= (int)sizeof(socket_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	str_copy(sun.sun_path, socket_path, sizeof(sun.sun_path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	unlink(socket_path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    chmod(socket_path, 0660) != 0 || listen(fd, 128) != 0) {
		close(fd);
		return -1;
	}
	listen_ev = event_new(base, fd, EV_READ | EV_PERSIST, accept_cb, NULL);
	backoff_ev = evtimer_new(base, backoff_cb, NULL);
	return event_add(listen_ev, NULL);
}

void
control_close(void)
{
	if (listen_ev == NULL)
		return;
	close(event_get_fd(listen_ev));
	event_free(listen_ev);
	event_free(backoff_ev);
	listen_ev = NULL;
	unlink(socket_path);
}
