/*
 * confine.c: least privilege for workers (docs/security.md). Init resolves
 * --worker-user when reeld runs as root; grant makes a directory reeld
 * created usable by that user; enter runs in the vfork child before exec
 * (async-signal-safe: rlimits, no_new_privs, the user switch).
 */
#ifndef REEL_SUP_CONFINE_H
#define REEL_SUP_CONFINE_H

#include "config.h"

void confine_init(const struct config *cfg);
int confine_grant(const char *path);
int confine_enter(void);

#endif
