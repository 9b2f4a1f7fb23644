/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The durable result of one attempt and the events announced on the run's
 * channel. A result is a JSON object stored in the run's results hash:
 *
 *	{"id": ID, "status": "success", "exit": 0, "attempt": 1,
 *	 "agent": NAME, "start": MS, "end": MS, "duration": MS,
 *	 "output": BYTES, "reason": TEXT, "cached": true}
 *
 * agent, reason and cached appear only when set; cached marks the success
 * of a task submit found in the remote cache and did not run (no agent;
 * attempt 0 unless the task ran in an earlier attempt of the run).
 *
 * Events are JSON objects with a "type": "started" (id, attempt, agent,
 * start), "finished" (result: the stored result object, verbatim; and
 * next: what the "started" event of the task its agent claimed in the
 * same step would hold, when it did),
 * "stop" (reason), "agent" (agent: one joined), "run" (a run began) and
 * "log" (id, attempt, offset, length: where a new output chunk lies in
 * the attempt's log, sent only when the run streams output; the reader
 * fetches the bytes itself, so a slow reader never fills a pub/sub
 * buffer).
 */

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "dteq.h"

static const char *result_names[RESULT_NSTATUS] = {
	"success", "failed", "timeout", "skipped", "lost", "cancelled"
};

static const char *event_names[] = {
	"started", "finished", "stop", "agent", "run", "log"
};

/* The wire name of a status. */
const char *
result_status_name(int status)
{
	if (status < 0 || status >= RESULT_NSTATUS)
		return ("unknown");
	return (result_names[status]);
}

/* The status of a wire name, or -1. */
int
result_status_from_name(const char *name)
{
	int	i;

	for (i = 0; i < RESULT_NSTATUS; i++) {
		if (strcmp(result_names[i], name) == 0)
			return (i);
	}
	return (-1);
}

/* Print o unformatted into a string the caller frees; deletes o. */
static char *
result_print(cJSON *o, size_t *len)
{
	char	*s, *out;

	if ((s = cJSON_PrintUnformatted(o)) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_Delete(o);
	out = xstrdup(s);
	cJSON_free(s);
	if (len != NULL)
		*len = strlen(out);
	return (out);
}

/* Append len bytes to *p. */
static void
result_put(char **p, const char *s, size_t len)
{
	memcpy(*p, s, len);
	*p += len;
}

/* Append a number. */
static void
result_put_u64(char **p, uint64_t v)
{
	*p += util_u64_dec(*p, v);
}

/* Append the JSON string of s, escaped, in quotes. */
static void
result_put_str(char **p, const char *s)
{
	*(*p)++ = '"';
	*p += util_json_escape_into(*p, (const unsigned char *)s, strlen(s));
	*(*p)++ = '"';
}

/*
 * Encode a result. Caller frees. Written by hand, not through cJSON (which
 * prints each number with snprintf("%1.15g") and reads it back with
 * sscanf to check it) nor printf: an agent encodes one per task. One
 * pass measures the escaped strings, the second writes into one
 * allocation.
 */
char *
result_encode(const struct result *r, size_t *len)
{
	const char	*id = r->id != NULL ? r->id : "";
	const char	*status = result_status_name(r->status);
	char		*out, *p;
	size_t		 need;

	/* Fixed text and numbers (at most 20 digits and a sign each). */
	need = 160 + 6 * 21 + strlen(status);
	need += util_json_escape_into(NULL, (const unsigned char *)id,
	    strlen(id));
	if (r->agent != NULL)
		need += util_json_escape_into(NULL,
		    (const unsigned char *)r->agent, strlen(r->agent));
	if (r->reason != NULL)
		need += util_json_escape_into(NULL,
		    (const unsigned char *)r->reason, strlen(r->reason));
	p = out = xmalloc(need);

#define PUTS(lit) result_put(&p, lit, sizeof lit - 1)
	PUTS("{\"id\":");
	result_put_str(&p, id);
	PUTS(",\"status\":\"");
	result_put(&p, status, strlen(status));
	PUTS("\",\"exit\":");
	if (r->exit_code < 0) {
		*p++ = '-';
		result_put_u64(&p, (uint64_t)-(int64_t)r->exit_code);
	} else
		result_put_u64(&p, (uint64_t)r->exit_code);
	PUTS(",\"attempt\":");
	if (r->attempt < 0) {
		*p++ = '-';
		result_put_u64(&p, (uint64_t)-(int64_t)r->attempt);
	} else
		result_put_u64(&p, (uint64_t)r->attempt);
	if (r->agent != NULL) {
		PUTS(",\"agent\":");
		result_put_str(&p, r->agent);
	}
	PUTS(",\"start\":");
	result_put_u64(&p, r->start_ms);
	PUTS(",\"end\":");
	result_put_u64(&p, r->end_ms);
	PUTS(",\"duration\":");
	result_put_u64(&p, r->duration_ms);
	PUTS(",\"output\":");
	result_put_u64(&p, r->output_bytes);
	if (r->reason != NULL) {
		PUTS(",\"reason\":");
		result_put_str(&p, r->reason);
	}
	if (r->cached)
		PUTS(",\"cached\":true");
	PUTS("}");
#undef PUTS
	*p = '\0';
	if (len != NULL)
		*len = (size_t)(p - out);
	return (out);
}

/* A non-negative number member, or 0 when absent or malformed. */
static uint64_t
result_u64(const struct json_obj *o, const char *name)
{
	double	d;

	if (json_number(json_get(o, name), &d) != 0 || d < 0 ||
	    d > 9007199254740992.0)
		return (0);
	return ((uint64_t)d);
}

/* A number member as an int, saturated (as cJSON's valueint); or 0. */
static int
result_int(const struct json_obj *o, const char *name)
{
	double	d;

	if (json_number(json_get(o, name), &d) != 0)
		return (0);
	if (d >= INT_MAX)
		return (INT_MAX);
	if (d <= INT_MIN)
		return (INT_MIN);
	return ((int)d);
}

/*
 * Decode a stored result (or the one inside a finished event). Submit
 * decodes one per task: json.c reads it in place.
 */
int
result_decode(const char *buf, size_t len, struct result *r, char **cause)
{
	struct json_obj		 o;
	const struct json_val	*v;
	int			 i;

	memset(r, 0, sizeof *r);
	if (json_object(buf, len, &o, cause) != 0) {
		free(*cause);
		xasprintf(cause, "result is not an object");
		return (-1);
	}
	r->id = json_string(json_get(&o, "id"));
	if (r->id == NULL || *r->id == '\0') {
		xasprintf(cause, "result has no id");
		goto fail;
	}
	v = json_get(&o, "status");
	r->status = -1;
	for (i = 0; i < RESULT_NSTATUS; i++) {
		if (json_string_eq(v, result_names[i]))
			r->status = i;
	}
	if (r->status == -1) {
		xasprintf(cause, "result for \"%s\" has no valid status",
		    r->id);
		goto fail;
	}
	r->exit_code = result_int(&o, "exit");
	r->attempt = (int)result_u64(&o, "attempt");
	r->agent = json_string(json_get(&o, "agent"));
	r->start_ms = result_u64(&o, "start");
	r->end_ms = result_u64(&o, "end");
	r->duration_ms = result_u64(&o, "duration");
	r->output_bytes = result_u64(&o, "output");
	r->reason = json_string(json_get(&o, "reason"));
	v = json_get(&o, "cached");
	r->cached = v != NULL && v->type == JSON_TRUE;
	json_obj_free(&o);
	return (0);

fail:
	json_obj_free(&o);
	result_clear(r);
	return (-1);
}

/* Copy src into dst (deep). */
void
result_copy(struct result *dst, const struct result *src)
{
	*dst = *src;
	dst->id = src->id != NULL ? xstrdup(src->id) : NULL;
	dst->agent = src->agent != NULL ? xstrdup(src->agent) : NULL;
	dst->reason = src->reason != NULL ? xstrdup(src->reason) : NULL;
}

/* Free what r holds; r is left zeroed. */
void
result_clear(struct result *r)
{
	free(r->id);
	free(r->agent);
	free(r->reason);
	memset(r, 0, sizeof *r);
}

/* Encode a "started" event. Caller frees. */
char *
event_encode_started(const char *id, int attempt, const char *agent,
    uint64_t start, size_t *len)
{
	cJSON	*o;

	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "started");
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddNumberToObject(o, "attempt", attempt);
	cJSON_AddStringToObject(o, "agent", agent);
	cJSON_AddNumberToObject(o, "start", (double)start);
	return (result_print(o, len));
}

/* Encode a "stop" event. Caller frees. */
char *
event_encode_stop(const char *reason, size_t *len)
{
	cJSON	*o;

	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "stop");
	cJSON_AddStringToObject(o, "reason", reason);
	return (result_print(o, len));
}

/* Encode an "agent" or "run" event naming who. Caller frees. */
char *
event_encode_simple(int type, const char *who, size_t *len)
{
	cJSON	*o;

	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", event_names[type]);
	if (who != NULL)
		cJSON_AddStringToObject(o, "agent", who);
	return (result_print(o, len));
}

/* Decode an event from the channel. */
int
event_decode(const char *buf, size_t len, struct event_msg *e, char **cause)
{
	struct json_obj		 o, next;
	const struct json_val	*v;
	size_t			 i;

	memset(e, 0, sizeof *e);
	if (json_object(buf, len, &o, cause) != 0) {
		free(*cause);
		xasprintf(cause, "event is not a JSON object");
		return (-1);
	}
	v = json_get(&o, "type");
	e->type = -1;
	for (i = 0; i < sizeof event_names / sizeof event_names[0]; i++) {
		if (json_string_eq(v, event_names[i]))
			e->type = (int)i;
	}
	if (e->type == -1) {
		xasprintf(cause, "event has no known type");
		goto fail;
	}
	e->id = json_string(json_get(&o, "id"));
	e->agent = json_string(json_get(&o, "agent"));
	e->reason = json_string(json_get(&o, "reason"));
	e->attempt = (int)result_u64(&o, "attempt");
	if (e->type == EVENT_FINISHED) {
		v = json_get(&o, "result");
		if (v == NULL || v->type != JSON_OBJECT) {
			xasprintf(cause, "result is not an object");
			goto fail;
		}
		if (result_decode(v->p, v->len, &e->result, cause) != 0)
			goto fail;
	}
	v = json_get(&o, "next");
	if (e->type == EVENT_FINISHED && v != NULL &&
	    v->type == JSON_OBJECT) {
		if (json_object(v->p, v->len, &next, cause) != 0)
			goto fail;	/* checked already: cannot happen */
		e->next_id = json_string(json_get(&next, "id"));
		e->next_agent = json_string(json_get(&next, "agent"));
		e->next_attempt = (int)result_u64(&next, "attempt");
		json_obj_free(&next);
		if (e->next_id == NULL) {
			xasprintf(cause, "finished event's next has no id");
			goto fail;
		}
	}
	if (e->type == EVENT_LOG) {
		v = json_get(&o, "length");
		if (e->id == NULL || v == NULL || v->type != JSON_NUMBER) {
			xasprintf(cause, "log event without id or length");
			goto fail;
		}
		e->offset = result_u64(&o, "offset");
		e->length = result_u64(&o, "length");
	}
	if (e->type == EVENT_STARTED && e->id == NULL) {
		xasprintf(cause, "started event has no id");
		goto fail;
	}
	json_obj_free(&o);
	return (0);

fail:
	json_obj_free(&o);
	event_clear(e);
	return (-1);
}

/* Free what e holds. */
void
event_clear(struct event_msg *e)
{
	free(e->id);
	free(e->agent);
	free(e->reason);
	free(e->next_id);
	free(e->next_agent);
	result_clear(&e->result);
	memset(e, 0, sizeof *e);
}
