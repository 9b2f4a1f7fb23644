/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Signed task messages. With a shared secret (DTEQ_SECRET or
 * --secret-file) on submit and agents, every queue message is
 *
 *	v1:<64 hex digits of HMAC-SHA256(secret, JSON)>:<JSON>
 *
 * over the exact JSON bytes, which carry the run id, task id, attempt and
 * command; an agent verifies the MAC before it parses anything. A check
 * token (the MAC of "dteq-check:" + run id) in the run's meta lets an
 * agent with a different secret say so at once instead of rejecting
 * every task.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "dteq.h"

#define SIGN_PREFIX	"v1:"
#define SIGN_HEXLEN	64
#define SIGN_HEADER	(3 + SIGN_HEXLEN + 1)	/* "v1:" hex ":" */

/* HMAC-SHA256 of buf under secret, as 64 hex digits into hex[65]. */
static void
sign_mac(const char *secret, const char *buf, size_t len, char *hex)
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	unsigned int	mdlen = 0, i;

	if (HMAC(EVP_sha256(), secret, (int)strlen(secret),
	    (const unsigned char *)buf, len, md, &mdlen) == NULL ||
	    mdlen != 32)
		fatalx("%s: HMAC-SHA256 failed", __func__);
	for (i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

/*
 * The shared secret: the contents of path (trailing newlines dropped) if
 * path is given, else DTEQ_SECRET, else none (*secret = NULL).
 */
int
sign_load_secret(const char *path, char **secret, char **cause)
{
	const char	*env;
	char		*buf, *why;
	size_t		 len;

	*secret = NULL;
	if (path != NULL) {
		if (util_read_file(path, &buf, &len, &why) != 0) {
			xasprintf(cause, "--secret-file: %s", why);
			free(why);
			return (-1);
		}
		while (len > 0 && (buf[len - 1] == '\n' ||
		    buf[len - 1] == '\r'))
			buf[--len] = '\0';
		if (len == 0 || strlen(buf) != len) {
			xasprintf(cause, "--secret-file: %s is empty or "
			    "holds a NUL byte", path);
			free(buf);
			return (-1);
		}
		*secret = buf;
		return (0);
	}
	if ((env = cli_env("DTEQ_SECRET")) != NULL)
		*secret = xstrdup(env);
	return (0);
}

/* Sign a message. Caller frees. */
char *
sign_message(const char *secret, const char *json, size_t len,
    size_t *outlen)
{
	char	*out;

	out = xmalloc(SIGN_HEADER + len + 1);
	memcpy(out, SIGN_PREFIX, 3);
	sign_mac(secret, json, len, out + 3);
	out[3 + SIGN_HEXLEN] = ':';
	memcpy(out + SIGN_HEADER, json, len);
	out[SIGN_HEADER + len] = '\0';
	if (outlen != NULL)
		*outlen = SIGN_HEADER + len;
	return (out);
}

/*
 * Check a popped message. With a secret it must be signed with it; the
 * JSON part is returned through json/jsonlen (pointing into buf). Without
 * a secret an unsigned message passes as it is.
 */
int
sign_verify(const char *secret, const char *buf, size_t len,
    const char **json, size_t *jsonlen, char **cause)
{
	char	hex[SIGN_HEXLEN + 1];
	int	signed_msg;

	signed_msg = len >= SIGN_HEADER && memcmp(buf, SIGN_PREFIX, 3) == 0 &&
	    buf[3 + SIGN_HEXLEN] == ':';
	if (secret == NULL) {
		if (signed_msg) {
			xasprintf(cause, "signed message, but this agent has "
			    "no DTEQ_SECRET");
			return (-1);
		}
		*json = buf;
		*jsonlen = len;
		return (0);
	}
	if (!signed_msg) {
		xasprintf(cause, "unsigned message (this agent requires "
		    "signed tasks)");
		return (-1);
	}
	sign_mac(secret, buf + SIGN_HEADER, len - SIGN_HEADER, hex);
	if (CRYPTO_memcmp(hex, buf + 3, SIGN_HEXLEN) != 0) {
		xasprintf(cause, "bad signature (forged, altered, or signed "
		    "with another secret)");
		return (-1);
	}
	*json = buf + SIGN_HEADER;
	*jsonlen = len - SIGN_HEADER;
	return (0);
}

/* The check token of a run under secret. Caller frees. */
char *
sign_check_token(const char *secret, const char *run)
{
	char	*what, hex[SIGN_HEXLEN + 1];

	xasprintf(&what, "dteq-check:%s", run);
	sign_mac(secret, what, strlen(what), hex);
	free(what);
	return (xstrdup(hex));
}

/*
 * The JSON of a task message, signed or not, without checking the
 * signature: for those who only read a message the agents check (submit
 * reclaiming a lost agent's tasks or resuming, status listing what an
 * agent holds). *jsonlen gets its length.
 */
const char *
sign_payload(const char *msg, size_t len, size_t *jsonlen)
{
	if (len > SIGN_HEADER && strncmp(msg, SIGN_PREFIX, 3) == 0 &&
	    msg[SIGN_HEADER - 1] == ':') {
		*jsonlen = len - SIGN_HEADER;
		return (msg + SIGN_HEADER);
	}
	*jsonlen = len;
	return (msg);
}
