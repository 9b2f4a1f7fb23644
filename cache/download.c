/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Downloads, a GET or HEAD of /v1/cache/HASH (Nx) or /v8/artifacts/HASH
 * (Turborepo): one script reads the artifact's meta and the length of
 * its data (store_lookup()); the head goes out with the size and, for
 * Turborepo, the x-artifact-* headers; then the body, one LINDEX per
 * chunk (store_fetch()). States, from NEW (xfer.c):
 *
 *	LOOKUP (meta, data length) -> SEND (chunk by chunk) -> DONE
 *
 * Backpressure: download_pump() asks for the next chunk only when the
 * client's output buffer has drained (cache.c passes http.c's drain
 * callback on), with at most CACHE_PREFETCH chunks on the way. So one
 * download holds a few MiB whatever the artifact's size. Once the head
 * is out, a chunk that is missing or lost can only cut the body short.
 */

#include <inttypes.h>
#include <stdlib.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "cache.h"

#define CACHE_PREFETCH	2		/* download chunks on the way */

/* Reply to one chunk's LINDEX: pass it on to the client. */
static void
download_fetch_done(redisAsyncContext *ac, void *r, void *privdata)
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
		download_pump(x);
out:
	xfer_maybe_free(x);
}

/* Ask for more chunks while the client keeps up. */
void
download_pump(struct xfer *x)
{
	while (x->state == XFER_SEND && x->conn != NULL &&
	    x->fetching < CACHE_PREFETCH && x->next < x->meta.chunks &&
	    http_output_len(x->conn) + x->fetching * x->meta.chunk <
	    CACHE_PREFETCH * x->meta.chunk) {
		if (store_fetch(x->cache->rd, x->hash, x->next,
		    download_fetch_done, x) != 0) {
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
download_lookup_done(redisAsyncContext *ac, void *r, void *privdata)
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
		xfer_unavailable(x, x->cache->rd);
		goto out;
	}
	if ((found = store_meta_parse(reply, &x->meta, &cause)) == -1) {
		log_warnx("cache: lookup of %s: %s", x->hash, cause);
		free(cause);
		xfer_fail(x, 500, "the cache could not read the artifact");
		goto out;
	}
	if (found == 0) {
		xfer_fail(x, 404, "no artifact with this hash");
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
	download_pump(x);
out:
	xfer_maybe_free(x);
}

/* GET or HEAD of an artifact. */
void
download_start(struct xfer *x)
{
	if (store_lookup(x->cache->rd, x->hash, download_lookup_done, x) != 0) {
		xfer_unavailable(x, x->cache->rd);
		return;
	}
	x->refs++;
	xfer_set_state(x, XFER_LOOKUP);
}
