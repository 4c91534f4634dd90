/*
 * retention.c: a terminal job older than --retention-seconds leaves with
 * its files and webhook events; a FORGET record in the journal says so.
 */
#ifndef REEL_SUP_RETENTION_H
#define REEL_SUP_RETENTION_H

#include <jansson.h>

#include "config.h"

void retention_init(const struct config *cfg);
/* From the heartbeat: expires what is due, at most one scan a second. */
void retention_tick(void);
/* The JOURNAL_FORGET replay handler. */
int retention_replay_forget(unsigned type, json_t *rec);

#endif
