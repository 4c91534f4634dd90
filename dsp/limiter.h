/*
 * A look-ahead true-peak limiter for interleaved float audio.
 *
 * The true peak is estimated the BS.1770 way, by 4x oversampling (a
 * windowed-sinc interpolator, 12 taps per phase). The gain needed at each
 * sample (ceiling over the peak on either side of it) goes through a
 * sliding minimum over the look-ahead, an exponential release, and a
 * moving average over the look-ahead. The average of minima can only lie
 * below the gain every sample needs, so no sample or interpolated peak
 * passes the ceiling, while the gain moves smoothly (no clicks) and not at
 * all when nothing is near the ceiling. Output lags input by
 * lim_latency() frames; memory is fixed. Prefix lim_.
 */
#ifndef REEL_LIMITER_H
#define REEL_LIMITER_H

/* Look-ahead (attack) and release time constant, s. */
#define LIM_LOOKAHEAD_S 0.005
#define LIM_RELEASE_S 0.050

struct lim;

/* A limiter to ceiling_db (dBTP) for channels (1..8); NULL when out of
 * memory or out of range. */
struct lim *lim_new(int rate, int channels, double ceiling_db);
/* Frames by which the output lags the input. */
int lim_latency(const struct lim *l);
/*
 * Limits n frames in place: on return x holds the output that belongs
 * lim_latency() frames earlier (silence before the start).
 */
void lim_process(struct lim *l, float *x, int n);
/* The lowest gain applied so far (1 when it never acted). */
double lim_min_gain(const struct lim *l);
void lim_free(struct lim *l);

#endif
