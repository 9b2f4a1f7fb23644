/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Redis URLs: parsing DTEQ_REDIS_URL / --redis into struct redis_url, and
 * the display form used in logs, which never contains the password.
 *
 * Accepted forms:
 *
 *	redis://[[user][:password]@]host[:port][/db]
 *	unix://[[user][:password]@]/absolute/path[?db=N]
 *
 * - host is a name or IPv4 address of [A-Za-z0-9._-], or an IPv6 address
 *   in brackets ("[::1]"), stored without the brackets. It may not be
 *   empty. port is 1 to 65535, default 6379; db is 0 to 10000, default 0;
 *   an empty db ("redis://host/") is 0.
 * - user and password are percent-decoded ("%40" is '@'). "user@host"
 *   names a user with no password and ":pass@host" a password for the
 *   default user; an empty user or password is the same as none. In
 *   redis:// everything up to the last '@' is user information, so an
 *   unencoded '@' in a password works; in unix:// it ends at the first
 *   "@/".
 * - The socket path is percent-decoded too. The only query accepted is
 *   "db=N", and only on unix://.
 * - Anything else is an error: other schemes (rediss:// says TLS is not
 *   supported), a bad or empty host, port or db, a bad percent-escape,
 *   or trailing characters.
 *
 * url_parse() is pure: taking the password from DTEQ_REDIS_PASSWORD when
 * the URL has none is the caller's job. No error message ever contains
 * the password, and on error the struct is left zeroed.
 */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dteq.h"

#define URL_DEFAULT_PORT	6379
#define URL_MAX_DB		10000

/* Whether c is an ASCII letter or digit, whatever the locale. */
static int
url_alnum(char c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'));
}

/*
 * Percent-decode len bytes of s into a new string, or NULL for a bad or
 * NUL escape. Caller frees.
 */
static char *
url_decode(const char *s, size_t len)
{
	char	*out;
	size_t	 i, o = 0;
	int	 hi, lo;

	out = xmalloc(len + 1);
	for (i = 0; i < len; i++) {
		if (s[i] != '%') {
			out[o++] = s[i];
			continue;
		}
		if (len - i < 3 ||
		    (hi = util_hex_digit(s[i + 1])) == -1 ||
		    (lo = util_hex_digit(s[i + 2])) == -1 ||
		    (hi == 0 && lo == 0)) {
			free(out);
			return (NULL);
		}
		out[o++] = (char)(hi << 4 | lo);
		i += 2;
	}
	out[o] = '\0';
	return (out);
}

/* Decode one part of the user information; empty is NULL. */
static int
url_userinfo_part(const char *s, size_t len, const char *what, char **out,
    char **cause)
{
	if (len == 0)
		return (0);
	if ((*out = url_decode(s, len)) == NULL) {
		xasprintf(cause, "bad percent-escape in the %s of the Redis "
		    "URL", what);
		return (-1);
	}
	return (0);
}

/* Split "user:password" (len bytes) into u->user and u->password. */
static int
url_userinfo(const char *s, size_t len, struct redis_url *u, char **cause)
{
	const char	*colon;
	size_t		 ulen;

	colon = memchr(s, ':', len);
	ulen = colon == NULL ? len : (size_t)(colon - s);
	if (url_userinfo_part(s, ulen, "user name", &u->user, cause) != 0)
		return (-1);
	if (colon == NULL)
		return (0);
	return (url_userinfo_part(colon + 1, len - ulen - 1, "password",
	    &u->password, cause));
}

/* Parse a database number (the whole of s). */
static int
url_db(const char *s, struct redis_url *u, char **cause)
{
	const char	*errstr;
	const char	*p;

	if (*s == '\0')
		return (0);
	for (p = s; *p != '\0'; p++) {
		if (!isdigit((unsigned char)*p))
			break;
	}
	u->db = (int)util_strtonum(s, 0, URL_MAX_DB, &errstr);
	if (*p != '\0' || errstr != NULL) {
		xasprintf(cause, "bad database \"%s\" in Redis URL (0 to %d)",
		    s, URL_MAX_DB);
		return (-1);
	}
	return (0);
}

/* Parse a port number (len bytes of s). */
static int
url_port(const char *s, size_t len, struct redis_url *u, char **cause)
{
	const char	*errstr;
	char		*copy;
	size_t		 i;

	if (len == 0) {
		xasprintf(cause, "empty port in Redis URL");
		return (-1);
	}
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i])) {
			/*
			 * Not echoed: in "redis://user:secret" (no "@host")
			 * the "port" is the password.
			 */
			xasprintf(cause, "bad port in Redis URL: not a number "
			    "(1 to 65535)");
			return (-1);
		}
	}
	copy = xstrndup(s, len);
	u->port = (int)util_strtonum(copy, 1, 65535, &errstr);
	if (errstr != NULL) {
		xasprintf(cause, "bad port \"%s\" in Redis URL (1 to 65535)",
		    copy);
		free(copy);
		return (-1);
	}
	free(copy);
	return (0);
}

/* Parse "host[:port][/db]" of a redis:// URL. */
static int
url_hostport(const char *s, struct redis_url *u, char **cause)
{
	const char	*end, *p;
	size_t		 len;

	if (*s == '[') {
		if ((end = strchr(s, ']')) == NULL) {
			xasprintf(cause, "missing ']' after IPv6 address in "
			    "Redis URL");
			return (-1);
		}
		len = (size_t)(end - s - 1);
		for (p = s + 1; p < end; p++) {
			if (util_hex_digit(*p) == -1 && *p != ':' &&
			    *p != '.')
				break;
		}
		if (len == 0 || p != end || memchr(s + 1, ':', len) == NULL) {
			xasprintf(cause, "bad IPv6 address \"%.*s\" in Redis "
			    "URL", (int)len, s + 1);
			return (-1);
		}
		u->host = xstrndup(s + 1, len);
		p = end + 1;
		if (*p != '\0' && *p != ':' && *p != '/') {
			xasprintf(cause, "unexpected \"%s\" after the host in "
			    "Redis URL", p);
			return (-1);
		}
	} else {
		len = strcspn(s, ":/");
		if (len == 0) {
			xasprintf(cause, "Redis URL has no host");
			return (-1);
		}
		for (p = s; p < s + len; p++) {
			if (!url_alnum(*p) && *p != '.' && *p != '-' &&
			    *p != '_')
				break;
		}
		if (p != s + len) {
			xasprintf(cause, "bad host \"%.*s\" in Redis URL",
			    (int)len, s);
			return (-1);
		}
		u->host = xstrndup(s, len);
		p = s + len;
	}

	u->port = URL_DEFAULT_PORT;
	if (*p == ':') {
		len = strcspn(p + 1, "/");
		if (url_port(p + 1, len, u, cause) != 0)
			return (-1);
		p += 1 + len;
	}
	if (*p == '/')
		return (url_db(p + 1, u, cause));
	return (0);
}

/* Parse the part of a redis:// URL after the scheme. */
static int
url_parse_tcp(const char *s, struct redis_url *u, char **cause)
{
	const char	*at;

	u->type = URL_TCP;
	if ((at = strrchr(s, '@')) != NULL) {
		if (url_userinfo(s, (size_t)(at - s), u, cause) != 0)
			return (-1);
		s = at + 1;
	}
	return (url_hostport(s, u, cause));
}

/* Parse the part of a unix:// URL after the scheme. */
static int
url_parse_unix(const char *s, struct redis_url *u, char **cause)
{
	const char	*at, *q;
	size_t		 len;

	u->type = URL_UNIX;
	if (*s != '/') {
		if ((at = strstr(s, "@/")) == NULL) {
			xasprintf(cause, "unix:// URL needs an absolute socket "
			    "path (unix:///path/to/sock)");
			return (-1);
		}
		if (url_userinfo(s, (size_t)(at - s), u, cause) != 0)
			return (-1);
		s = at + 1;
	}

	len = strcspn(s, "?");
	if (len == 1) {
		xasprintf(cause, "unix:// URL has no socket path");
		return (-1);
	}
	if ((u->path = url_decode(s, len)) == NULL) {
		xasprintf(cause, "bad percent-escape in the socket path of the "
		    "Redis URL");
		return (-1);
	}

	q = s + len;
	if (*q == '\0')
		return (0);
	if (strncmp(q, "?db=", 4) != 0) {
		xasprintf(cause, "unsupported query \"%s\" in Redis URL "
		    "(only ?db=N)", q + 1);
		return (-1);
	}
	if (q[4] == '\0') {
		xasprintf(cause, "bad database \"\" in Redis URL (0 to %d)",
		    URL_MAX_DB);
		return (-1);
	}
	return (url_db(q + 4, u, cause));
}

/* Report a string that is not a redis:// or unix:// URL. */
static void
url_bad_scheme(const char *s, char **cause)
{
	const char	*sep, *p;

	if ((sep = strstr(s, "://")) == NULL || sep == s) {
		xasprintf(cause, "Redis URL must start with redis:// or "
		    "unix://");
		return;
	}
	for (p = s; p < sep; p++) {
		if (!url_alnum(*p) && *p != '+' && *p != '-' && *p != '.')
			break;
	}
	if (p != sep) {
		xasprintf(cause, "Redis URL must start with redis:// or "
		    "unix://");
		return;
	}
	if (sep - s == 6 && strncasecmp(s, "rediss", 6) == 0) {
		xasprintf(cause, "rediss://: TLS is not supported (use "
		    "redis:// or unix://)");
		return;
	}
	xasprintf(cause, "unsupported URL scheme \"%.*s\" (use redis:// or "
	    "unix://)", (int)(sep - s), s);
}

/*
 * Parse a Redis URL into *u. On error return -1 with *cause set (never
 * containing the password) and *u zeroed. url_free() releases *u.
 */
int
url_parse(const char *s, struct redis_url *u, char **cause)
{
	int	rc;

	memset(u, 0, sizeof *u);
	if (s == NULL || *s == '\0') {
		xasprintf(cause, "empty Redis URL");
		return (-1);
	}
	if (strncasecmp(s, "redis://", 8) == 0)
		rc = url_parse_tcp(s + 8, u, cause);
	else if (strncasecmp(s, "unix://", 7) == 0)
		rc = url_parse_unix(s + 7, u, cause);
	else {
		url_bad_scheme(s, cause);
		rc = -1;
	}
	if (rc != 0)
		url_free(u);
	return (rc);
}

/*
 * Overwrite, in place, the password of the URL s with '*' (its length
 * kept), where url_parse() would find it: so that a password given on the
 * command line or in DTEQ_REDIS_URL no longer shows in ps, in
 * /proc/PID/environ, or in the environment a task inherits.
 */
void
url_scrub(char *s)
{
	char	*at = NULL, *p;

	if (strncmp(s, "redis://", 8) == 0)
		at = strrchr(s + 8, '@'), s += 8;
	else if (strncmp(s, "unix://", 7) == 0 && s[7] != '/')
		at = strstr(s + 7, "@/"), s += 7;
	if (at == NULL)
		return;
	if ((p = memchr(s, ':', (size_t)(at - s))) == NULL)
		return;
	for (p++; p < at; p++)
		*p = '*';
}

/* Free the fields of *u (wiping the password) and zero it. */
void
url_free(struct redis_url *u)
{
	free(u->host);
	free(u->path);
	free(u->user);
	if (u->password != NULL) {
		explicit_bzero(u->password, strlen(u->password));
		free(u->password);
	}
	memset(u, 0, sizeof *u);
}

/*
 * The URL for logs and messages: "redis://user:***@host:port/db" or
 * "unix:///path?db=N", the password shown only as "***" and the db only
 * when not 0. Caller frees.
 */
char *
url_display(const struct redis_url *u)
{
	return (url_format(u, 1));
}

/*
 * The URL as url_display() writes it, the password shown as "***" when
 * masked is set, else left out (for a child given the password apart, in
 * DTEQ_REDIS_PASSWORD). Caller frees.
 */
char *
url_format(const struct redis_url *u, int masked)
{
	char		*s, *userinfo;
	const char	*user = u->user == NULL ? "" : u->user;
	const char	*lb = "", *rb = "";

	if (u->user == NULL && (u->password == NULL || !masked))
		userinfo = xstrdup("");
	else {
		xasprintf(&userinfo, "%s%s@", user,
		    u->password != NULL && masked ? ":***" : "");
	}

	if (u->type == URL_UNIX) {
		if (u->db != 0) {
			xasprintf(&s, "unix://%s%s?db=%d", userinfo,
			    u->path == NULL ? "" : u->path, u->db);
		} else {
			xasprintf(&s, "unix://%s%s", userinfo,
			    u->path == NULL ? "" : u->path);
		}
		free(userinfo);
		return (s);
	}

	if (u->host != NULL && strchr(u->host, ':') != NULL) {
		lb = "[";
		rb = "]";
	}
	if (u->db != 0) {
		xasprintf(&s, "redis://%s%s%s%s:%d/%d", userinfo, lb,
		    u->host == NULL ? "" : u->host, rb, u->port, u->db);
	} else {
		xasprintf(&s, "redis://%s%s%s%s:%d", userinfo, lb,
		    u->host == NULL ? "" : u->host, rb, u->port);
	}
	free(userinfo);
	return (s);
}
