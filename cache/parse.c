/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The pure half of the cache's HTTP: taking a request head apart, the
 * chunked transfer coding of a request body, and the small values the
 * two cache APIs carry (artifact hashes, bearer tokens). Nothing here
 * does I/O or logs; http.c feeds it bytes and acts on the result, and
 * tests/unit/test_cache_parse.c drives it directly.
 *
 * Request heads (RFC 9112), deliberately strict where leniency would
 * let a body be framed two ways:
 *
 *	- the request line is METHOD SP origin-form-target SP HTTP/1.x;
 *	  lines end in CRLF or a bare LF;
 *	- a header with a folded (obsolete) continuation, a name that is
 *	  not a token, more than HTTP_HEADERS_MAX headers: rejected;
 *	- Content-Length is digits only, and repeated copies must agree;
 *	- Transfer-Encoding must be exactly "chunked", and may not come
 *	  with a Content-Length (the request-smuggling case): rejected;
 *	- "Expect: 100-continue" is noted; any other expectation is 417.
 *
 * A rejected head gives the status to answer with and a reason.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "cache.h"

#define CHUNKED_LINE_MAX	4096
#define CHUNKED_DIGITS_MAX	15	/* < 2^60: no overflow */

#define CHUNKED_PHASE_DIGITS	0	/* phases of a size line */
#define CHUNKED_PHASE_BLANKS	1
#define CHUNKED_PHASE_EXT	2

/* Whether c may appear in a header name or method (RFC 9110 tchar). */
static int
parse_tchar(int c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return (1);
	return (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int	parse_fail(int *, char **, int, const char *, ...)
		    __attribute__((format(printf, 4, 5)));

/* Set the status and an xasprintf'd cause; return -1. */
static int
parse_fail(int *status, char **cause, int code, const char *fmt, ...)
{
	va_list	ap;

	*status = code;
	va_start(ap, fmt);
	xvasprintf(cause, fmt, ap);
	va_end(ap);
	return (-1);
}

/* Whether the comma-separated list s holds token (any case). */
static int
parse_list_has(const char *s, const char *token)
{
	size_t	len = strlen(token), n;

	while (*s != '\0') {
		while (*s == ' ' || *s == '\t' || *s == ',')
			s++;
		n = strcspn(s, ", \t");
		if (n == len && strncasecmp(s, token, len) == 0)
			return (1);
		s += n;
		while (*s != '\0' && *s != ',')
			s++;
	}
	return (0);
}

/* Parse the request line "METHOD SP TARGET SP HTTP/1.x". */
static int
parse_request_line(const char *line, size_t len, struct http_head *h,
    int *status, char **cause)
{
	const char	*sp1, *sp2, *end = line + len;
	size_t		 i;

	if ((sp1 = memchr(line, ' ', len)) == NULL || sp1 == line)
		return (parse_fail(status, cause, 400, "bad request line"));
	for (i = 0; line + i < sp1; i++) {
		if (!parse_tchar((unsigned char)line[i]))
			return (parse_fail(status, cause, 400, "bad method"));
	}
	sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1));
	if (sp2 == NULL || sp2 == sp1 + 1)
		return (parse_fail(status, cause, 400, "bad request line"));
	if ((size_t)(end - sp2 - 1) != 8 || strncmp(sp2 + 1, "HTTP/", 5) != 0 ||
	    !isdigit((unsigned char)sp2[6]) || sp2[7] != '.' ||
	    !isdigit((unsigned char)sp2[8]))
		return (parse_fail(status, cause, 400, "bad HTTP version"));
	if (sp2[6] != '1')
		return (parse_fail(status, cause, 505, "HTTP/%c.%c is not "
		    "supported", sp2[6], sp2[8]));
	if (sp1[1] != '/')
		return (parse_fail(status, cause, 400, "the target must be a "
		    "path"));
	for (i = 1; sp1 + i < sp2; i++) {
		if ((unsigned char)sp1[i] <= ' ' || sp1[i] == 0x7f)
			return (parse_fail(status, cause, 400, "bad target"));
	}
	h->method = xstrndup(line, (size_t)(sp1 - line));
	h->target = xstrndup(sp1 + 1, (size_t)(sp2 - sp1 - 1));
	h->path = xstrndup(h->target, strcspn(h->target, "?"));
	if (h->target[strlen(h->path)] == '?')
		h->query = xstrdup(h->target + strlen(h->path) + 1);
	h->minor = sp2[8] - '0';
	h->keep_alive = h->minor >= 1;
	return (0);
}

/* Take Content-Length apart; repeated values must agree. */
static int
parse_content_length(const char *v, struct http_head *h, int *status,
    char **cause)
{
	uint64_t	n = 0;
	const char	*p;

	if (*v == '\0')
		return (parse_fail(status, cause, 400, "empty Content-Length"));
	for (p = v; *p != '\0'; p++) {
		if (!isdigit((unsigned char)*p))
			return (parse_fail(status, cause, 400,
			    "bad Content-Length \"%s\"", v));
		if (n > (UINT64_C(1) << 62) / 10)
			return (parse_fail(status, cause, 413,
			    "Content-Length too large"));
		n = n * 10 + (uint64_t)(*p - '0');
	}
	if (h->content_length != -1 && (uint64_t)h->content_length != n)
		return (parse_fail(status, cause, 400,
		    "conflicting Content-Length headers"));
	h->content_length = (int64_t)n;
	return (0);
}

/* Act on the headers that frame the request. */
static int
parse_framing(struct http_head *h, int *status, char **cause)
{
	size_t		 i;
	const char	*name, *v;

	for (i = 0; i < h->nheaders; i++) {
		name = h->headers[i].name;
		v = h->headers[i].value;
		if (strcasecmp(name, "Content-Length") == 0) {
			if (parse_content_length(v, h, status, cause) != 0)
				return (-1);
		} else if (strcasecmp(name, "Transfer-Encoding") == 0) {
			if (strcasecmp(v, "chunked") != 0 || h->chunked)
				return (parse_fail(status, cause, 501,
				    "Transfer-Encoding \"%s\" is not "
				    "supported", v));
			h->chunked = 1;
		} else if (strcasecmp(name, "Connection") == 0) {
			if (parse_list_has(v, "close"))
				h->keep_alive = 0;
			else if (parse_list_has(v, "keep-alive"))
				h->keep_alive = 1;
		} else if (strcasecmp(name, "Expect") == 0) {
			if (strcasecmp(v, "100-continue") != 0)
				return (parse_fail(status, cause, 417,
				    "unsupported expectation \"%s\"", v));
			h->expect_continue = h->minor >= 1;
		}
	}
	if (h->chunked && h->content_length != -1)
		return (parse_fail(status, cause, 400, "both Content-Length "
		    "and Transfer-Encoding"));
	if (h->chunked && h->minor == 0)
		return (parse_fail(status, cause, 400, "chunked HTTP/1.0 "
		    "request"));
	return (0);
}

/* Parse one header line into the next slot. */
static int
parse_header_line(const char *line, size_t len, struct http_head *h,
    int *status, char **cause)
{
	const char	*colon, *v, *e;
	size_t		 i;

	if (line[0] == ' ' || line[0] == '\t')
		return (parse_fail(status, cause, 400, "folded header line"));
	if ((colon = memchr(line, ':', len)) == NULL || colon == line)
		return (parse_fail(status, cause, 400, "bad header line"));
	for (i = 0; line + i < colon; i++) {
		if (!parse_tchar((unsigned char)line[i]))
			return (parse_fail(status, cause, 400,
			    "bad header name"));
	}
	if (h->nheaders == HTTP_HEADERS_MAX)
		return (parse_fail(status, cause, 431, "too many headers"));
	v = colon + 1;
	e = line + len;
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	for (i = 0; v + i < e; i++) {
		if (v[i] == '\0' || v[i] == '\r' || v[i] == '\n')
			return (parse_fail(status, cause, 400,
			    "bad header value"));
	}
	h->headers[h->nheaders].name = xstrndup(line, (size_t)(colon - line));
	h->headers[h->nheaders].value = xstrndup(v, (size_t)(e - v));
	h->nheaders++;
	return (0);
}

/*
 * Parse a request head: len bytes of lines ending in LF (with or without
 * CR), not including the blank line that ends the head. On failure set
 * *status to the code to answer with and *cause to why, clear h, and
 * return -1.
 */
int
parse_head(const char *buf, size_t len, struct http_head *h, int *status,
    char **cause)
{
	const char	*line = buf, *nl, *end = buf + len;
	size_t		 linelen;
	int		 first = 1;

	memset(h, 0, sizeof *h);
	h->content_length = -1;
	if (len > HTTP_HEAD_MAX)
		return (parse_fail(status, cause, 431, "request head too "
		    "large"));
	while (line < end) {
		if ((nl = memchr(line, '\n', (size_t)(end - line))) == NULL)
			nl = end;
		linelen = (size_t)(nl - line);
		if (linelen > 0 && line[linelen - 1] == '\r')
			linelen--;
		if (memchr(line, '\0', linelen) != NULL ||
		    memchr(line, '\r', linelen) != NULL) {
			parse_fail(status, cause, 400, "bad characters in "
			    "request head");
			goto fail;
		}
		if (first) {
			if (linelen == 0) {	/* RFC 9112 2.2: skip */
				line = nl + 1;
				continue;
			}
			if (parse_request_line(line, linelen, h, status,
			    cause) != 0)
				goto fail;
			first = 0;
		} else if (parse_header_line(line, linelen, h, status,
		    cause) != 0)
			goto fail;
		line = nl + 1;
	}
	if (first) {
		parse_fail(status, cause, 400, "empty request");
		goto fail;
	}
	if (parse_framing(h, status, cause) != 0)
		goto fail;
	return (0);

fail:
	parse_head_clear(h);
	return (-1);
}

/* Free what parse_head() allocated; h is zeroed. */
void
parse_head_clear(struct http_head *h)
{
	size_t	i;

	free(h->method);
	free(h->target);
	free(h->path);
	free(h->query);
	for (i = 0; i < h->nheaders; i++) {
		free(h->headers[i].name);
		free(h->headers[i].value);
	}
	memset(h, 0, sizeof *h);
	h->content_length = -1;
}

/* The value of the first header called name (any case), or NULL. */
const char *
parse_header(const struct http_head *h, const char *name)
{
	size_t	i;

	for (i = 0; i < h->nheaders; i++) {
		if (strcasecmp(h->headers[i].name, name) == 0)
			return (h->headers[i].value);
	}
	return (NULL);
}

/* Ready a decoder for a new chunked body. */
void
chunked_init(struct chunked *c)
{
	memset(c, 0, sizeof *c);
	c->state = CHUNKED_SIZE;
}

/* End of a size or trailer line: move to the next state. */
static void
chunked_line_end(struct chunked *c)
{
	if (c->state == CHUNKED_SIZE) {
		if (c->digits == 0)
			c->state = CHUNKED_ERROR;
		else if (c->left == 0)
			c->state = CHUNKED_TRAILER;
		else
			c->state = CHUNKED_DATA;
	} else if (c->state == CHUNKED_DATA_END) {
		c->state = c->linelen == 0 ? CHUNKED_SIZE : CHUNKED_ERROR;
	} else if (c->state == CHUNKED_TRAILER && c->linelen == 0)
		c->state = CHUNKED_DONE;
	c->linelen = 0;
	c->digits = 0;
	c->phase = CHUNKED_PHASE_DIGITS;
	c->cr = 0;
}

/* Take one byte of a size line: hex digits, blanks, ";extension". */
static void
chunked_size_byte(struct chunked *c, int ch)
{
	int	v;

	if (c->phase == CHUNKED_PHASE_EXT)
		return;
	if (c->phase == CHUNKED_PHASE_DIGITS &&
	    (v = util_hex_digit(ch)) != -1) {
		if (++c->digits > CHUNKED_DIGITS_MAX)
			c->state = CHUNKED_ERROR;
		c->left = c->left * 16 + (uint64_t)v;
		return;
	}
	if (c->digits == 0)
		c->state = CHUNKED_ERROR;
	else if (ch == ';')
		c->phase = CHUNKED_PHASE_EXT;
	else if (ch == ' ' || ch == '\t')
		c->phase = CHUNKED_PHASE_BLANKS;
	else
		c->state = CHUNKED_ERROR;
}

/*
 * Decode chunked framing from len bytes at in. Returns how many bytes it
 * consumed; when some of them are body data, *off and *n say where they
 * are (at most one run per call, which ends the call). Stops at
 * CHUNKED_DONE or CHUNKED_ERROR; the caller checks c->state.
 */
size_t
chunked_feed(struct chunked *c, const char *in, size_t len, size_t *off,
    size_t *n)
{
	size_t	i = 0, take;
	int	ch;

	*off = 0;
	*n = 0;
	while (i < len && c->state != CHUNKED_DONE &&
	    c->state != CHUNKED_ERROR) {
		if (c->state == CHUNKED_DATA) {
			take = len - i;
			if (take > c->left)
				take = (size_t)c->left;
			*off = i;
			*n = take;
			c->left -= take;
			if (c->left == 0)
				c->state = CHUNKED_DATA_END;
			return (i + take);
		}
		ch = (unsigned char)in[i++];
		if (ch == '\n') {
			chunked_line_end(c);
			continue;
		}
		if (c->cr || ++c->linelen > CHUNKED_LINE_MAX) {
			c->state = CHUNKED_ERROR;	/* CR not before LF */
			break;
		}
		if (ch == '\r') {
			c->cr = 1;
			c->linelen--;
			continue;
		}
		if (c->state == CHUNKED_SIZE)
			chunked_size_byte(c, ch);
		else if (c->state == CHUNKED_DATA_END)
			c->state = CHUNKED_ERROR;
	}
	return (i);
}

/* Whether s is an acceptable artifact hash: [A-Za-z0-9_-], 1 to 128. */
int
parse_hash_valid(const char *s)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++) {
		if (i == CACHE_HASH_MAX)
			return (0);
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' &&
		    s[i] != '-')
			return (0);
	}
	return (i > 0);
}

/*
 * A path under a task's key: "/key/K/REST" (a base URL the agent gives a
 * task whose tool asks the cache for its one artifact under a key of its
 * own; cache.c answers any hash under it with K). Returns the key, cut
 * from the path and copied, and points *rest at "/REST"; NULL when the
 * path has no such prefix, and also with *rest NULL when it has one but
 * K is not a valid hash or nothing follows it. Caller frees.
 */
char *
parse_key_prefix(const char *path, const char **rest)
{
	const char	*k, *end;
	char		*key;

	*rest = NULL;
	if (strncmp(path, "/key/", 5) != 0) {
		*rest = path;
		return (NULL);
	}
	k = path + 5;
	if ((end = strchr(k, '/')) == NULL || end == k)
		return (NULL);
	key = xstrndup(k, end - k);
	if (!parse_hash_valid(key)) {
		free(key);
		return (NULL);
	}
	*rest = end;
	return (key);
}

/*
 * The token of an "Authorization: Bearer TOKEN" value, or NULL when the
 * value is not of that form. Caller frees.
 */
char *
parse_bearer(const char *v)
{
	size_t	len;

	if (v == NULL || strncasecmp(v, "Bearer", 6) != 0 ||
	    (v[6] != ' ' && v[6] != '\t'))
		return (NULL);
	v += 6;
	while (*v == ' ' || *v == '\t')
		v++;
	len = strlen(v);
	while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	if (len == 0)
		return (NULL);
	return (xstrndup(v, len));
}

/*
 * Compare two tokens in time that depends on neither: the SHA-256 of
 * each, compared with CRYPTO_memcmp, so not even the length leaks.
 */
int
parse_token_equal(const char *a, const char *b)
{
	unsigned char	da[EVP_MAX_MD_SIZE], db[EVP_MAX_MD_SIZE];
	unsigned int	la = 0, lb = 0;

	if (a == NULL || b == NULL)
		return (0);
	if (EVP_Digest(a, strlen(a), da, &la, EVP_sha256(), NULL) != 1 ||
	    EVP_Digest(b, strlen(b), db, &lb, EVP_sha256(), NULL) != 1)
		fatalx("%s: SHA-256 failed", __func__);
	return (la == lb && CRYPTO_memcmp(da, db, la) == 0);
}

/*
 * Parse a listen address, "IPV4:PORT" or "[IPV6]:PORT" with a numeric
 * port from 0 (any free one) to 65535, into *ss and *sslen. Returns -1
 * with *cause set when it is not one.
 */
int
parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *sslen,
    char **cause)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	const char		*colon, *errstr;
	char			*host;
	long long		 port;
	int			 ok;

	memset(ss, 0, sizeof *ss);
	if ((colon = strrchr(s, ':')) == NULL)
		goto bad;
	port = util_strtonum(colon + 1, 0, 65535, &errstr);
	if (errstr != NULL || colon[1] == '+' || colon[1] == '-')
		goto bad;
	if (s[0] == '[') {
		if (colon == s + 1 || colon[-1] != ']')
			goto bad;
		host = xstrndup(s + 1, (size_t)(colon - s - 2));
		ok = inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*sslen = sizeof *sin6;
	} else {
		host = xstrndup(s, (size_t)(colon - s));
		ok = inet_pton(AF_INET, host, &sin->sin_addr) == 1;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*sslen = sizeof *sin;
	}
	free(host);
	if (ok)
		return (0);
bad:
	xasprintf(cause, "\"%s\" is not a numeric HOST:PORT (e.g. "
	    "127.0.0.1:8080, 0.0.0.0:8080, [::1]:0)", s);
	memset(ss, 0, sizeof *ss);
	return (-1);
}

/*
 * parse_listen() with its cause after "what: ", what naming the address
 * (an option, or the server's own) for the message.
 */
int
parse_listen_named(const char *what, const char *s,
    struct sockaddr_storage *ss, socklen_t *sslen, char **cause)
{
	char	*why;

	if (parse_listen(s, ss, sslen, &why) == 0)
		return (0);
	xasprintf(cause, "%s: %s", what, why);
	free(why);
	return (-1);
}
