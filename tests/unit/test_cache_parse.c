/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Unit tests for cache/parse.c and the pure half of cache/store.c: the
 * request-head parser (accepted heads with their fields, every rejected
 * form with the status it answers), the chunked decoder (fed whole and
 * one byte at a time, extensions, trailers, every malformed frame),
 * hashes, bearer tokens, listen addresses, the artifact key names and
 * the parsing of the metadata reply.
 */

#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "cache.h"
#include "test.h"

/* Parse a head given as a C string; the status on failure, else 0. */
static int
head(const char *s, struct http_head *h)
{
	char	*cause = NULL;
	int	 status = 0;

	if (parse_head(s, strlen(s), h, &status, &cause) == 0)
		return (0);
	free(cause);
	return (status);
}

static void
test_head_get(void)
{
	struct http_head	h;

	CHECK(head("GET /v1/cache/123 HTTP/1.1\r\nHost: x\r\n"
	    "Authorization: Bearer abc\r\n", &h) == 0);
	CHECK_STREQ(h.method, "GET");
	CHECK_STREQ(h.target, "/v1/cache/123");
	CHECK_STREQ(h.path, "/v1/cache/123");
	CHECK(h.query == NULL);
	CHECK(h.minor == 1);
	CHECK(h.nheaders == 2);
	CHECK_STREQ(parse_header(&h, "authorization"), "Bearer abc");
	CHECK(parse_header(&h, "Content-Length") == NULL);
	CHECK(h.content_length == -1);
	CHECK(!h.chunked && !h.expect_continue && h.keep_alive);
	parse_head_clear(&h);
}

static void
test_head_put(void)
{
	struct http_head	h;

	/* Bare LF line ends, OWS around values, a query, Expect. */
	CHECK(head("PUT /v8/artifacts/ab?slug=t&x=1 HTTP/1.1\n"
	    "Content-Length:  42 \nExpect: 100-Continue\n"
	    "Connection: close\n", &h) == 0);
	CHECK_STREQ(h.path, "/v8/artifacts/ab");
	CHECK_STREQ(h.query, "slug=t&x=1");
	CHECK(h.content_length == 42);
	CHECK(h.expect_continue);
	CHECK(!h.keep_alive);
	parse_head_clear(&h);

	CHECK(head("PUT /a HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n",
	    &h) == 0);
	CHECK(h.chunked && h.content_length == -1);
	parse_head_clear(&h);

	/* Repeated but equal lengths are fine. */
	CHECK(head("PUT /a HTTP/1.1\r\nContent-Length: 5\r\n"
	    "Content-Length: 5\r\n", &h) == 0);
	CHECK(h.content_length == 5);
	parse_head_clear(&h);

	/* HTTP/1.0: no keep-alive unless asked. */
	CHECK(head("GET / HTTP/1.0\r\n", &h) == 0);
	CHECK(!h.keep_alive && h.minor == 0);
	parse_head_clear(&h);
	CHECK(head("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n", &h) == 0);
	CHECK(h.keep_alive);
	parse_head_clear(&h);

	/* Leading empty lines are skipped (RFC 9112 2.2). */
	CHECK(head("\r\nGET / HTTP/1.1\r\n", &h) == 0);
	CHECK_STREQ(h.method, "GET");
	parse_head_clear(&h);
}

static void
test_head_bad(void)
{
	struct http_head	 h;
	char			 big[HTTP_HEAD_MAX + 64];
	char			 many[64 * (HTTP_HEADERS_MAX + 2)];
	size_t			 i, off;

	CHECK(head("", &h) == 400);
	CHECK(head("GET\r\n", &h) == 400);
	CHECK(head("GET /\r\n", &h) == 400);
	CHECK(head("GET / HTTP/1.1 x\r\n", &h) == 400);
	CHECK(head("GET  / HTTP/1.1\r\n", &h) == 400);
	CHECK(head("G(T / HTTP/1.1\r\n", &h) == 400);
	CHECK(head("GET http://x/ HTTP/1.1\r\n", &h) == 400);
	CHECK(head("GET / HTTP/2.0\r\n", &h) == 505);
	CHECK(head("GET / FTP/1.1\r\n", &h) == 400);
	CHECK(head("GET / HTTP/1.1\r\nNo colon\r\n", &h) == 400);
	CHECK(head("GET / HTTP/1.1\r\n: empty\r\n", &h) == 400);
	CHECK(head("GET / HTTP/1.1\r\nBad Name: x\r\n", &h) == 400);
	CHECK(head("GET / HTTP/1.1\r\nA: b\r\n folded\r\n", &h) == 400);
	CHECK(head("GET / HTTP/1.1\r\nA: b\rc\r\n", &h) == 400);
	CHECK(head("PUT / HTTP/1.1\r\nContent-Length: -1\r\n", &h) == 400);
	CHECK(head("PUT / HTTP/1.1\r\nContent-Length: 1 2\r\n", &h) == 400);
	CHECK(head("PUT / HTTP/1.1\r\nContent-Length: \r\n", &h) == 400);
	CHECK(head("PUT / HTTP/1.1\r\nContent-Length: 5\r\n"
	    "Content-Length: 6\r\n", &h) == 400);
	CHECK(head("PUT / HTTP/1.1\r\nContent-Length: "
	    "99999999999999999999999\r\n", &h) == 413);
	CHECK(head("PUT / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n", &h) ==
	    501);
	CHECK(head("PUT / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n",
	    &h) == 501);
	CHECK(head("PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
	    "Content-Length: 5\r\n", &h) == 400);
	CHECK(head("PUT / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n", &h) ==
	    400);
	CHECK(head("PUT / HTTP/1.1\r\nExpect: the-unexpected\r\n", &h) ==
	    417);

	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	CHECK(head(big, &h) == 431);

	off = (size_t)snprintf(many, sizeof many, "GET / HTTP/1.1\r\n");
	for (i = 0; i < HTTP_HEADERS_MAX + 1; i++)
		off += (size_t)snprintf(many + off, sizeof many - off,
		    "H%zu: v\r\n", i);
	CHECK(head(many, &h) == 431);
	/* A failed parse leaves nothing allocated (ASan would say). */
	CHECK(h.method == NULL && h.nheaders == 0);
}

/* Decode s whole, or step bytes at a time; the body, or NULL on error. */
static char *
dechunk(const char *s, size_t step, size_t *rest)
{
	struct chunked	 c;
	char		*out = xcalloc(1, strlen(s) + 1);
	size_t		 len = strlen(s), pos = 0, o = 0, n, off, d, used;

	chunked_init(&c);
	while (pos < len && c.state != CHUNKED_DONE) {
		n = len - pos < step ? len - pos : step;
		used = chunked_feed(&c, s + pos, n, &off, &d);
		if (c.state == CHUNKED_ERROR) {
			free(out);
			return (NULL);
		}
		memcpy(out + o, s + pos + off, d);
		o += d;
		pos += used;
	}
	if (c.state != CHUNKED_DONE) {
		free(out);
		return (NULL);
	}
	*rest = len - pos;
	return (out);
}

/* Check a good chunked body, whole and byte by byte. */
static void
check_chunked(const char *s, const char *want, size_t rest)
{
	char	*got;
	size_t	 r = 99, step;

	for (step = 1; step <= strlen(s); step = step == 1 ? strlen(s) :
	    step + 1) {
		got = dechunk(s, step, &r);
		CHECK_STREQ(got, want);
		CHECK(r == rest);
		free(got);
		if (step == strlen(s))
			break;
	}
}

static void
test_chunked(void)
{
	size_t	r;

	check_chunked("0\r\n\r\n", "", 0);
	check_chunked("5\r\nhello\r\n0\r\n\r\n", "hello", 0);
	check_chunked("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nGET",
	    "hello world", 3);
	check_chunked("A\r\n0123456789\r\n0\r\n\r\n", "0123456789", 0);
	check_chunked("a;name=val\r\n0123456789\r\n0 ; x\r\n\r\n",
	    "0123456789", 0);
	check_chunked("3\nabc\n0\nTrailer: x\nMore: y\n\n", "abc", 0);
	check_chunked("3 \r\nabc\r\n0\r\nT: 1\r\n\r\n", "abc", 0);

	CHECK(dechunk("x\r\n", 1, &r) == NULL);
	CHECK(dechunk("\r\n", 1, &r) == NULL);
	CHECK(dechunk(";ext\r\n", 1, &r) == NULL);
	CHECK(dechunk("3\r\nabcX\r\n0\r\n\r\n", 1, &r) == NULL);
	CHECK(dechunk("3\r\nabc\r\r\n", 1, &r) == NULL);
	CHECK(dechunk("1 2\r\n", 1, &r) == NULL);
	CHECK(dechunk("1000000000000000\r\n", 1, &r) == NULL);
	CHECK(dechunk("-1\r\n", 1, &r) == NULL);
	CHECK(dechunk("3\r\nab", 1, &r) == NULL);	/* cut short */
}

static void
test_key_prefix(void)
{
	const char	*rest;
	char		*k;

	/* No prefix: the path as it is. */
	CHECK(parse_key_prefix("/v8/artifacts/abc", &rest) == NULL);
	CHECK(rest != NULL && strcmp(rest, "/v8/artifacts/abc") == 0);
	CHECK(parse_key_prefix("/keys/x/v8/artifacts/abc", &rest) == NULL);
	CHECK(rest != NULL && strcmp(rest, "/keys/x/v8/artifacts/abc") == 0);

	k = parse_key_prefix("/key/61db1eda0ee7f69f/v8/artifacts/0123", &rest);
	CHECK(k != NULL && strcmp(k, "61db1eda0ee7f69f") == 0);
	CHECK(rest != NULL && strcmp(rest, "/v8/artifacts/0123") == 0);
	free(k);
	k = parse_key_prefix("/key/K_-9/v1/cache/1", &rest);
	CHECK(k != NULL && strcmp(k, "K_-9") == 0);
	CHECK(rest != NULL && strcmp(rest, "/v1/cache/1") == 0);
	free(k);

	/* A prefix with a bad key or nothing after it: no route at all. */
	CHECK(parse_key_prefix("/key//v8/artifacts/a", &rest) == NULL &&
	    rest == NULL);
	CHECK(parse_key_prefix("/key/a.b/v8/artifacts/a", &rest) == NULL &&
	    rest == NULL);
	CHECK(parse_key_prefix("/key/..%2f/v8/artifacts/a", &rest) == NULL &&
	    rest == NULL);
	CHECK(parse_key_prefix("/key/abc", &rest) == NULL && rest == NULL);
}

static void
test_hash(void)
{
	char	long_ok[CACHE_HASH_MAX + 1], too_long[CACHE_HASH_MAX + 2];

	CHECK(parse_hash_valid("12345678901234567890"));
	CHECK(parse_hash_valid("e1f2c7102a9a9c26"));
	CHECK(parse_hash_valid("A_b-9"));
	CHECK(!parse_hash_valid(""));
	CHECK(!parse_hash_valid("ab.cd"));
	CHECK(!parse_hash_valid("../x"));
	CHECK(!parse_hash_valid("a b"));
	CHECK(!parse_hash_valid("a{b}"));
	CHECK(!parse_hash_valid("a:b"));
	CHECK(!parse_hash_valid("%41"));
	memset(long_ok, 'a', sizeof long_ok - 1);
	long_ok[sizeof long_ok - 1] = '\0';
	CHECK(parse_hash_valid(long_ok));
	memset(too_long, 'a', sizeof too_long - 1);
	too_long[sizeof too_long - 1] = '\0';
	CHECK(!parse_hash_valid(too_long));
}

static void
test_bearer(void)
{
	char	*t;

	t = parse_bearer("Bearer abc");
	CHECK_STREQ(t, "abc");
	free(t);
	t = parse_bearer("bearer   abc  ");
	CHECK_STREQ(t, "abc");
	free(t);
	CHECK(parse_bearer(NULL) == NULL);
	CHECK(parse_bearer("Bearer") == NULL);
	CHECK(parse_bearer("Bearer   ") == NULL);
	CHECK(parse_bearer("Bearerabc") == NULL);
	CHECK(parse_bearer("Basic YWI6Y2Q=") == NULL);

	CHECK(parse_token_equal("secret", "secret"));
	CHECK(!parse_token_equal("secret", "secreT"));
	CHECK(!parse_token_equal("secret", "secret2"));
	CHECK(!parse_token_equal("", "secret"));
	CHECK(!parse_token_equal(NULL, "secret"));
}

/* The port of a parsed listen address, or -1. */
static int
listen_port(const char *s)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	char			*cause = NULL;

	if (parse_listen(s, &ss, &len, &cause) != 0) {
		CHECK(cause != NULL);
		free(cause);
		return (-1);
	}
	if (ss.ss_family == AF_INET6)
		return (ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
	return (ntohs(((struct sockaddr_in *)&ss)->sin_port));
}

static void
test_listen(void)
{
	CHECK(listen_port("127.0.0.1:0") == 0);
	CHECK(listen_port("0.0.0.0:8080") == 8080);
	CHECK(listen_port("[::1]:65535") == 65535);
	CHECK(listen_port("[::]:7") == 7);
	CHECK(listen_port("127.0.0.1") == -1);
	CHECK(listen_port("127.0.0.1:") == -1);
	CHECK(listen_port("127.0.0.1:65536") == -1);
	CHECK(listen_port("127.0.0.1:-1") == -1);
	CHECK(listen_port("127.0.0.1:+80") == -1);
	CHECK(listen_port("localhost:80") == -1);
	CHECK(listen_port("::1:80") == -1);
	CHECK(listen_port("[::1:80") == -1);
	CHECK(listen_port(":80") == -1);
}

static void
test_keys(void)
{
	char	*k, *id, *id2;

	k = store_key("e1f2", "meta");
	CHECK_STREQ(k, "dteq:cache:{e1f2}:meta");
	free(k);
	id = store_upload_id();
	id2 = store_upload_id();
	CHECK(strlen(id) == 16 && strspn(id, "0123456789abcdef") == 16);
	CHECK(strcmp(id, id2) != 0);
	free(id);
	free(id2);
}

/* A string reply element (NULL: nil). */
static redisReply *
element(const char *s)
{
	redisReply	*r = xcalloc(1, sizeof *r);

	if (s == NULL) {
		r->type = REDIS_REPLY_NIL;
		return (r);
	}
	r->type = REDIS_REPLY_STRING;
	r->str = xstrdup(s);
	r->len = strlen(s);
	return (r);
}

/*
 * A lookup reply: seven meta fields, then the data's length (llen);
 * parse it into *m.
 */
static int
meta_llen(const char *size, const char *chunks, const char *chunk,
    const char *duration, long long llen, struct store_meta *m)
{
	redisReply	 r, *e[8];
	char		*cause = NULL;
	int		 rv;
	size_t		 i;

	memset(&r, 0, sizeof r);
	r.type = REDIS_REPLY_ARRAY;
	r.elements = 8;
	r.element = e;
	e[0] = element(size);
	e[1] = element(chunks);
	e[2] = element(chunk);
	e[3] = element(duration);
	e[4] = element("tag");
	e[5] = element("");
	e[6] = element(NULL);
	e[7] = xcalloc(1, sizeof *e[7]);
	e[7]->type = REDIS_REPLY_INTEGER;
	e[7]->integer = llen;
	rv = store_meta_parse(&r, m, &cause);
	for (i = 0; i < 8; i++) {
		free(e[i]->str);
		free(e[i]);
	}
	free(cause);
	return (rv);
}

/* The same with the data's length matching the chunks. */
static int
meta(const char *size, const char *chunks, const char *chunk,
    const char *duration, struct store_meta *m)
{
	return (meta_llen(size, chunks, chunk, duration,
	    chunks != NULL ? atoll(chunks) : 0, m));
}

static void
test_meta(void)
{
	struct store_meta	m;
	redisReply		r;
	char			*cause = NULL;

	CHECK(meta("3000000", "3", "1048576", "1234", &m) == 1);
	CHECK(m.size == 3000000 && m.chunks == 3 && m.chunk == 1048576);
	CHECK_STREQ(m.duration, "1234");
	CHECK_STREQ(m.tag, "tag");
	CHECK(m.sha == NULL && m.dirty == NULL);
	store_meta_clear(&m);
	CHECK(meta("0", "0", "1048576", NULL, &m) == 1);
	CHECK(m.size == 0 && m.duration == NULL);
	store_meta_clear(&m);
	CHECK(meta("1048576", "1", "1048576", "", &m) == 1);
	store_meta_clear(&m);

	CHECK(meta(NULL, NULL, NULL, NULL, &m) == 0);		/* missing */
	CHECK(meta_llen("3000000", "3", "1048576", "1", 2, &m) == 0); /* torn */
	CHECK(meta_llen("3000000", "3", "1048576", "1", 0, &m) == 0);
	CHECK(meta("3000000", "2", "1048576", "1", &m) == -1);	/* chunks */
	CHECK(meta("10000", "3", "4096", "1", &m) == 1);	/* 4 KiB */
	CHECK(m.chunk == 4096);
	store_meta_clear(&m);
	CHECK(meta("10", "1", "0", "1", &m) == -1);		/* chunk */
	CHECK(meta("10", "1", "1099511627776", "1", &m) == -1);
	CHECK(meta("ten", "1", "1048576", "1", &m) == -1);

	memset(&r, 0, sizeof r);
	r.type = REDIS_REPLY_ERROR;
	r.str = xstrdup("WRONGTYPE");
	r.len = 9;
	CHECK(store_meta_parse(&r, &m, &cause) == -1);
	CHECK(cause != NULL && strstr(cause, "WRONGTYPE") != NULL);
	free(cause);
	free(r.str);
}

int
main(void)
{
	TEST_RUN(test_head_get);
	TEST_RUN(test_head_put);
	TEST_RUN(test_head_bad);
	TEST_RUN(test_chunked);
	TEST_RUN(test_hash);
	TEST_RUN(test_key_prefix);
	TEST_RUN(test_bearer);
	TEST_RUN(test_listen);
	TEST_RUN(test_keys);
	TEST_RUN(test_meta);
	return (test_exit());
}
