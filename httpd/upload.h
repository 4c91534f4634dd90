/*
 * POST /videos/upload: the multipart body streams into an unnamed
 * temporary file (O_TMPFILE), which reaches reeld as a descriptor, as
 * reelctl's uploads do. Memory stays bounded whatever the file's size,
 * and no temporary file can outlive the request, even if reel-httpd is
 * killed: the file never has a name.
 */
#ifndef REEL_HTTPD_UPLOAD_H
#define REEL_HTTPD_UPLOAD_H

#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "auth.h"

/* Room for the multipart framing and the small fields beside the file. */
#define UPLOAD_OVERHEAD_MAX (64 * 1024)

struct upload;

/*
 * Starts an upload of at most max_bytes of file data into a temporary file
 * in dir. NULL after replying with the error (a Content-Type that is not
 * multipart, a Content-Length already too large, no temporary file).
 */
struct upload *upload_begin(struct MHD_Connection *c, const char *dir,
    uint64_t max_bytes, enum MHD_Result *rc);
/* The next chunk of the body. -1 once the upload has failed. */
int upload_feed(struct upload *u, const char *data, size_t len);
/* The body is over, or has failed: answers the request. */
enum MHD_Result upload_finish(struct MHD_Connection *c, struct upload *u,
    const struct auth_identity *who);
void upload_free(struct upload *u);

#endif
