/*
 * video.c: uploads, probing and the registry of stored videos.
 */
#ifndef REEL_SUP_VIDEO_H
#define REEL_SUP_VIDEO_H

#include <event2/event.h>
#include <jansson.h>

#include "config.h"
#include "msg.h"

struct video;
void video_init(struct event_base *base, const struct config *cfg);
int video_load_all(void);
struct video *video_find(const char *video_id);
const char *video_path(const struct video *v);
/*
 * How an upload answers the client that sent it: the client layer passes
 * these in, so uploads never call up into it. client is its own pointer,
 * given back unchanged; ok takes the reference to data.
 */
struct upload_reply {
	void (*ok)(void *client, const char *message, json_t *data);
	void (*err)(void *client, const char *message, const char *code,
	    const char *detail);
};
/* Takes m->fd. Exactly one reply follows, unless the client goes first. */
void video_upload(
    struct msg *m, const struct upload_reply *reply, void *client);
/* The client went away: its uploads are abandoned, without a reply. */
void video_client_gone(void *client);

#endif
