/*
 * The video timeline (see render_video.h). Requests are the output frames
 * in segment order, each with the source time it shows; since segments
 * are in source order, so are the requests. A decoded frame is held until
 * the next one arrives: every pending request earlier than the newcomer is
 * then served by the held frame, which is the latest at or before it.
 *
 * Output order: a segment's frames go out as they are served, except the
 * ones that overlap the next segment's dissolve, which wait in the tail
 * buffer (slot n - f0 of the next segment) and go out blended when the
 * next segment serves the same output frame. So frames reach the encoder
 * in increasing n.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "render_video.h"

#define RVID_ONE 256

struct rvid {
	struct stage_ctx *ctx;
	const struct rplan *p;
	struct rconf *conf;
	struct enc *enc;
	rvid_tap_fn tap;
	void *tap_arg;
	int seg; /* next request: output frame n of segment seg */
	int64_t n;
	AVFrame *held; /* the latest source frame, or unused */
	bool have_held;
	double held_t;
	AVFrame *held_out; /* held, conformed; NULL until needed */
	/* The framing held_out was conformed at. */
	double held_zoom, held_x, held_y;
	/* The outgoing segment's pictures under the next dissolve. */
	AVFrame *tail[RPLAN_DISSOLVE_MAX_FRAMES];
	int tail_w[RPLAN_DISSOLVE_MAX_FRAMES];
	int64_t emitted, rendered;
};

enum stage_result
rvid_new(struct stage_ctx *ctx, const struct rplan *p, struct rconf *conf,
    struct enc *enc, struct rvid **out)
{
	struct rvid *v = calloc(1, sizeof(*v));

	*out = NULL;
	if (v == NULL || (v->held = av_frame_alloc()) == NULL) {
		free(v);
		return stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	}
	v->ctx = ctx;
	v->p = p;
	v->conf = conf;
	v->enc = enc;
	*out = v;
	return STAGE_OK;
}

void
rvid_set_tap(struct rvid *v, rvid_tap_fn fn, void *arg)
{
	v->tap = fn;
	v->tap_arg = arg;
}

bool
rvid_done(const struct rvid *v)
{
	return v->seg >= v->p->nsegs;
}

double
rvid_next_need(const struct rvid *v)
{
	if (rvid_done(v))
		return INFINITY;
	return rplan_source_time(v->p, v->seg, rplan_frame_time(v->p, v->n));
}

double
rvid_position(const struct rvid *v)
{
	return v->have_held ? v->held_t : -INFINITY;
}

int64_t
rvid_emitted(const struct rvid *v)
{
	return v->emitted;
}

int64_t
rvid_rendered(const struct rvid *v)
{
	return v->rendered;
}

/* The fade weight of frame n of segment s, 0..RVID_ONE. */
static int
rvid_fade(const struct rplan_seg *s, int64_t n)
{
	double g = 1.0;

	if (s->fade_in > 0 && n - s->f0 < s->fade_in)
		g *= (double)(n - s->f0) / s->fade_in;
	if (s->fade_out > 0 && s->f1 - 1 - n < s->fade_out)
		g *= (double)(s->f1 - 1 - n) / s->fade_out;
	return (int)lround(g * RVID_ONE);
}

static void
rvid_mix_plane(
    const AVFrame *a, int wa, const AVFrame *b, int wb, AVFrame *o, int plane)
{
	int sub = plane == 0 ? 0 : 1, black = plane == 0 ? 16 : 128;
	int w = o->width >> sub, h = o->height >> sub, x, y, v;
	const uint8_t *pa, *pb;
	uint8_t *po;

	for (y = 0; y < h; y++) {
		pa = a->data[plane] + (ptrdiff_t)y * a->linesize[plane];
		pb = b != NULL
			 ? b->data[plane] + (ptrdiff_t)y * b->linesize[plane]
			 : NULL;
		po = o->data[plane] + (ptrdiff_t)y * o->linesize[plane];
		for (x = 0; x < w; x++) {
			v = (pa[x] - black) * wa;
			if (pb != NULL)
				v += (pb[x] - black) * wb;
			v = black + ((v + RVID_ONE / 2) >> 8);
			po[x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
		}
	}
}

/* wa of a plus wb of b (b may be NULL), over black; a is kept as is
 * when it is the whole picture. */
static enum stage_result
rvid_mix(struct rvid *v, const AVFrame *a, int wa, const AVFrame *b, int wb,
    AVFrame **out)
{
	AVFrame *o;
	int p;

	if (b == NULL && wa == RVID_ONE) {
		*out = av_frame_clone(a);
		return *out == NULL
			   ? stage_fail(v->ctx, STAGE_E_TEMP, "out of memory")
			   : STAGE_OK;
	}
	if ((o = *out = av_frame_alloc()) == NULL)
		return stage_fail(v->ctx, STAGE_E_TEMP, "out of memory");
	o->format = a->format;
	o->width = a->width;
	o->height = a->height;
	if (av_frame_get_buffer(o, 64) < 0 || av_frame_copy_props(o, a) < 0)
		return stage_fail(v->ctx, STAGE_E_TEMP, "out of memory");
	for (p = 0; p < 3; p++)
		rvid_mix_plane(a, wa, b, wb, o, p);
	return STAGE_OK;
}

static enum stage_result
rvid_emit(struct rvid *v, AVFrame *f, int64_t n)
{
	enum stage_result rc = enc_video(v->enc, f, n);

	if (rc == STAGE_OK && v->tap != NULL)
		rc = v->tap(v->tap_arg, f, n);
	av_frame_free(&f);
	v->emitted++;
	return rc;
}

/* Frame n of the incoming segment over the buffered outgoing picture. */
static enum stage_result
rvid_dissolve(struct rvid *v, const struct rplan_seg *s, int wb)
{
	int64_t k = v->n - s->f0, over = s[-1].f1 - s->f0;
	double alpha = (double)(k + 1) / (double)(over + 1);
	int ia = (int)lround(alpha * RVID_ONE);
	AVFrame *out = NULL, *a = v->tail[k];
	enum stage_result rc;

	if (a == NULL)
		return stage_fail(v->ctx, STAGE_E_SOFTWARE,
		    "dissolve frame %lld was never buffered", (long long)v->n);
	rc = rvid_mix(v, a, v->tail_w[k] * (RVID_ONE - ia) / RVID_ONE,
	    v->held_out, wb * ia / RVID_ONE, &out);
	av_frame_free(&v->tail[k]);
	if (rc != STAGE_OK) {
		av_frame_free(&out);
		return rc;
	}
	return rvid_emit(v, out, v->n);
}

static enum stage_result
rvid_place(struct rvid *v)
{
	const struct rplan_seg *s = &v->p->segs[v->seg];
	bool last = v->seg + 1 >= v->p->nsegs;
	int w = rvid_fade(s, v->n);
	AVFrame *out = NULL;
	enum stage_result rc;

	if (!last && s[1].tin == RPLAN_DISSOLVE && v->n >= s[1].f0) {
		v->tail[v->n - s[1].f0] = av_frame_clone(v->held_out);
		v->tail_w[v->n - s[1].f0] = w;
		return v->tail[v->n - s[1].f0] == NULL
			   ? stage_fail(v->ctx, STAGE_E_TEMP, "out of memory")
			   : STAGE_OK;
	}
	if (s->tin == RPLAN_DISSOLVE && v->n < s[-1].f1)
		return rvid_dissolve(v, s, w);
	if ((rc = rvid_mix(v, v->held_out, w, NULL, 0, &out)) != STAGE_OK) {
		av_frame_free(&out);
		return rc;
	}
	return rvid_emit(v, out, v->n);
}

/* Serves the current request with the held frame and moves on. */
static enum stage_result
rvid_serve(struct rvid *v)
{
	const struct rplan_seg *s = &v->p->segs[v->seg];
	enum stage_result rc;

	/* One source frame can open a punch-in after closing the whole. */
	if (v->held_out != NULL &&
	    (v->held_zoom != s->zoom || v->held_x != s->zoom_x ||
		v->held_y != s->zoom_y))
		av_frame_free(&v->held_out);
	if (v->held_out == NULL) {
		if ((rc = rconf_render(v->conf, v->held, s->zoom, s->zoom_x,
			 s->zoom_y, &v->held_out)) != STAGE_OK)
			return rc;
		v->held_zoom = s->zoom;
		v->held_x = s->zoom_x;
		v->held_y = s->zoom_y;
		v->rendered++;
	}
	if ((rc = rvid_place(v)) != STAGE_OK)
		return rc;
	if (++v->n >= v->p->segs[v->seg].f1 && ++v->seg < v->p->nsegs)
		v->n = v->p->segs[v->seg].f0;
	return STAGE_OK;
}

enum stage_result
rvid_frame(struct rvid *v, const AVFrame *f, double t)
{
	enum stage_result rc;

	while (v->have_held && !rvid_done(v) &&
	       t > rvid_next_need(v) + RVID_EPS_S) {
		if ((rc = rvid_serve(v)) != STAGE_OK)
			return rc;
	}
	if (rvid_done(v))
		return STAGE_OK;
	av_frame_unref(v->held);
	av_frame_free(&v->held_out);
	if (av_frame_ref(v->held, f) < 0)
		return stage_fail(v->ctx, STAGE_E_TEMP, "out of memory");
	v->have_held = true;
	v->held_t = t;
	return STAGE_OK;
}

enum stage_result
rvid_finish(struct rvid *v, double step)
{
	enum stage_result rc;

	while (v->have_held && !rvid_done(v) &&
	       rvid_next_need(v) <= v->held_t + 2.0 * step + RVID_EPS_S) {
		if ((rc = rvid_serve(v)) != STAGE_OK)
			return rc;
	}
	if (rvid_done(v))
		return STAGE_OK;
	if (!v->have_held)
		return stage_fail(v->ctx, STAGE_E_DATA,
		    "the source video is truncated or damaged: nothing "
		    "decodes from %.2f s, where the plan needs it",
		    rvid_next_need(v));
	return stage_fail(v->ctx, STAGE_E_DATA,
	    "the source video is truncated or damaged: it ends at %.2f s, "
	    "the plan uses it up to %.2f s",
	    v->held_t + step, v->p->segs[v->p->nsegs - 1].src_end);
}

void
rvid_seek(struct rvid *v)
{
	av_frame_unref(v->held);
	av_frame_free(&v->held_out);
	v->have_held = false;
}

void
rvid_free(struct rvid *v)
{
	int i;

	if (v == NULL)
		return;
	for (i = 0; i < RPLAN_DISSOLVE_MAX_FRAMES; i++)
		av_frame_free(&v->tail[i]);
	av_frame_free(&v->held);
	av_frame_free(&v->held_out);
	free(v);
}
