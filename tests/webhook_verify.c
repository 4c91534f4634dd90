/*
 * Test helper: verifies Standard Webhooks signatures the way a receiver
 * would, independently of reeld's code. For each request file written by
 * webhook_receiver (head, blank line, body) it recomputes
 * base64(HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>")) with
 * the key from the "whsec_<base64>" secret file, and compares it with every
 * "v1," signature in the webhook-signature header. Prints "ok N" when all N
 * requests verify; otherwise names each bad file and exits 1.
 *
 * usage: webhook_verify SECRET_FILE REQUEST_FILE...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#define VERIFY_MAX (1024 * 1024)

static char *
verify_slurp(const char *path, size_t *len)
{
	char *buf = malloc(VERIFY_MAX + 1);
	FILE *f = fopen(path, "r");

	if (buf == NULL || f == NULL) {
		free(buf);
		if (f != NULL)
			fclose(f);
		return NULL;
	}
	*len = fread(buf, 1, VERIFY_MAX, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

/* The value of header name in head, or NULL; trailing CR removed. */
static int
verify_header(const char *head, const char *name, char *out, size_t size)
{
	size_t n = strlen(name);

	for (const char *p = head; p != NULL && *p != '\0';
	     p = strchr(p, '\n') != NULL ? strchr(p, '\n') + 1 : NULL) {
		if (strncasecmp(p, name, n) != 0 || p[n] != ':')
			continue;
		p += n + 1;
		while (*p == ' ')
			p++;
		n = strcspn(p, "\r\n");
		if (n >= size)
			return -1;
		memcpy(out, p, n);
		out[n] = '\0';
		return 0;
	}
	return -1;
}

static int
verify_key(const char *path, unsigned char *key, int *keylen)
{
	char text[512];
	size_t len;
	FILE *f = fopen(path, "r");

	if (f == NULL || fgets(text, sizeof(text), f) == NULL) {
		if (f != NULL)
			fclose(f);
		return -1;
	}
	fclose(f);
	text[strcspn(text, "\r\n")] = '\0';
	len = strlen(text);
	if (strncmp(text, "whsec_", 6) != 0 || (len - 6) % 4 != 0)
		return -1;
	*keylen = EVP_DecodeBlock(key, (unsigned char *)text + 6, (int)len - 6);
	*keylen -= (text[len - 1] == '=') + (text[len - 2] == '=');
	return *keylen > 0 ? 0 : -1;
}

static int
verify_one(const char *path, const unsigned char *key, int keylen)
{
	char id[256], ts[64], sigs[1024], expect[128], *buf, *body, *msg;
	unsigned char mac[EVP_MAX_MD_SIZE];
	size_t len, maclen = 0;
	int ok = 0;

	if ((buf = verify_slurp(path, &len)) == NULL)
		return -1;
	body = strstr(buf, "\r\n\r\n");
	if (body == NULL || verify_header(buf, "webhook-id", id, sizeof(id)) ||
	    verify_header(buf, "webhook-timestamp", ts, sizeof(ts)) ||
	    verify_header(buf, "webhook-signature", sigs, sizeof(sigs))) {
		free(buf);
		return -1;
	}
	body += 4;
	len = strlen(id) + strlen(ts) + strlen(body) + 3;
	msg = malloc(len);
	snprintf(msg, len, "%s.%s.%s", id, ts, body);
	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, (size_t)keylen,
		(unsigned char *)msg, strlen(msg), mac, sizeof(mac),
		&maclen) != NULL) {
		memcpy(expect, "v1,", 3);
		EVP_EncodeBlock((unsigned char *)expect + 3, mac, (int)maclen);
		for (char *s = strtok(sigs, " "); s != NULL;
		     s = strtok(NULL, " "))
			ok = ok || strcmp(s, expect) == 0;
	}
	free(msg);
	free(buf);
	return ok ? 0 : -1;
}

int
main(int argc, char **argv)
{
	unsigned char key[512];
	int keylen, bad = 0;

	if (argc < 3 || verify_key(argv[1], key, &keylen) != 0) {
		fprintf(
		    stderr, "usage: webhook_verify SECRET_FILE REQUEST...\n");
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		if (verify_one(argv[i], key, keylen) != 0) {
			printf("bad %s\n", argv[i]);
			bad++;
		}
	}
	if (bad == 0)
		printf("ok %d\n", argc - 2);
	return bad == 0 ? 0 : 1;
}
