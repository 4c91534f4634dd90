/*
 * control.c: the client socket (reeld.sock) and request dispatch.
 */
#ifndef REEL_SUP_CONTROL_H
#define REEL_SUP_CONTROL_H

#include <event2/event.h>

#include "config.h"

int control_listen(struct event_base *base, const struct config *cfg);
void control_close(void);

#endif
