/*
 * The routes that need no request body, and job creation from its JSON
 * body: each turns the request into one call of reeld (or a read of the
 * shared job table) and reeld's envelope into the HTTP answer.
 */
#ifndef REEL_HTTPD_API_H
#define REEL_HTTPD_API_H

#include <microhttpd.h>

#include "auth.h"
#include "msg.h"
#include "router.h"

/* Largest JSON body of POST /jobs. */
#define API_JSON_MAX (64 * 1024)

enum MHD_Result api_health(struct MHD_Connection *c);
enum MHD_Result api_job_status(struct MHD_Connection *c,
    const struct auth_identity *who, const char *job_id);
enum MHD_Result api_job_list(
    struct MHD_Connection *c, const struct auth_identity *who);
/* RESULT, CANCEL and REDELIVER, which differ only in the message. */
enum MHD_Result api_job_call(struct MHD_Connection *c,
    const struct auth_identity *who, enum route route, const char *job_id);
enum MHD_Result api_job_artifact(struct MHD_Connection *c,
    const struct auth_identity *who, const char *job_id, const char *artifact);
/* POST /jobs with its whole body. */
enum MHD_Result api_job_create(struct MHD_Connection *c,
    const struct auth_identity *who, const char *body, size_t len);
/*
 * Sends req to reeld for who and answers with its envelope: success as
 * 200 with data (steals nothing), failure with the code's status.
 */
enum MHD_Result api_forward(struct MHD_Connection *c,
    const struct auth_identity *who, const struct msg *req);

#endif
