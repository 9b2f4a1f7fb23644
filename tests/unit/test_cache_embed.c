/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The cache's embedding API on a real event base, with no Redis at all
 * (the URL points at a port nobody listens on): cache_start() and its
 * failures, the generated token, cache_port(), and what a client sees
 * before any Redis command is needed (401, 403, 404, 405, 400, 411, 413
 * and 503), keep-alive with pipelined requests, and cache_free() with
 * connections still open in every state (the ASan build checks that
 * nothing leaks or is used after free).
 *
 * The client is a bufferevent on the same base; each exchange runs the
 * loop until the server closes the connection or a 5 s watchdog fires.
 */

#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "cache.h"
#include "test.h"

static struct event_base	*base;
static struct redis_url		 url;

struct client {
	struct bufferevent	*bev;
	struct evbuffer		*got;
	int			 closed;
};

/* Client side: read everything, note the close. */
static void
client_read_cb(struct bufferevent *bev, void *arg)
{
	struct client	*cl = arg;

	evbuffer_add_buffer(cl->got, bufferevent_get_input(bev));
}

static void
client_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct client	*cl = arg;

	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		evbuffer_add_buffer(cl->got, bufferevent_get_input(bev));
		cl->closed = 1;
	}
}

/* Connect a client to the cache's port. */
static struct client *
client_new(struct cache *cache)
{
	struct client		*cl = xcalloc(1, sizeof *cl);
	struct sockaddr_in	 sin;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)cache_port(cache));
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	cl->got = evbuffer_new();
	cl->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(cl->bev, client_read_cb, NULL, client_event_cb, cl);
	bufferevent_enable(cl->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(cl->bev, (struct sockaddr *)&sin,
	    sizeof sin) != 0)
		fatalx("connect failed");
	return (cl);
}

static void
client_free(struct client *cl)
{
	bufferevent_free(cl->bev);
	evbuffer_free(cl->got);
	free(cl);
}

/* Run the loop until cond holds or 5 s have passed. */
static int
run_until(int (*cond)(struct client *), struct client *cl)
{
	uint64_t	end = util_now_ms() + 5000;
	struct timeval	tv = { 0, 20000 };

	while (!cond(cl) && util_now_ms() < end) {
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
	return (cond(cl));
}

/* Run the loop for ms milliseconds. */
static void
run_for(int ms)
{
	struct timeval	tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

static int
is_closed(struct client *cl)
{
	return (cl->closed);
}

/* Whether the client got two equal responses, both 404. */
static int
has_two(struct client *cl)
{
	size_t		 len = evbuffer_get_length(cl->got);
	const char	*s;

	if (len == 0 || len % 2 != 0)
		return (0);
	s = (const char *)evbuffer_pullup(cl->got, (ev_ssize_t)len);
	return (strncmp(s, "HTTP/1.1 404 ", 13) == 0 &&
	    memcmp(s, s + len / 2, len / 2) == 0);
}

/*
 * Send req (with "TOKEN" replaced by the cache's token), wait for the
 * server to close, and return what came back. Caller frees.
 */
static char *
exchange(struct cache *cache, const char *req)
{
	struct client	*cl = client_new(cache);
	const char	*t = strstr(req, "TOKEN");
	char		*got;
	size_t		 len;

	if (t != NULL) {
		bufferevent_write(cl->bev, req, (size_t)(t - req));
		bufferevent_write(cl->bev, cache_token(cache),
		    strlen(cache_token(cache)));
		bufferevent_write(cl->bev, t + 5, strlen(t + 5));
	} else
		bufferevent_write(cl->bev, req, strlen(req));
	CHECK(run_until(is_closed, cl));
	len = evbuffer_get_length(cl->got);
	got = xcalloc(1, len + 1);
	evbuffer_remove(cl->got, got, len);
	client_free(cl);
	return (got);
}

/* Whether the exchange's answer starts with the status line want. */
static int
answers(struct cache *cache, const char *req, const char *want)
{
	char	*got = exchange(cache, req);
	int	 ok = strncmp(got, want, strlen(want)) == 0;

	if (!ok)
		printf("    want \"%s\", got \"%.60s\"\n", want, got);
	free(got);
	return (ok);
}

static void
test_start(void)
{
	struct cache	*c;
	char		*cause = NULL;

	c = cache_start(base, &url, "127.0.0.1:0", NULL, 0, 0, &cause);
	CHECK(c != NULL);
	CHECK(cache_port(c) > 0);
	CHECK(strlen(cache_token(c)) == 64);
	CHECK(strspn(cache_token(c), "0123456789abcdef") == 64);
	cache_free(c);

	c = cache_start(base, &url, "127.0.0.1:0", "tok", 0, 0, &cause);
	CHECK(c != NULL);
	CHECK_STREQ(cache_token(c), "tok");
	cache_free(c);
	cache_free(NULL);

	CHECK(cache_start(base, &url, "nowhere:1", NULL, 0, 0, &cause) ==
	    NULL);
	CHECK(cause != NULL && strstr(cause, "nowhere") != NULL);
	free(cause);
	cause = NULL;
	CHECK(cache_start(base, &url, "127.0.0.1:0", "", 0, 0, &cause) ==
	    NULL);
	CHECK(cause != NULL);
	free(cause);
}

static void
test_statuses(void)
{
	struct cache	*c;
	char		*cause = NULL;

	c = cache_start(base, &url, "127.0.0.1:0", NULL, 1024, 60, &cause);
	CHECK(c != NULL);
	cache_set_read_token(c, "reader");

	CHECK(answers(c, "GET /v1/cache/1 HTTP/1.1\r\n"
	    "Connection: close\r\n\r\n", "HTTP/1.1 401 "));
	CHECK(answers(c, "GET /v1/cache/1 HTTP/1.1\r\nAuthorization: Bearer "
	    "nope\r\nConnection: close\r\n\r\n", "HTTP/1.1 401 "));
	CHECK(answers(c, "GET /v8/artifacts/status HTTP/1.1\r\n"
	    "Connection: close\r\n\r\n", "HTTP/1.1 401 "));
	CHECK(answers(c, "GET /v8/artifacts/status HTTP/1.1\r\nAuthorization: "
	    "Bearer TOKEN\r\nConnection: close\r\n\r\n", "HTTP/1.1 200 "));
	CHECK(answers(c, "GET /other HTTP/1.1\r\nConnection: close\r\n\r\n",
	    "HTTP/1.1 404 "));
	CHECK(answers(c, "DELETE /v1/cache/1 HTTP/1.1\r\nAuthorization: Bearer "
	    "TOKEN\r\nConnection: close\r\n\r\n", "HTTP/1.1 405 "));
	CHECK(answers(c, "GET /v1/cache/a.b HTTP/1.1\r\nAuthorization: Bearer "
	    "TOKEN\r\nConnection: close\r\n\r\n", "HTTP/1.1 400 "));
	CHECK(answers(c, "PUT /v1/cache/1 HTTP/1.1\r\nAuthorization: Bearer "
	    "TOKEN\r\nConnection: close\r\n\r\n", "HTTP/1.1 411 "));
	CHECK(answers(c, "PUT /v1/cache/1 HTTP/1.1\r\nAuthorization: Bearer "
	    "TOKEN\r\nContent-Length: 2048\r\nExpect: 100-continue\r\n\r\n",
	    "HTTP/1.1 413 "));
	CHECK(answers(c, "PUT /v1/cache/1 HTTP/1.1\r\nAuthorization: Bearer "
	    "reader\r\nContent-Length: 3\r\n\r\nabc", "HTTP/1.1 403 "));
	CHECK(answers(c, "GET /v1/cache/1 HTTP/1.1\r\nAuthorization: Bearer "
	    "reader\r\nConnection: close\r\n\r\n", "HTTP/1.1 503 "));
	CHECK(answers(c, "PUT /v1/cache/1 HTTP/1.1\r\nAuthorization: Bearer "
	    "TOKEN\r\nContent-Length: 3\r\n\r\nabc", "HTTP/1.1 503 "));
	CHECK(answers(c, "PUT /v1/cache/1 HTTP/1.1\r\nAuthorization: Bearer "
	    "TOKEN\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	    "HTTP/1.1 503 "));
	CHECK(answers(c, "GARBAGE\r\n\r\n", "HTTP/1.1 400 "));
	CHECK(answers(c, "GET / HTTP/3.0\r\n\r\n", "HTTP/1.1 505 "));
	cache_free(c);
}

static void
test_keepalive(void)
{
	struct cache	*c;
	struct client	*cl;
	char		*cause = NULL;
	const char	 req[] = "GET /a HTTP/1.1\r\n\r\n"
	    "GET /b HTTP/1.1\r\n\r\n";

	c = cache_start(base, &url, "127.0.0.1:0", "t", 0, 0, &cause);
	CHECK(c != NULL);
	cl = client_new(c);
	bufferevent_write(cl->bev, req, sizeof req - 1);
	CHECK(run_until(has_two, cl));
	CHECK(!cl->closed);
	client_free(cl);
	cache_free(c);
}

/* cache_free() with clients in the middle of everything. */
static void
test_free_busy(void)
{
	struct cache	*c;
	struct client	*cl[4];
	char		*cause = NULL;
	const char	*half_head = "GET /v1/cache/1 HTTP/1.1\r\nAuthor";
	const char	*half_body = "PUT /v1/cache/1 HTTP/1.1\r\n"
	    "Authorization: Bearer t\r\nContent-Length: 100\r\n\r\nabc";
	const char	*half_chunk = "PUT /v8/artifacts/1 HTTP/1.1\r\n"
	    "Authorization: Bearer t\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "10\r\nabc";
	size_t		 i;

	c = cache_start(base, &url, "127.0.0.1:0", "t", 0, 0, &cause);
	CHECK(c != NULL);
	for (i = 0; i < 4; i++)
		cl[i] = client_new(c);
	bufferevent_write(cl[0]->bev, half_head, strlen(half_head));
	bufferevent_write(cl[1]->bev, half_body, strlen(half_body));
	bufferevent_write(cl[2]->bev, half_chunk, strlen(half_chunk));
	run_for(200);		/* let the server take it all in */
	cache_free(c);
	for (i = 0; i < 4; i++) {
		CHECK(run_until(is_closed, cl[i]));
		client_free(cl[i]);
	}
}

int
main(void)
{
	char	*cause;

	log_init("test_cache_embed", 0);
	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new");
	if (url_parse("redis://127.0.0.1:1", &url, &cause) != 0)
		fatalx("%s", cause);
	TEST_RUN(test_start);
	TEST_RUN(test_statuses);
	TEST_RUN(test_keepalive);
	TEST_RUN(test_free_busy);
	url_free(&url);
	event_base_free(base);
	return (test_exit());
}
