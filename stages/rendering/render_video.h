/*
 * The video timeline: decoded source frames in, output frames to the
 * encoder, at the plan's constant rate.
 *
 * Output frame n of segment i shows the source frame whose time is the
 * latest at or before src_start + (n / fps - out_start) (frames dropped or
 * repeated, never interpolated). Only frames that are shown are graded
 * and conformed, and a repeated frame is conformed once. Fades scale the
 * picture towards black over the plan's frames (the frame at a fade's
 * cut is black); a dissolve's frame k of K blends (k + 1) / (K + 1) of the
 * incoming picture over the outgoing one. The outgoing segment's last K
 * pictures wait in a buffer of at most RPLAN_DISSOLVE_MAX_FRAMES frames
 * until the incoming segment is decoded; nothing else is kept but the
 * current source frame. Prefix rvid_.
 */
#ifndef REEL_RENDER_VIDEO_H
#define REEL_RENDER_VIDEO_H

#include <stdbool.h>
#include <stdint.h>

#include <libavutil/frame.h>

#include "encode.h"
#include "render_conform.h"
#include "render_plan.h"
#include "stage.h"

/* Frame times closer than this are the same instant (rounding). */
#define RVID_EPS_S 1e-4

/* Sees every output frame as it goes to the encoder. */
typedef enum stage_result (*rvid_tap_fn)(
    void *arg, const AVFrame *f, int64_t n);

struct rvid;

enum stage_result rvid_new(struct stage_ctx *ctx, const struct rplan *p,
    struct rconf *conf, struct enc *enc, struct rvid **out);
void rvid_set_tap(struct rvid *v, rvid_tap_fn fn, void *arg);
/* Takes the next decoded source frame, at source time t (increasing). */
enum stage_result rvid_frame(struct rvid *v, const AVFrame *f, double t);
/*
 * The source ended. Its last frame serves up to step * 2 past its time;
 * a plan that needs more fails as STAGE_E_DATA (a truncated source).
 */
enum stage_result rvid_finish(struct rvid *v, double step);
/* The demuxer jumped: forget the current source frame. */
void rvid_seek(struct rvid *v);
/* Source time of the next frame needed; INFINITY when done. */
double rvid_next_need(const struct rvid *v);
/* Time of the last source frame taken; -INFINITY before the first. */
double rvid_position(const struct rvid *v);
bool rvid_done(const struct rvid *v);
/* Output frames encoded, and source frames conformed, so far. */
int64_t rvid_emitted(const struct rvid *v);
int64_t rvid_rendered(const struct rvid *v);
void rvid_free(struct rvid *v);

#endif
