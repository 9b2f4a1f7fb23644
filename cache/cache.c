/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The remote cache server: Nx's self-hosted remote cache API and
 * Turborepo's remote cache API on top of http.c, with the artifacts in
 * Redis through store.c. It runs on the caller's event base with two
 * connections of its own: one for uploads (whose chunks queue up
 * behind each other) and one for lookups and downloads, so a download
 * never waits behind someone else's 200 MB upload.
 *
 *	route				method		answers
 *	/v1/cache/HASH			GET (HEAD)	200 artifact, 404
 *	(Nx)				PUT		200 stored, 409 exists
 *	/v8/artifacts/HASH		GET, HEAD	200 artifact, 404
 *	(Turborepo)			PUT		202 {"urls": []}
 *	/v8/artifacts/status		GET		200 {"status":"enabled"}
 *	/v8/artifacts/events		POST		200 (events are dropped)
 *	/v8/artifacts			POST		200 {HASH: info|null}
 *
 * Each route may also be reached under "/key/K" (/key/K/v8/artifacts/H,
 * say): an agent gives that base URL to a task whose tool asks for the
 * task's one artifact under a key of its own (Turborepo with --only
 * leaves its dependencies' hashes out of it: tools/turbo.c), and the
 * artifact read or written there is K's, whatever H is. A batch query
 * under it still looks up the hashes it names.
 *
 * Everything needs "Authorization: Bearer TOKEN": a missing or wrong
 * token is 401, the read-only token (if set) writing is 403. A bad hash
 * is 400, a body over the size cap 413, a PUT with neither
 * Content-Length nor chunked coding 411, Redis unreachable 503. Nx gets
 * text/plain error bodies, Turborepo JSON ones (xfer_error_reply(),
 * xfer.c).
 *
 * Why a stored Nx upload is 200 and an existing artifact 409 (and 202
 * for Turborepo): upload.c.
 *
 * This file is the front door: the embedding API (cache_start() to
 * cache_free()), the routing of requests and the tokens. A request it
 * accepts becomes a struct xfer (xfer.c, with the states and the error
 * answers) and goes to upload.c, download.c or query.c; the http.c
 * callbacks here pass each one's body, end of body, drain and close on
 * to the file that owns its state. The layers: serve.c -> cache.c ->
 * upload.c, download.c, query.c -> xfer.c -> store.c, http.c -> parse.c.
 */

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "cache.h"

#define CACHE_SMALL_MAX	(64 * 1024)	/* a JSON request body */

/* Request body bytes. */
static void
cache_body_cb(struct http_conn *c, struct evbuffer *buf, void *arg)
{
	struct xfer	*x = http_data(c);

	(void)arg;
	if (x == NULL)
		return;
	if (x->state == XFER_RECV)
		upload_body(x, buf);
	else if (x->state == XFER_BODY) {
		if (evbuffer_get_length(x->small) +
		    evbuffer_get_length(buf) > CACHE_SMALL_MAX)
			xfer_fail(x, 413, "request body too large");
		else
			evbuffer_add_buffer(x->small, buf);
	}
	xfer_maybe_free(x);	/* if that was the end of it */
}

/* The whole request body arrived. */
static void
cache_body_end_cb(struct http_conn *c, void *arg)
{
	struct xfer	*x = http_data(c);

	(void)arg;
	if (x == NULL)
		return;
	switch (x->state) {
	case XFER_RECV:
		upload_end(x);
		break;
	case XFER_DRAIN:
		upload_exists_reply(x);
		break;
	case XFER_BODY:
		if (x->is_query)
			query_start(x);
		else {
			http_reply(c, 200, NULL, NULL);
			xfer_detach(x);
		}
		break;
	}
	xfer_maybe_free(x);
}

/* A streamed download's output drained. */
static void
cache_drain_cb(struct http_conn *c, void *arg)
{
	struct xfer	*x = http_data(c);

	(void)arg;
	if (x != NULL) {
		download_pump(x);
		xfer_maybe_free(x);
	}
}

/* The client went away: drop what it was doing. */
static void
cache_close_cb(struct http_conn *c, void *arg)
{
	struct xfer	*x = http_data(c);

	(void)arg;
	if (x == NULL)
		return;
	log_debug("%s: %s: client gone (%s)", __func__,
	    x->hash != NULL ? x->hash : "-", xfer_state_name(x->state));
	if (x->state == XFER_RECV)
		upload_abort(x);
	x->conn = NULL;
	if (x->state != XFER_COMMIT)	/* a complete upload still commits */
		xfer_set_state(x, XFER_DONE);
	xfer_maybe_free(x);
}

/*
 * Whether the request carries an acceptable token; sets *readonly for
 * the read-only one. Answers 401 itself when not.
 */
static int
cache_auth(struct cache *cache, struct http_conn *c, int api, int *readonly)
{
	const char	*v = parse_header(http_request(c), "Authorization");
	const char	*why;
	char		*token;
	int		 ok = 0;

	*readonly = 0;
	if ((token = parse_bearer(v)) != NULL) {
		if (parse_token_equal(token, cache->token))
			ok = 1;
		else if (cache->read_token != NULL &&
		    parse_token_equal(token, cache->read_token))
			ok = *readonly = 1;
		free(token);
	}
	if (ok)
		return (1);
	if (v == NULL && api == CACHE_API_NX)
		why = "missing bearer token (set "
		    "NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN)";
	else if (v == NULL)
		why = "missing bearer token (set TURBO_TOKEN)";
	else
		why = "invalid token";
	xfer_error_reply(c, api, 401, why, "WWW-Authenticate", "Bearer");
	return (0);
}

/* Answer 405 with the methods the route takes. */
static void
cache_bad_method(struct http_conn *c, int api, const char *allow)
{
	char	*msg;

	xasprintf(&msg, "method not allowed here (allowed: %s)", allow);
	xfer_error_reply(c, api, 405, msg, "Allow", allow);
	free(msg);
}

/* A new request: route it, check the token and the hash, start it. */
static void
cache_request_cb(struct http_conn *c, void *arg)
{
	struct cache		*cache = arg;
	const struct http_head	*h = http_request(c);
	const char		*m = h->method, *hash = NULL, *path;
	struct xfer		*x;
	char			*key;
	int			 api, readonly, get, put;

	get = strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
	put = strcmp(m, "PUT") == 0;
	key = parse_key_prefix(h->path, &path);
	if (path == NULL)
		goto not_found;
	if (strncmp(path, "/v1/cache/", 10) == 0) {
		api = CACHE_API_NX;
		hash = path + 10;
	} else if (strncmp(path, "/v8/artifacts", 13) == 0) {
		api = CACHE_API_TURBO;
		if (path[13] == '/')
			hash = path + 14;
		else if (path[13] != '\0')
			goto not_found;
	} else
		goto not_found;
	if (!cache_auth(cache, c, api, &readonly)) {
		free(key);
		return;
	}

	x = xcalloc(1, sizeof *x);
	x->cache = cache;
	x->conn = c;
	x->api = api;
	x->state = XFER_NEW;
	http_set_data(c, x);
	if (hash != NULL && strcmp(hash, "status") == 0 && api ==
	    CACHE_API_TURBO) {
		if (!get)
			cache_bad_method(c, api, "GET");
		else
			http_reply(c, 200, "application/json",
			    "{\"status\":\"enabled\"}");
		xfer_detach(x);
	} else if (api == CACHE_API_TURBO && (hash == NULL ||
	    strcmp(hash, "events") == 0)) {
		if (strcmp(m, "POST") != 0) {
			cache_bad_method(c, api, "POST");
			xfer_detach(x);
		} else {
			x->is_query = hash == NULL;
			x->small = evbuffer_new();
			xfer_set_state(x, XFER_BODY);
			http_read_body(c);
		}
	} else if (!parse_hash_valid(hash))
		xfer_fail(x, 400, "bad hash: want 1 to 128 of A-Z a-z 0-9 "
		    "_ -");
	else if (!get && !put) {
		cache_bad_method(c, api, "GET, HEAD, PUT");
		xfer_detach(x);
	} else {
		/* Under a task's key, its one artifact is the key's. */
		x->hash = key != NULL ? key : xstrdup(hash);
		key = NULL;
		if (get)
			download_start(x);
		else if (readonly)
			xfer_fail(x, 403, "this token may only read from the "
			    "cache");
		else
			upload_start(x);
	}
	xfer_maybe_free(x);
	free(key);
	return;

not_found:
	free(key);
	http_reply(c, 404, "text/plain; charset=utf-8", "no such endpoint: "
	    "the cache serves /v1/cache/HASH (Nx) and /v8/artifacts/HASH "
	    "(Turborepo)\n");
}

/* Redis connection events: only logged; requests check readiness. */
static void
cache_ready_cb(struct rconn *rc, void *arg)
{
	(void)arg;
	log_debug("%s: Redis ready", rconn_name(rc));
}

/* The connection dropped: log it; requests get 503 until it is back. */
static void
cache_lost_cb(struct rconn *rc, void *arg)
{
	struct cache	*cache = arg;

	if (!cache->freeing)
		log_warnx("%s: lost the Redis connection; answering 503 "
		    "until it is back", rconn_name(rc));
}

/* Deep-copy a Redis URL (rconn keeps a pointer to it). */
static void
cache_url_copy(struct redis_url *dst, const struct redis_url *src)
{
	*dst = *src;
	dst->host = src->host != NULL ? xstrdup(src->host) : NULL;
	dst->path = src->path != NULL ? xstrdup(src->path) : NULL;
	dst->user = src->user != NULL ? xstrdup(src->user) : NULL;
	dst->password = src->password != NULL ? xstrdup(src->password) : NULL;
}

/* A random token: 32 bytes in hex. Caller frees. */
static char *
cache_random_token(void)
{
	return (util_random_hex(32));
}

/*
 * Start a cache server on base: listen on listen ("HOST:PORT", port 0
 * for any free one), keep artifacts in the Redis at url (copied) for
 * ttl seconds, refuse artifacts over max bytes (0 for either: the
 * defaults), and require token (NULL: make up a random one, see
 * cache_token()). Redis need not be up yet: until it is, requests get
 * 503. The process must ignore SIGPIPE. Returns NULL with *cause set
 * when it cannot listen.
 */
struct cache *
cache_start(struct event_base *base, const struct redis_url *url,
    const char *listen, const char *token, size_t max, int ttl,
    char **cause)
{
	struct cache		*cache;
	struct http_handler	 h;

	if (token != NULL && *token == '\0') {
		xasprintf(cause, "the cache token may not be empty");
		return (NULL);
	}
	cache = xcalloc(1, sizeof *cache);
	cache->base = base;
	cache->max = max > 0 ? max : CACHE_DEFAULT_MAX;
	cache->ttl = ttl > 0 ? ttl : CACHE_DEFAULT_TTL;
	cache->token = token != NULL ? xstrdup(token) : cache_random_token();
	memset(&h, 0, sizeof h);
	h.request = cache_request_cb;
	h.body = cache_body_cb;
	h.body_end = cache_body_end_cb;
	h.drain = cache_drain_cb;
	h.close = cache_close_cb;
	h.arg = cache;
	if ((cache->http = http_listen(base, listen != NULL ? listen :
	    CACHE_DEFAULT_LISTEN, &h, cause)) == NULL) {
		free(cache->token);
		free(cache);
		return (NULL);
	}
	cache_url_copy(&cache->url, url);
	cache->rd = rconn_new(base, &cache->url, "cache-read", cache_ready_cb,
	    cache_lost_cb, cache);
	cache->wr = rconn_new(base, &cache->url, "cache-write",
	    cache_ready_cb, cache_lost_cb, cache);
	return (cache);
}

/* The port the server listens on. */
int
cache_port(const struct cache *cache)
{
	return (http_server_port(cache->http));
}

/* The token clients must send (the given or the generated one). */
const char *
cache_token(const struct cache *cache)
{
	return (cache->token);
}

/* Also accept token for reads only (writes get 403); NULL: none. */
void
cache_set_read_token(struct cache *cache, const char *token)
{
	free(cache->read_token);
	cache->read_token = token != NULL && *token != '\0' ?
	    xstrdup(token) : NULL;
}

/*
 * Stop: close every client connection (an unfinished upload leaves
 * nothing visible; its key expires) and the Redis connections. Call it
 * from outside the cache's own callbacks.
 */
void
cache_free(struct cache *cache)
{
	if (cache == NULL)
		return;
	cache->freeing = 1;
	http_server_free(cache->http);
	rconn_free(cache->wr);
	rconn_free(cache->rd);
	url_free(&cache->url);
	free(cache->token);
	free(cache->read_token);
	free(cache);
}
