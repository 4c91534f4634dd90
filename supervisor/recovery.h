/*
 * recovery.c: after the journal's replay, puts every job back where it
 * was: finished jobs counted and shown, processing ones first in the queue
 * to run their stage again, then the queued ones, in order.
 */
#ifndef REEL_SUP_RECOVERY_H
#define REEL_SUP_RECOVERY_H

void recovery_run(void);

#endif
