/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Uploads, a PUT of /v1/cache/HASH (Nx) or /v8/artifacts/HASH
 * (Turborepo): upload_start() checks the request and asks Redis whether
 * the hash exists; if not, the body goes to Redis in CACHE_CHUNK pieces
 * under an upload key of its own, and one script commits it (store.c
 * has the keys and why this is atomic). States, from NEW (xfer.c):
 *
 *	CHECK (EXISTS) -> RECV (chunks to Redis) -> COMMIT -> DONE
 *	      \-> DRAIN (exists: body thrown away) -> DONE
 *
 * Backpressure: an upload stops reading from the client while
 * CACHE_INFLIGHT chunks are sent to Redis but not acknowledged, so it
 * holds a few MiB whatever the artifact's size. A client that goes away
 * before the end gets its upload key deleted (upload_abort(), from
 * cache.c's close callback); a complete upload still commits.
 *
 * Nx's spec page has listed 202 for a stored upload, but its client
 * takes only 200 as success and reports 202 as an error (nrwl/nx#32870;
 * packages/nx/src/native/cache/http_remote_cache.rs), so Nx gets 200.
 * An existing artifact is never overwritten: Nx gets 409, which its
 * client treats as "already cached"; Turborepo, whose API has no such
 * answer and whose client reports any error as a failed upload, gets
 * 202 and the first artifact stays.
 */

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "cache.h"

#define CACHE_INFLIGHT	4		/* upload chunks sent, not acked */
#define CACHE_HEADER_MAX 1024		/* a stored x-artifact-* value */

/*
 * The artifact exists already: Nx hears 409, Turborepo 202 (see the
 * opening comment); the artifact stays as it was.
 */
void
upload_exists_reply(struct xfer *x)
{
	if (x->api == CACHE_API_NX) {
		xfer_fail(x, 409, "an artifact with this hash exists and "
		    "cannot be overwritten");
		return;
	}
	if (x->conn != NULL)
		http_reply(x->conn, 202, "application/json", "{\"urls\":[]}");
	xfer_detach(x);
}

/* Drop an upload that will not complete, and its key in Redis. */
void
upload_abort(struct xfer *x)
{
	if (x->upkey != NULL && x->meta.chunks > 0)
		store_discard(x->cache->wr, x->upkey);
	free(x->upkey);
	x->upkey = NULL;
}

/* Reply to the commit script. */
static void
upload_commit_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct xfer	*x = privdata;
	redisReply	*reply = r;

	(void)ac;
	x->refs--;
	if (x->state != XFER_COMMIT)
		goto out;
	if (reply == NULL) {
		xfer_unavailable(x, x->cache->wr);
		goto out;
	}
	if (reply->type != REDIS_REPLY_INTEGER) {
		log_warnx("cache: commit of %s: %s", x->hash,
		    reply->type == REDIS_REPLY_ERROR ? reply->str :
		    "unexpected reply");
		xfer_fail(x, 500, "the cache could not store the artifact");
		goto out;
	}
	if (reply->integer == 1)
		log_debug("%s: %s stored, %" PRIu64 " bytes", __func__,
		    x->hash, x->meta.size);
	if (reply->integer < 0)		/* Redis lost chunks: restarted? */
		xfer_fail(x, 503, "the upload was lost in the cache's Redis");
	else if (reply->integer == 0)
		upload_exists_reply(x);
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
upload_append_done(redisAsyncContext *ac, void *r, void *privdata)
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
		upload_abort(x);
		xfer_unavailable(x, x->cache->wr);
		goto out;
	}
	if (store_append_check(reply, &cause) != 0) {
		log_warnx("cache: upload of %s: Redis: %s", x->hash, cause);
		free(cause);
		upload_abort(x);
		xfer_fail(x, 503, "the cache's Redis refused the upload");
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
upload_send_chunk(struct xfer *x, size_t len)
{
	const void	*p;

	p = evbuffer_pullup(x->chunk, (ev_ssize_t)len);
	if (store_append(x->cache->wr, x->upkey, p, len, upload_append_done,
	    x) != 0) {
		upload_abort(x);
		xfer_unavailable(x, x->cache->wr);
		return (-1);
	}
	evbuffer_drain(x->chunk, len);
	x->meta.chunks++;
	x->inflight++;
	x->refs++;
	return (0);
}

/* Upload body bytes: collect them into chunks for Redis. */
void
upload_body(struct xfer *x, struct evbuffer *buf)
{
	char	*msg;

	x->received += evbuffer_get_length(buf);
	if (x->received > x->cache->max) {
		xasprintf(&msg, "the artifact is larger than the cache's "
		    "limit of %" PRIu64 " bytes", x->cache->max);
		upload_abort(x);
		xfer_fail(x, 413, msg);
		free(msg);
		return;
	}
	evbuffer_add_buffer(x->chunk, buf);
	while (evbuffer_get_length(x->chunk) >= CACHE_CHUNK) {
		if (upload_send_chunk(x, CACHE_CHUNK) != 0)
			return;
	}
	if (x->inflight >= CACHE_INFLIGHT)
		http_pause(x->conn);
}

/* The whole upload arrived: send the rest and commit. */
void
upload_end(struct xfer *x)
{
	size_t	left = evbuffer_get_length(x->chunk);

	if (left > 0 && upload_send_chunk(x, left) != 0)
		return;
	x->meta.size = x->received;
	if (store_commit(x->cache->wr, x->hash, x->upkey, &x->meta,
	    x->cache->ttl, upload_commit_done, x) != 0) {
		upload_abort(x);
		xfer_unavailable(x, x->cache->wr);
		return;
	}
	x->refs++;
	xfer_set_state(x, XFER_COMMIT);
}

/* Reply to EXISTS before an upload. */
static void
upload_exists_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct xfer	*x = privdata;
	redisReply	*reply = r;
	char		*id;

	(void)ac;
	x->refs--;
	if (x->state != XFER_CHECK || x->conn == NULL)
		goto out;
	if (reply == NULL) {
		xfer_unavailable(x, x->cache->rd);
		goto out;
	}
	if (reply->type != REDIS_REPLY_INTEGER) {
		log_warnx("cache: EXISTS: %s", reply->type ==
		    REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
		xfer_fail(x, 503, "the cache's Redis refused the lookup");
		goto out;
	}
	if (reply->integer == 1) {
		/*
		 * Answer at once if the client waits for "100 Continue";
		 * otherwise read the body to the end first, so the client
		 * sees the answer rather than a reset connection.
		 */
		if (http_request(x->conn)->expect_continue)
			upload_exists_reply(x);
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
upload_meta_header(struct http_conn *c, const char *name, int digits,
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
void
upload_start(struct xfer *x)
{
	struct http_conn		*c = x->conn;
	const struct http_head		*h = http_request(c);
	char				*msg;

	if (!h->chunked && h->content_length < 0) {
		xfer_fail(x, 411, "an upload needs a Content-Length");
		return;
	}
	if (h->content_length > 0 &&
	    (uint64_t)h->content_length > x->cache->max) {
		xasprintf(&msg, "the artifact (%" PRId64 " bytes) is larger "
		    "than the cache's limit of %" PRIu64 " bytes",
		    h->content_length, x->cache->max);
		xfer_fail(x, 413, msg);
		free(msg);
		return;
	}
	if (x->api == CACHE_API_TURBO &&
	    (upload_meta_header(c, "x-artifact-duration", 1,
	    &x->meta.duration) != 0 ||
	    upload_meta_header(c, "x-artifact-tag", 0, &x->meta.tag) != 0 ||
	    upload_meta_header(c, "x-artifact-sha", 0, &x->meta.sha) != 0 ||
	    upload_meta_header(c, "x-artifact-dirty-hash", 0,
	    &x->meta.dirty) != 0)) {
		xfer_fail(x, 400, "bad x-artifact-* header");
		return;
	}
	if (!rconn_is_ready(x->cache->wr) ||
	    store_exists(x->cache->rd, x->hash, upload_exists_done, x) != 0) {
		xfer_unavailable(x, rconn_is_ready(x->cache->wr) ?
		    x->cache->rd : x->cache->wr);
		return;
	}
	x->refs++;
	xfer_set_state(x, XFER_CHECK);
}
