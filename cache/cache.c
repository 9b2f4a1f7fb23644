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
 * Everything needs "Authorization: Bearer TOKEN": a missing or wrong
 * token is 401, the read-only token (if set) writing is 403. A bad hash
 * is 400, a body over the size cap 413, a PUT with neither
 * Content-Length nor chunked coding 411, Redis unreachable 503. Nx gets
 * text/plain error bodies (its CLI shows them), Turborepo JSON ones
 * ({"error": {"code", "message"}}, which its client parses).
 *
 * Nx's spec page has listed 202 for a stored upload, but its client
 * takes only 200 as success and reports 202 as an error (nrwl/nx#32870;
 * packages/nx/src/native/cache/http_remote_cache.rs), so Nx gets 200.
 * An existing artifact is never overwritten: Nx gets 409, which its
 * client treats as "already cached"; Turborepo, whose API has no such
 * answer and whose client reports any error as a failed upload, gets
 * 202 and the first artifact stays.
 *
 * One request is one struct xfer, in one of the XFER_* states, from NEW:
 *
 *	upload:   CHECK (EXISTS) -> RECV (chunks to Redis) -> COMMIT -> DONE
 *	                    \-> DRAIN (exists: body thrown away) -> DONE
 *	download: LOOKUP (meta, data length) -> SEND (chunk by chunk) -> DONE
 *	other:    BODY (a small body read whole) [-> QUERY] -> DONE
 *
 * Backpressure: an upload stops reading from the client while
 * CACHE_INFLIGHT chunks are sent to Redis but not acknowledged; a
 * download asks for the next chunk only when the client's output
 * buffer has drained, with at most two chunks on the way. So one
 * transfer holds a few MiB whatever the artifact's size.
 *
 * An xfer outlives its connection while Redis replies are pending:
 * refs counts them, conn is NULL once the client is gone or the final
 * reply is queued, and the xfer is freed when both are over.
 */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <cjson/cJSON.h>

#include "cache.h"

#define CACHE_API_NX	0
#define CACHE_API_TURBO	1

#define XFER_NEW	0
#define XFER_CHECK	1
#define XFER_RECV	2
#define XFER_DRAIN	3
#define XFER_COMMIT	4
#define XFER_LOOKUP	5
#define XFER_SEND	6
#define XFER_BODY	7
#define XFER_QUERY	8
#define XFER_DONE	9

static const char *xfer_state_names[] = {
	"new", "check", "recv", "drain", "commit", "lookup", "send", "body",
	"query", "done"
};

#define CACHE_INFLIGHT	4		/* upload chunks sent, not acked */
#define CACHE_PREFETCH	2		/* download chunks on the way */
#define CACHE_SMALL_MAX	(64 * 1024)	/* a JSON request body */
#define CACHE_QUERY_MAX	1024		/* hashes in one query */
#define CACHE_HEADER_MAX 1024		/* a stored x-artifact-* value */

struct cache {
	struct event_base	*base;
	struct redis_url	 url;
	struct rconn		*rd;		/* lookups, downloads */
	struct rconn		*wr;		/* uploads */
	struct http_server	*http;
	char			*token;
	char			*read_token;	/* may read, may not write */
	uint64_t		 max;
	int			 ttl;
	int			 freeing;
};

struct query;

struct xfer {
	struct cache		*cache;
	struct http_conn	*conn;	/* NULL: client gone or answered */
	int			 api;
	int			 state;
	int			 refs;	/* Redis replies pending */
	char			*hash;

	/* Upload. */
	char			*upkey;
	struct evbuffer		*chunk;	/* body bytes not sent yet */
	uint64_t		 received;
	struct store_meta	 meta;	/* also the download's */
	int			 inflight;

	/* Download. */
	uint64_t		 next;		/* next chunk to ask for */
	uint64_t		 got;		/* chunks received */
	uint64_t		 sent;		/* bytes sent */
	int			 fetching;

	/* Small bodies (query, events). */
	int			 is_query;
	struct evbuffer		*small;
	struct query		*query;
};

/* A batch query: one lookup per hash, answered together. */
struct query {
	cJSON			*out;
	size_t			 left;
};
struct query_item {
	struct xfer		*x;
	char			*hash;
};

static void	cache_pump(struct xfer *);

/* Move a transfer to a new state, logging the transition. */
static void
xfer_set_state(struct xfer *x, int state)
{
	if (x->state != state)
		log_debug("%s: %s: %s -> %s", __func__,
		    x->hash != NULL ? x->hash : "-",
		    xfer_state_names[x->state], xfer_state_names[state]);
	x->state = state;
}

/* Free a transfer once nothing refers to it. */
static void
xfer_maybe_free(struct xfer *x)
{
	if (x->conn != NULL || x->refs > 0)
		return;
	free(x->hash);
	free(x->upkey);
	if (x->chunk != NULL)
		evbuffer_free(x->chunk);
	if (x->small != NULL)
		evbuffer_free(x->small);
	if (x->query != NULL) {
		cJSON_Delete(x->query->out);
		free(x->query);
	}
	store_meta_clear(&x->meta);
	free(x);
}

/* Let go of the connection: the final answer is queued, or none can be. */
static void
xfer_detach(struct xfer *x)
{
	if (x->conn != NULL) {
		http_set_data(x->conn, NULL);
		x->conn = NULL;
	}
	xfer_set_state(x, XFER_DONE);
}

/* A JSON string for a Turborepo error body. Caller frees. */
static char *
cache_turbo_error(const char *code, const char *message)
{
	cJSON	*o, *e;
	char	*s;

	o = cJSON_CreateObject();
	e = cJSON_AddObjectToObject(o, "error");
	cJSON_AddStringToObject(e, "code", code);
	cJSON_AddStringToObject(e, "message", message);
	if ((s = cJSON_PrintUnformatted(o)) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_Delete(o);
	return (s);
}

/* Turborepo's error code for a status. */
static const char *
cache_turbo_code(int status)
{
	switch (status) {
	case 400: return ("bad_request");
	case 401: return ("unauthorized");
	case 403: return ("forbidden");
	case 404: return ("not_found");
	case 405: return ("method_not_allowed");
	case 411: return ("length_required");
	case 413: return ("payload_too_large");
	case 503: return ("service_unavailable");
	}
	return ("internal_error");
}

/*
 * Answer an error in the API's own form, with one extra header if hname
 * is not NULL.
 */
static void
cache_error_reply(struct http_conn *c, int api, int status,
    const char *message, const char *hname, const char *hvalue)
{
	char	*body;

	log_debug("%s: %d: %s", __func__, status, message);
	if (api == CACHE_API_TURBO)
		body = cache_turbo_error(cache_turbo_code(status), message);
	else
		xasprintf(&body, "%s\n", message);
	http_response(c, status);
	if (hname != NULL)
		http_add_header(c, hname, "%s", hvalue);
	http_add_header(c, "Content-Type", "%s", api == CACHE_API_TURBO ?
	    "application/json" : "text/plain; charset=utf-8");
	http_send_head(c, strlen(body));
	http_send_body(c, body, strlen(body));
	free(body);
}

/* Answer a transfer's request with an error and let go of it. */
static void
cache_fail(struct xfer *x, int status, const char *message)
{
	if (x->conn != NULL)
		cache_error_reply(x->conn, x->api, status, message, NULL,
		    NULL);
	xfer_detach(x);
}

/*
 * The artifact exists already: Nx hears 409, Turborepo 202 (see the
 * opening comment); the artifact stays as it was.
 */
static void
cache_exists_reply(struct xfer *x)
{
	if (x->api == CACHE_API_NX) {
		cache_fail(x, 409, "an artifact with this hash exists and "
		    "cannot be overwritten");
		return;
	}
	if (x->conn != NULL)
		http_reply(x->conn, 202, "application/json", "{\"urls\":[]}");
	xfer_detach(x);
}

/* Redis is down (or refused us): 503 with the reason. */
static void
cache_unavailable(struct xfer *x, struct rconn *rc)
{
	char	*msg;

	if (rconn_error(rc) != NULL)
		xasprintf(&msg, "the cache's Redis refused the connection: %s",
		    rconn_error(rc));
	else
		xasprintf(&msg, "the cache's Redis is unreachable");
	cache_fail(x, 503, msg);
	free(msg);
}

/* Drop an upload that will not complete, and its key in Redis. */
static void
cache_upload_abort(struct xfer *x)
{
	if (x->upkey != NULL && x->meta.chunks > 0)
		store_discard(x->cache->wr, x->upkey);
	free(x->upkey);
	x->upkey = NULL;
}

/* Reply to the commit script. */
static void
cache_commit_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct xfer	*x = privdata;
	redisReply	*reply = r;

	(void)ac;
	x->refs--;
	if (x->state != XFER_COMMIT)
		goto out;
	if (reply == NULL) {
		cache_unavailable(x, x->cache->wr);
		goto out;
	}
	if (reply->type != REDIS_REPLY_INTEGER) {
		log_warnx("cache: commit of %s: %s", x->hash,
		    reply->type == REDIS_REPLY_ERROR ? reply->str :
		    "unexpected reply");
		cache_fail(x, 500, "the cache could not store the artifact");
		goto out;
	}
	if (reply->integer == 1)
		log_debug("%s: %s stored, %" PRIu64 " bytes", __func__,
		    x->hash, x->meta.size);
	if (reply->integer < 0)		/* Redis lost chunks: restarted? */
		cache_fail(x, 503, "the upload was lost in the cache's Redis");
	else if (reply->integer == 0)
		cache_exists_reply(x);
	else {
		if (x->conn != NULL && x->api == CACHE_API_TURBO)
			http_reply(x->conn, 202, "application/json",
			    "{\"urls\":[]}");
		else if (x->conn != NULL)
			http_reply(x->conn, 200, NULL, NULL);
		xfer_detach(x);
	}
out:
	xfer_maybe_free(x);
}

/* Reply to one chunk's MULTI/EXEC. */
static void
cache_append_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct xfer	*x = privdata;
	redisReply	*reply = r;
	char		*cause;

	(void)ac;
	x->refs--;
	x->inflight--;
	if (x->state != XFER_RECV && x->state != XFER_COMMIT)
		goto out;
	if (reply == NULL) {
		cache_upload_abort(x);
		cache_unavailable(x, x->cache->wr);
		goto out;
	}
	if (store_append_check(reply, &cause) != 0) {
		log_warnx("cache: upload of %s: Redis: %s", x->hash, cause);
		free(cause);
		cache_upload_abort(x);
		cache_fail(x, 503, "the cache's Redis refused the upload");
		goto out;
	}
	if (x->state == XFER_RECV && x->conn != NULL &&
	    x->inflight < CACHE_INFLIGHT)
		http_resume(x->conn);
out:
	xfer_maybe_free(x);
}

/* Send the first len bytes of the pending chunk. */
static int
cache_send_chunk(struct xfer *x, size_t len)
{
	const void	*p;

	p = evbuffer_pullup(x->chunk, (ev_ssize_t)len);
	if (store_append(x->cache->wr, x->upkey, p, len, cache_append_done,
	    x) != 0) {
		cache_upload_abort(x);
		cache_unavailable(x, x->cache->wr);
		return (-1);
	}
	evbuffer_drain(x->chunk, len);
	x->meta.chunks++;
	x->inflight++;
	x->refs++;
	return (0);
}

/* Upload body bytes: collect them into chunks for Redis. */
static void
cache_upload_body(struct xfer *x, struct evbuffer *buf)
{
	char	*msg;

	x->received += evbuffer_get_length(buf);
	if (x->received > x->cache->max) {
		xasprintf(&msg, "the artifact is larger than the cache's "
		    "limit of %" PRIu64 " bytes", x->cache->max);
		cache_upload_abort(x);
		cache_fail(x, 413, msg);
		free(msg);
		return;
	}
	evbuffer_add_buffer(x->chunk, buf);
	while (evbuffer_get_length(x->chunk) >= CACHE_CHUNK) {
		if (cache_send_chunk(x, CACHE_CHUNK) != 0)
			return;
	}
	if (x->inflight >= CACHE_INFLIGHT)
		http_pause(x->conn);
}

/* The whole upload arrived: send the rest and commit. */
static void
cache_upload_end(struct xfer *x)
{
	size_t	left = evbuffer_get_length(x->chunk);

	if (left > 0 && cache_send_chunk(x, left) != 0)
		return;
	x->meta.size = x->received;
	if (store_commit(x->cache->wr, x->hash, x->upkey, &x->meta,
	    x->cache->ttl, cache_commit_done, x) != 0) {
		cache_upload_abort(x);
		cache_unavailable(x, x->cache->wr);
		return;
	}
	x->refs++;
	xfer_set_state(x, XFER_COMMIT);
}

/* Reply to EXISTS before an upload. */
static void
cache_exists_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct xfer	*x = privdata;
	redisReply	*reply = r;
	char		*id;

	(void)ac;
	x->refs--;
	if (x->state != XFER_CHECK || x->conn == NULL)
		goto out;
	if (reply == NULL) {
		cache_unavailable(x, x->cache->rd);
		goto out;
	}
	if (reply->type != REDIS_REPLY_INTEGER) {
		log_warnx("cache: EXISTS: %s", reply->type ==
		    REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
		cache_fail(x, 503, "the cache's Redis refused the lookup");
		goto out;
	}
	if (reply->integer == 1) {
		/*
		 * Answer at once if the client waits for "100 Continue";
		 * otherwise read the body to the end first, so the client
		 * sees the answer rather than a reset connection.
		 */
		if (http_request(x->conn)->expect_continue)
			cache_exists_reply(x);
		else {
			xfer_set_state(x, XFER_DRAIN);
			http_read_body(x->conn);
		}
		goto out;
	}
	id = store_upload_id();
	xasprintf(&x->upkey, "dteq:cache:{%s}:up:%s", x->hash, id);
	free(id);
	x->chunk = evbuffer_new();
	xfer_set_state(x, XFER_RECV);
	http_read_body(x->conn);
out:
	xfer_maybe_free(x);
}

/* Copy an optional x-artifact-* header into *out; -1 if unacceptable. */
static int
cache_meta_header(struct http_conn *c, const char *name, int digits,
    char **out)
{
	const char	*v = parse_header(http_request(c), name);
	size_t		 i;

	if (v == NULL || *v == '\0')
		return (0);
	if (strlen(v) > CACHE_HEADER_MAX)
		return (-1);
	for (i = 0; digits && v[i] != '\0'; i++) {
		if (v[i] < '0' || v[i] > '9')
			return (-1);
	}
	*out = xstrdup(v);
	return (0);
}

/* PUT: check the request, then ask Redis whether the hash exists. */
static void
cache_put(struct xfer *x)
{
	struct http_conn		*c = x->conn;
	const struct http_head		*h = http_request(c);
	char				*msg;

	if (!h->chunked && h->content_length < 0) {
		cache_fail(x, 411, "an upload needs a Content-Length");
		return;
	}
	if (h->content_length > 0 &&
	    (uint64_t)h->content_length > x->cache->max) {
		xasprintf(&msg, "the artifact (%" PRId64 " bytes) is larger "
		    "than the cache's limit of %" PRIu64 " bytes",
		    h->content_length, x->cache->max);
		cache_fail(x, 413, msg);
		free(msg);
		return;
	}
	if (x->api == CACHE_API_TURBO &&
	    (cache_meta_header(c, "x-artifact-duration", 1,
	    &x->meta.duration) != 0 ||
	    cache_meta_header(c, "x-artifact-tag", 0, &x->meta.tag) != 0 ||
	    cache_meta_header(c, "x-artifact-sha", 0, &x->meta.sha) != 0 ||
	    cache_meta_header(c, "x-artifact-dirty-hash", 0,
	    &x->meta.dirty) != 0)) {
		cache_fail(x, 400, "bad x-artifact-* header");
		return;
	}
	if (!rconn_is_ready(x->cache->wr) ||
	    store_exists(x->cache->rd, x->hash, cache_exists_done, x) != 0) {
		cache_unavailable(x, rconn_is_ready(x->cache->wr) ?
		    x->cache->rd : x->cache->wr);
		return;
	}
	x->refs++;
	xfer_set_state(x, XFER_CHECK);
}

/* Reply to one chunk's LINDEX: pass it on to the client. */
static void
cache_fetch_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct xfer	*x = privdata;
	redisReply	*reply = r;
	uint64_t	 want;

	(void)ac;
	x->refs--;
	x->fetching--;
	if (x->state != XFER_SEND || x->conn == NULL)
		goto out;
	want = x->meta.size - x->got * x->meta.chunk;
	if (want > x->meta.chunk)
		want = x->meta.chunk;
	if (reply == NULL || reply->type != REDIS_REPLY_STRING ||
	    (uint64_t)reply->len != want) {
		/* Headers are out: all we can do is cut the body short. */
		log_warnx("cache: %s: chunk %" PRIu64 " %s", x->hash, x->got,
		    reply == NULL ? "lost with the Redis connection" :
		    "missing or of the wrong size (expired?)");
		http_abort(x->conn);
		xfer_detach(x);
		goto out;
	}
	http_send_body(x->conn, reply->str, (size_t)reply->len);
	x->got++;
	x->sent += (uint64_t)reply->len;
	if (x->sent == x->meta.size) {
		log_debug("%s: %s sent, %" PRIu64 " bytes", __func__, x->hash,
		    x->sent);
		xfer_detach(x);
	} else
		cache_pump(x);
out:
	xfer_maybe_free(x);
}

/* Ask for more chunks while the client keeps up. */
static void
cache_pump(struct xfer *x)
{
	while (x->state == XFER_SEND && x->conn != NULL &&
	    x->fetching < CACHE_PREFETCH && x->next < x->meta.chunks &&
	    http_output_len(x->conn) + x->fetching * x->meta.chunk <
	    CACHE_PREFETCH * x->meta.chunk) {
		if (store_fetch(x->cache->rd, x->hash, x->next,
		    cache_fetch_done, x) != 0) {
			log_warnx("cache: %s: Redis lost mid-download",
			    x->hash);
			http_abort(x->conn);
			xfer_detach(x);
			return;
		}
		x->next++;
		x->fetching++;
		x->refs++;
	}
}

/* Reply to the lookup before a download: send the head, start the body. */
static void
cache_lookup_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct xfer	*x = privdata;
	redisReply	*reply = r;
	struct http_conn *c = x->conn;
	char		*cause;
	int		 found;

	(void)ac;
	x->refs--;
	if (x->state != XFER_LOOKUP || c == NULL)
		goto out;
	if (reply == NULL) {
		cache_unavailable(x, x->cache->rd);
		goto out;
	}
	if ((found = store_meta_parse(reply, &x->meta, &cause)) == -1) {
		log_warnx("cache: lookup of %s: %s", x->hash, cause);
		free(cause);
		cache_fail(x, 500, "the cache could not read the artifact");
		goto out;
	}
	if (found == 0) {
		cache_fail(x, 404, "no artifact with this hash");
		goto out;
	}
	http_response(c, 200);
	http_add_header(c, "Content-Type", "application/octet-stream");
	if (x->api == CACHE_API_TURBO) {
		if (x->meta.duration != NULL)
			http_add_header(c, "x-artifact-duration", "%s",
			    x->meta.duration);
		if (x->meta.tag != NULL)
			http_add_header(c, "x-artifact-tag", "%s", x->meta.tag);
		if (x->meta.sha != NULL)
			http_add_header(c, "x-artifact-sha", "%s", x->meta.sha);
		if (x->meta.dirty != NULL)
			http_add_header(c, "x-artifact-dirty-hash", "%s",
			    x->meta.dirty);
	}
	http_send_head(c, x->meta.size);
	if (http_is_head(c) || x->meta.size == 0) {
		xfer_detach(x);
		goto out;
	}
	xfer_set_state(x, XFER_SEND);
	cache_pump(x);
out:
	xfer_maybe_free(x);
}

/* GET or HEAD of an artifact. */
static void
cache_get(struct xfer *x)
{
	if (store_lookup(x->cache->rd, x->hash, cache_lookup_done, x) != 0) {
		cache_unavailable(x, x->cache->rd);
		return;
	}
	x->refs++;
	xfer_set_state(x, XFER_LOOKUP);
}

/* Reply to one lookup of a batch query. */
static void
cache_query_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct query_item	*qi = privdata;
	struct xfer		*x = qi->x;
	redisReply		*reply = r;
	struct store_meta	 m;
	cJSON			*info;
	char			*cause, *body;
	int			 found;

	(void)ac;
	x->refs--;
	if (reply == NULL || x->state != XFER_QUERY)
		goto out;
	found = store_meta_parse(reply, &m, &cause);
	if (found == -1) {
		info = cJSON_AddObjectToObject(x->query->out, qi->hash);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(info, "error"),
		    "message", cause);
		free(cause);
	} else if (found == 0)
		cJSON_AddNullToObject(x->query->out, qi->hash);
	else {
		info = cJSON_AddObjectToObject(x->query->out, qi->hash);
		cJSON_AddNumberToObject(info, "size", (double)m.size);
		cJSON_AddNumberToObject(info, "taskDurationMs",
		    m.duration != NULL ? strtod(m.duration, NULL) : 0);
		if (m.tag != NULL)
			cJSON_AddStringToObject(info, "tag", m.tag);
		store_meta_clear(&m);
	}
	if (--x->query->left == 0 && x->conn != NULL) {
		if ((body = cJSON_PrintUnformatted(x->query->out)) == NULL)
			fatalx("%s: out of memory", __func__);
		http_reply(x->conn, 200, "application/json", body);
		free(body);
		xfer_detach(x);
	}
out:
	if (reply == NULL && x->state == XFER_QUERY)
		cache_unavailable(x, x->cache->rd);
	free(qi->hash);
	free(qi);
	xfer_maybe_free(x);
}

/* POST /v8/artifacts: look up each hash of {"hashes": [...]}. */
static void
cache_query(struct xfer *x)
{
	cJSON			*doc, *hashes, *h;
	struct query_item	*qi;
	const char		*json;
	size_t			 len = evbuffer_get_length(x->small), n;

	json = (const char *)evbuffer_pullup(x->small, (ev_ssize_t)len);
	doc = cJSON_ParseWithLength(json, len);
	hashes = cJSON_GetObjectItemCaseSensitive(doc, "hashes");
	if (!cJSON_IsArray(hashes) ||
	    (n = (size_t)cJSON_GetArraySize(hashes)) > CACHE_QUERY_MAX) {
		cJSON_Delete(doc);
		cache_fail(x, 400, "want {\"hashes\": [...]}");
		return;
	}
	cJSON_ArrayForEach(h, hashes) {
		if (!cJSON_IsString(h) || !parse_hash_valid(h->valuestring)) {
			cJSON_Delete(doc);
			cache_fail(x, 400, "bad hash in \"hashes\"");
			return;
		}
	}
	x->query = xcalloc(1, sizeof *x->query);
	x->query->out = cJSON_CreateObject();
	xfer_set_state(x, XFER_QUERY);
	cJSON_ArrayForEach(h, hashes) {
		qi = xcalloc(1, sizeof *qi);
		qi->x = x;
		qi->hash = xstrdup(h->valuestring);
		if (store_lookup(x->cache->rd, qi->hash, cache_query_done,
		    qi) != 0) {
			free(qi->hash);
			free(qi);
			cJSON_Delete(doc);
			cache_unavailable(x, x->cache->rd);
			return;
		}
		x->refs++;
		x->query->left++;
	}
	cJSON_Delete(doc);
	if (x->query->left == 0) {
		http_reply(x->conn, 200, "application/json", "{}");
		xfer_detach(x);
	}
}

/* Request body bytes. */
static void
cache_body_cb(struct http_conn *c, struct evbuffer *buf, void *arg)
{
	struct xfer	*x = http_data(c);

	(void)arg;
	if (x == NULL)
		return;
	if (x->state == XFER_RECV)
		cache_upload_body(x, buf);
	else if (x->state == XFER_BODY) {
		if (evbuffer_get_length(x->small) +
		    evbuffer_get_length(buf) > CACHE_SMALL_MAX)
			cache_fail(x, 413, "request body too large");
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
		cache_upload_end(x);
		break;
	case XFER_DRAIN:
		cache_exists_reply(x);
		break;
	case XFER_BODY:
		if (x->is_query)
			cache_query(x);
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
		cache_pump(x);
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
	    x->hash != NULL ? x->hash : "-", xfer_state_names[x->state]);
	if (x->state == XFER_RECV)
		cache_upload_abort(x);
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
	cache_error_reply(c, api, 401, why, "WWW-Authenticate", "Bearer");
	return (0);
}

/* Answer 405 with the methods the route takes. */
static void
cache_bad_method(struct http_conn *c, int api, const char *allow)
{
	char	*msg;

	xasprintf(&msg, "method not allowed here (allowed: %s)", allow);
	cache_error_reply(c, api, 405, msg, "Allow", allow);
	free(msg);
}

/* A new request: route it, check the token and the hash, start it. */
static void
cache_request_cb(struct http_conn *c, void *arg)
{
	struct cache		*cache = arg;
	const struct http_head	*h = http_request(c);
	const char		*m = h->method, *hash = NULL;
	struct xfer		*x;
	int			 api, readonly, get, put;

	get = strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
	put = strcmp(m, "PUT") == 0;
	if (strncmp(h->path, "/v1/cache/", 10) == 0) {
		api = CACHE_API_NX;
		hash = h->path + 10;
	} else if (strncmp(h->path, "/v8/artifacts", 13) == 0) {
		api = CACHE_API_TURBO;
		if (h->path[13] == '/')
			hash = h->path + 14;
		else if (h->path[13] != '\0')
			goto not_found;
	} else
		goto not_found;
	if (!cache_auth(cache, c, api, &readonly))
		return;

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
		cache_fail(x, 400, "bad hash: want 1 to 128 of A-Z a-z 0-9 "
		    "_ -");
	else if (!get && !put) {
		cache_bad_method(c, api, "GET, HEAD, PUT");
		xfer_detach(x);
	} else {
		x->hash = xstrdup(hash);
		if (get)
			cache_get(x);
		else if (readonly)
			cache_fail(x, 403, "this token may only read from the "
			    "cache");
		else
			cache_put(x);
	}
	xfer_maybe_free(x);
	return;

not_found:
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
