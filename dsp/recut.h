/*
 * Edit planning for style_application: re-cuts a source so that its shot
 * rhythm follows a template's (media-algorithms.md 2.5, 4.5). Every output
 * shot is a piece of one source shot; a source shot yields one piece or
 * several separated by skipped gaps (jump cuts), with lengths following
 * the template's own sequence of shot lengths, and the mean length is
 * chosen so that the output's cut frequency matches the template's. A
 * jump inside a shot whose picture hardly moves is not visible by itself,
 * so such a shot's pieces alternate between the full frame and a punch-in
 * (a centred, enlarged crop), as editors cut a static take. Cut points snap
 * to the source's beats when it has music, each cut on its own, and joins
 * take the template's transitions in the template's order. Pure
 * functions, no I/O.
 *
 * Guarantees of a plan: segments are in source order, src_start_s strictly
 * increasing, never overlapping in the source, each inside one source shot
 * and at least min_len_s long (two output frames, more with transitions);
 * two segments from the same source shot are at least that shot's
 * min_gap_s apart; out_start_s follows docs/stages/plan.md. Prefix recut_.
 */
#ifndef REEL_RECUT_H
#define REEL_RECUT_H

#include <stdbool.h>
#include <stddef.h>

enum recut_kind {
	RECUT_NONE = 0, /* the first segment */
	RECUT_CUT,
	RECUT_FADE,	/* through black, no overlap */
	RECUT_DISSOLVE, /* cross-fade, segments overlap by its duration */
};

struct recut_transition {
	enum recut_kind kind;
	double duration_s;
};

/*
 * The usable stretch of one source shot (gradual transitions of the source
 * left out) and the skip a jump inside it needs to be visible; punch_in
 * when motion cannot make a jump visible and the punch-in does instead;
 * single when no jump inside it would be visible: it gives one piece.
 */
struct recut_shot {
	double start_s;
	double end_s;
	double min_gap_s;
	bool punch_in;
	bool single;
};

struct recut_params {
	/* Template shot lengths in template order, s (npattern >= 1). */
	const double *pattern;
	size_t npattern;
	/* Template transitions in order, used cyclically; none: all cuts. */
	const struct recut_transition *transitions;
	size_t ntransitions;
	/* Cuts per minute to reach; 0 keeps one piece per source shot. */
	double cut_frequency;
	/* Source beat times, ascending (NULL, 0 without music). */
	const double *beats;
	size_t nbeats;
	/* Output frame rate, frames/s. */
	double frame_rate;
	/* Scale of a punch-in, > 1 (used by shots with punch_in). */
	double punch_in;
};

struct recut_segment {
	double src_start_s;
	double src_end_s;
	double out_start_s;
	struct recut_transition in;
	/* Scale of the picture: 1 the whole conform region, else a punch-in. */
	double zoom;
	/* Its ends fall on source beats. */
	bool start_on_beat, end_on_beat;
	/*
	 * Where a punch-in's window sits in the room it leaves: 0 left or
	 * top, 0.5 centred, 1 right or bottom.
	 */
	double zoom_x, zoom_y;
};

struct recut_plan {
	struct recut_segment *seg;
	size_t n;
	double duration_s;    /* end of the last segment in the output */
	double cut_frequency; /* 60 * (n - 1) / duration_s */
	double min_len_s;     /* the shortest segment allowed */
	/* Cuts whose both sides fall on a source beat; beat_snapped when
	 * that is more than half of the n - 1 cuts. */
	size_t cuts_on_beats;
	bool beat_snapped;
};

const char *recut_kind_name(enum recut_kind kind);
/* "cut", "fade", "dissolve" (and "none"); -1 for anything else. */
int recut_kind_parse(const char *name, enum recut_kind *out);

/*
 * The beat nearest to t within [lo, hi] and at most max_dist from t, or t
 * itself when there is none. beats ascending.
 */
double recut_snap(double t, const double *beats, size_t nbeats, double lo,
    double hi, double max_dist);
/* Median interval between beats, s; 0 with fewer than two. */
double recut_beat_period(const double *beats, size_t nbeats);
/*
 * Sets out_start_s of every segment from the lengths and transitions and
 * returns the output duration.
 */
double recut_timeline(struct recut_segment *seg, size_t n);
/* Cuts per minute of n segments lasting duration_s in all. */
double recut_cut_frequency(size_t n, double duration_s);

/*
 * Plans the edit. Returns 0, or -1 when no shot is long enough for a
 * segment (errno EINVAL) or memory runs out (ENOMEM). Free with
 * recut_plan_free.
 */
int recut_plan_build(const struct recut_shot *shots, size_t nshots,
    const struct recut_params *p, struct recut_plan *out);
/*
 * Shortens a plan longer than target_s to it: the fewest segments, spread
 * evenly over the plan (its first and last kept), that reach the target,
 * trimmed at the end of the last (or, when that would leave it under
 * min_len_s, of each in proportion). A plan no longer than the target is
 * left as it is. Returns 0, or -1 when memory runs out.
 */
int recut_plan_fit(struct recut_plan *plan, double target_s);
/*
 * Lands the plan's cuts on beats of the output's own timeline (music that
 * plays from output time 0, such as the template's): each cut in turn
 * moves to the nearest beat within half a beat period by lengthening or
 * shortening the segment before it, as far as its source shot (and the
 * jump gap to the next piece of it) and min_len_s allow. Recounts
 * cuts_on_beats and beat_snapped from these beats.
 */
void recut_snap_output(struct recut_plan *plan, const struct recut_shot *shots,
    size_t nshots, const double *beats, size_t nbeats);
void recut_plan_free(struct recut_plan *plan);

#endif
