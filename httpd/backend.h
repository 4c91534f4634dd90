/*
 * reeld, as reel-httpd reaches it: one connection to reeld.sock per call,
 * identified as the request's owner (IDENTIFY) before the request itself.
 * reeld remains the only judge of every job and video.
 */
#ifndef REEL_HTTPD_BACKEND_H
#define REEL_HTTPD_BACKEND_H

#include "auth.h"
#include "msg.h"

void backend_init(const char *socket_path);
/*
 * Sends req for who and receives the RESPONSE into resp (msg_clear it;
 * close resp->fd when >= 0). 0 whatever the envelope says, or -1 with err
 * when reeld cannot be reached or broke the protocol.
 */
int backend_call(const struct auth_identity *who, const struct msg *req,
    struct msg *resp, char *err, size_t errlen);

#endif
