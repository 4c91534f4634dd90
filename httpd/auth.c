/*
 * The token table is replaced whole on reload under a rwlock, so a request
 * sees either the old or the new table. Each check hashes the presented
 * token and compares the digest with every entry's without stopping at a
 * match, so the time taken says nothing about which token, or how much of
 * one, was right.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "auth.h"
#include "util.h"

struct token {
	unsigned char digest[SHA256_DIGEST_LENGTH];
	struct auth_identity who;
};

struct table {
	struct token *tokens;
	size_t count;
};

static pthread_rwlock_t table_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct table current;

static void
digest_of(const char *token, size_t len, unsigned char *out)
{
	SHA256((const unsigned char *)token, len, out);
}

static int
parse_line(
    char *line, unsigned lineno, struct token *t, char *err, size_t errlen)
{
	char *token = strtok(line, " \t"), *user = strtok(NULL, " \t");
	char *role = strtok(NULL, " \t"), *extra = strtok(NULL, " \t");
	size_t tlen = token != NULL ? strlen(token) : 0;

	if (user == NULL || extra != NULL ||
	    (role != NULL && strcmp(role, "admin") != 0)) {
		snprintf(err, errlen,
		    "line %u: expected \"TOKEN USER\" or \"TOKEN USER admin\"",
		    lineno);
		return -1;
	}
	if (tlen < AUTH_TOKEN_MIN || tlen > AUTH_TOKEN_MAX) {
		snprintf(err, errlen, "line %u: a token must be %d to %d bytes",
		    lineno, AUTH_TOKEN_MIN, AUTH_TOKEN_MAX);
		return -1;
	}
	if (!reel_user_valid(user)) {
		snprintf(err, errlen,
		    "line %u: user '%.40s' is not 1 to %d of a-z A-Z 0-9 . _ "
		    "@ -",
		    lineno, user, REEL_USER_LEN);
		return -1;
	}
	digest_of(token, tlen, t->digest);
	str_copy(t->who.user, user, sizeof(t->who.user));
	t->who.admin = role != NULL;
	return 0;
}

static FILE *
open_private(const char *path, char *err, size_t errlen)
{
	struct stat st;
	FILE *f;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
		snprintf(err, errlen,
		    "%s: must be a regular file that only its owner may read "
		    "(mode 0600), is %04o",
		    path, (unsigned)(st.st_mode & 07777));
		close(fd);
		return NULL;
	}
	if ((f = fdopen(fd, "r")) == NULL)
		close(fd);
	return f;
}

static int
read_table(FILE *f, struct table *t, char *err, size_t errlen)
{
	char line[AUTH_TOKEN_MAX + 64];
	unsigned lineno = 0;

	t->tokens = xcalloc(AUTH_TOKENS_MAX, sizeof(*t->tokens));
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			snprintf(err, errlen, "line %u: too long", lineno);
			return -1;
		}
		line[strcspn(line, "\r\n")] = '\0';
		if (line[strspn(line, " \t")] == '\0' ||
		    line[strspn(line, " \t")] == '#')
			continue;
		if (t->count == AUTH_TOKENS_MAX) {
			snprintf(err, errlen, "more than %d tokens",
			    AUTH_TOKENS_MAX);
			return -1;
		}
		if (parse_line(
			line, lineno, &t->tokens[t->count], err, errlen) != 0)
			return -1;
		t->count++;
	}
	return 0;
}

int
auth_load(const char *path, char *err, size_t errlen)
{
	struct table fresh = {NULL, 0}, old;
	FILE *f = open_private(path, err, errlen);
	int rc;

	if (f == NULL)
		return -1;
	rc = read_table(f, &fresh, err, errlen);
	fclose(f);
	if (rc != 0) {
		free(fresh.tokens);
		return -1;
	}
	pthread_rwlock_wrlock(&table_lock);
	old = current;
	current = fresh;
	pthread_rwlock_unlock(&table_lock);
	free(old.tokens);
	return 0;
}

size_t
auth_count(void)
{
	size_t n;

	pthread_rwlock_rdlock(&table_lock);
	n = current.count;
	pthread_rwlock_unlock(&table_lock);
	return n;
}

int
auth_check(const char *authorization, struct auth_identity *out)
{
	unsigned char digest[SHA256_DIGEST_LENGTH];
	const char *token;
	size_t len;
	int found = -1;

	if (authorization == NULL ||
	    strncasecmp(authorization, "Bearer ", 7) != 0)
		return -1;
	token = authorization + 7 + strspn(authorization + 7, " ");
	len = strlen(token);
	if (len < AUTH_TOKEN_MIN || len > AUTH_TOKEN_MAX)
		return -1;
	digest_of(token, len, digest);
	pthread_rwlock_rdlock(&table_lock);
	for (size_t i = 0; i < current.count; i++) {
		if (CRYPTO_memcmp(digest, current.tokens[i].digest,
			sizeof(digest)) == 0 &&
		    found < 0) {
			*out = current.tokens[i].who;
			found = 0;
		}
	}
	pthread_rwlock_unlock(&table_lock);
	return found;
}

void
auth_free(void)
{
	pthread_rwlock_wrlock(&table_lock);
	free(current.tokens);
	current.tokens = NULL;
	current.count = 0;
	pthread_rwlock_unlock(&table_lock);
}
