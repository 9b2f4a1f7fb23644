/* dteq: self-hosted distributed task execution over Redis. */

/*
 * One request's transfer: its state, its lifetime, and how it ends in
 * failure. cache.c makes a struct xfer for each request it accepts and
 * hands it to upload.c, download.c or query.c, which move it through
 * the XFER_* states, from NEW:
 *
 *	upload:   CHECK (EXISTS) -> RECV (chunks to Redis) -> COMMIT -> DONE
 *	                    \-> DRAIN (exists: body thrown away) -> DONE
 *	download: LOOKUP (meta, data length) -> SEND (chunk by chunk) -> DONE
 *	other:    BODY (a small body read whole) [-> QUERY] -> DONE
 *
 * An xfer outlives its connection while Redis replies are pending:
 * refs counts them, conn is NULL once the client is gone or the final
 * reply is queued, and the xfer is freed when both are over. So each
 * Redis reply callback drops its ref, acts only while the xfer is in a
 * state that still wants the reply (a failure, or the client leaving,
 * moves it to DONE), and ends in xfer_maybe_free().
 *
 * A failure is answered in the API's own form by xfer_error_reply(): Nx
 * gets a text/plain body (its CLI shows it), Turborepo a JSON one
 * ({"error": {"code", "message"}}, which its client parses). cache.c
 * uses it too, for the requests it refuses before they get an xfer.
 *
 * The bottom of the two APIs: cache.c, upload.c, download.c and query.c
 * call this file, and it calls none of them (a file's own state hangs
 * off the xfer with a freecb, query.c's answer so far).
 */

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <cjson/cJSON.h>

#include "cache.h"

static const char *xfer_state_names[] = {
	"new", "check", "recv", "drain", "commit", "lookup", "send", "body",
	"query", "done"
};

/* Move a transfer to a new state, logging the transition. */
void
xfer_set_state(struct xfer *x, int state)
{
	if (x->state != state)
		log_debug("%s: %s: %s -> %s", __func__,
		    x->hash != NULL ? x->hash : "-",
		    xfer_state_names[x->state], xfer_state_names[state]);
	x->state = state;
}

/* The name of a state, for logging. */
const char *
xfer_state_name(int state)
{
	return (xfer_state_names[state]);
}

/* Free a transfer once nothing refers to it. */
void
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
	if (x->freecb != NULL)
		x->freecb(x->data);
	store_meta_clear(&x->meta);
	free(x);
}

/* Let go of the connection: the final answer is queued, or none can be. */
void
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
xfer_turbo_error(const char *code, const char *message)
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
xfer_turbo_code(int status)
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
void
xfer_error_reply(struct http_conn *c, int api, int status,
    const char *message, const char *hname, const char *hvalue)
{
	char	*body;

	log_debug("%s: %d: %s", __func__, status, message);
	if (api == CACHE_API_TURBO)
		body = xfer_turbo_error(xfer_turbo_code(status), message);
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
void
xfer_fail(struct xfer *x, int status, const char *message)
{
	if (x->conn != NULL)
		xfer_error_reply(x->conn, x->api, status, message, NULL, NULL);
	xfer_detach(x);
}

/* Redis is down (or refused us): 503 with the reason. */
void
xfer_unavailable(struct xfer *x, struct rconn *rc)
{
	char	*msg;

	if (rconn_error(rc) != NULL)
		xasprintf(&msg, "the cache's Redis refused the connection: %s",
		    rconn_error(rc));
	else
		xasprintf(&msg, "the cache's Redis is unreachable");
	xfer_fail(x, 503, msg);
	free(msg);
}
