/*
 * spawner.c: the only fork and exec in reeld. spawn_worker starts path
 * with its end of a socketpair on fd 3 and returns reeld's end in sock.
 */
#ifndef REEL_SUP_SPAWNER_H
#define REEL_SUP_SPAWNER_H

#include <sys/types.h>

int spawn_worker(const char *path, char *const argv[], pid_t *pid, int *sock,
    int *exec_errno);

#endif
