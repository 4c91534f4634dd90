/*
 * Bearer tokens from the token file: lines "TOKEN USER" or "TOKEN USER
 * admin", '#' comments and blank lines ignored. The file must be a regular
 * file that only its owner can read or write (mode 0600 or stricter).
 * Tokens are compared in constant time; SIGHUP re-reads the file, and a
 * file that no longer parses keeps the tokens already loaded.
 */
#ifndef REEL_HTTPD_AUTH_H
#define REEL_HTTPD_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "contract.h"

#define AUTH_TOKEN_MIN 16
#define AUTH_TOKEN_MAX 256
#define AUTH_TOKENS_MAX 4096

struct auth_identity {
	char user[REEL_USER_SIZE];
	bool admin;
};

/* Loads (or reloads) path. 0, or -1 with err; on -1 nothing changes. */
int auth_load(const char *path, char *err, size_t errlen);
/* How many tokens are loaded. */
size_t auth_count(void);
/*
 * The identity of an Authorization header's value ("Bearer TOKEN"): 0, or
 * -1 when the header is missing (NULL), malformed or the token unknown.
 */
int auth_check(const char *authorization, struct auth_identity *out);
void auth_free(void);

#endif
