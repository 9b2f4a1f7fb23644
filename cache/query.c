/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Turborepo's batch query, POST /v8/artifacts with {"hashes": [...]}:
 * cache.c reads the body whole (XFER_BODY), then query_start() sends
 * one store_lookup() per hash at once, and the last reply to come in
 * answers them all, as {HASH: {"size", "taskDurationMs", "tag"} or
 * null}; a hash whose meta cannot be read gets {"error": {"message"}}.
 * A reply lost with the Redis connection answers 503 for the whole
 * query. States: BODY -> QUERY -> DONE.
 *
 * struct query, the answer being built, hangs off the xfer (its data)
 * and is freed with it through the xfer's freecb, so xfer.c, below this
 * file, never calls it; each lookup carries a struct query_item naming
 * its xfer and its hash.
 */

#include <stdlib.h>

#include <event2/buffer.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <cjson/cJSON.h>

#include "cache.h"

#define CACHE_QUERY_MAX	1024		/* hashes in one query */

/* A batch query: one lookup per hash, answered together. */
struct query {
	cJSON			*out;
	size_t			 left;
};
struct query_item {
	struct xfer		*x;
	char			*hash;
};

/* Free a query's answer: the xfer's freecb. */
static void
query_free(void *data)
{
	struct query	*q = data;

	cJSON_Delete(q->out);
	free(q);
}

/* Reply to one lookup of a batch query. */
static void
query_lookup_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct query_item	*qi = privdata;
	struct xfer		*x = qi->x;
	struct query		*q = x->data;
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
		info = cJSON_AddObjectToObject(q->out, qi->hash);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(info, "error"),
		    "message", cause);
		free(cause);
	} else if (found == 0)
		cJSON_AddNullToObject(q->out, qi->hash);
	else {
		info = cJSON_AddObjectToObject(q->out, qi->hash);
		cJSON_AddNumberToObject(info, "size", (double)m.size);
		cJSON_AddNumberToObject(info, "taskDurationMs",
		    m.duration != NULL ? strtod(m.duration, NULL) : 0);
		if (m.tag != NULL)
			cJSON_AddStringToObject(info, "tag", m.tag);
		store_meta_clear(&m);
	}
	if (--q->left == 0 && x->conn != NULL) {
		if ((body = cJSON_PrintUnformatted(q->out)) == NULL)
			fatalx("%s: out of memory", __func__);
		http_reply(x->conn, 200, "application/json", body);
		free(body);
		xfer_detach(x);
	}
out:
	if (reply == NULL && x->state == XFER_QUERY)
		xfer_unavailable(x, x->cache->rd);
	free(qi->hash);
	free(qi);
	xfer_maybe_free(x);
}

/* POST /v8/artifacts: look up each hash of {"hashes": [...]}. */
void
query_start(struct xfer *x)
{
	cJSON			*doc, *hashes, *h;
	struct query		*q;
	struct query_item	*qi;
	const char		*json;
	size_t			 len = evbuffer_get_length(x->small), n;

	json = (const char *)evbuffer_pullup(x->small, (ev_ssize_t)len);
	doc = cJSON_ParseWithLength(json, len);
	hashes = cJSON_GetObjectItemCaseSensitive(doc, "hashes");
	if (!cJSON_IsArray(hashes) ||
	    (n = (size_t)cJSON_GetArraySize(hashes)) > CACHE_QUERY_MAX) {
		cJSON_Delete(doc);
		xfer_fail(x, 400, "want {\"hashes\": [...]}");
		return;
	}
	cJSON_ArrayForEach(h, hashes) {
		if (!cJSON_IsString(h) || !parse_hash_valid(h->valuestring)) {
			cJSON_Delete(doc);
			xfer_fail(x, 400, "bad hash in \"hashes\"");
			return;
		}
	}
	q = xcalloc(1, sizeof *q);
	q->out = cJSON_CreateObject();
	x->data = q;
	x->freecb = query_free;
	xfer_set_state(x, XFER_QUERY);
	cJSON_ArrayForEach(h, hashes) {
		qi = xcalloc(1, sizeof *qi);
		qi->x = x;
		qi->hash = xstrdup(h->valuestring);
		if (store_lookup(x->cache->rd, qi->hash, query_lookup_done,
		    qi) != 0) {
			free(qi->hash);
			free(qi);
			cJSON_Delete(doc);
			xfer_unavailable(x, x->cache->rd);
			return;
		}
		x->refs++;
		q->left++;
	}
	cJSON_Delete(doc);
	if (q->left == 0) {
		http_reply(x->conn, 200, "application/json", "{}");
		xfer_detach(x);
	}
}
