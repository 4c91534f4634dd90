/*
 * Responses in the documented envelope ({success, message, data} or
 * {success: false, message, error: {code, detail}}) with the HTTP status
 * each error code maps to (docs/httpd.md), and the headers every response
 * carries: JSON content type, no caching, CORS when the origin is allowed.
 */
#ifndef REEL_HTTPD_REPLY_H
#define REEL_HTTPD_REPLY_H

#include <jansson.h>
#include <microhttpd.h>

/* reel-httpd's own codes, beside the contract's (common/contract.h). */
#define ERR_NOT_FOUND "NOT_FOUND"
#define ERR_METHOD_NOT_ALLOWED "METHOD_NOT_ALLOWED"
#define ERR_SERVICE_UNAVAILABLE "SERVICE_UNAVAILABLE"
#define ERR_REQUEST_TOO_LARGE "REQUEST_TOO_LARGE"
#define ERR_UNSUPPORTED_MEDIA_TYPE "UNSUPPORTED_MEDIA_TYPE"

/* The HTTP status of an error code; 500 for a code it does not know. */
unsigned reply_status_of(const char *code);
/* Sets the allowed CORS origins: a comma-separated list, or NULL. */
void reply_set_cors(const char *origins);

/* Queues a JSON body (steals body). MHD_NO when it could not. */
enum MHD_Result reply_json(
    struct MHD_Connection *c, unsigned status, json_t *body);
enum MHD_Result reply_ok(
    struct MHD_Connection *c, const char *message, json_t *data);
enum MHD_Result reply_error(struct MHD_Connection *c, const char *code,
    const char *message, const char *detail);
/* As reply_error, with the status given rather than the code's. */
enum MHD_Result reply_error_status(struct MHD_Connection *c, unsigned status,
    const char *code, const char *message, const char *detail);
/* 401 UNAUTHORIZED with the WWW-Authenticate challenge. */
enum MHD_Result reply_unauthorized(struct MHD_Connection *c);
/* 405 with the Allow header the path's methods give. */
enum MHD_Result reply_method_not_allowed(
    struct MHD_Connection *c, const char *allow, const char *detail);
/* Adds the headers every response carries (CORS, no-store) to r. */
void reply_headers(struct MHD_Connection *c, struct MHD_Response *r);

#endif
