/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Submit's side of `dteq record` (cmd/record.c): once the run is over,
 * record_collect() reads the commands recorded in the main job from the
 * run's records hash, with the end of each one's output, into the report
 * state, so that the summary and the --json, --junit and --report files
 * show them apart from the graph's tasks; and the slots each agent
 * offered (slots:NAME in the meta hash, written as it joins), so the
 * timeline has a lane for each, used or not.
 */

#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "producer.h"

#define RECORD_TAIL_BYTES	16384	/* output submit keeps per record */

/* Keep the slots:NAME fields of the meta hash (HGETALL) in r->slots. */
static void
record_slots(struct report *r, const redisReply *meta)
{
	const redisReply *f, *v;
	const char	*errstr;
	long long	 n;
	size_t		 k;

	for (k = 0; k + 1 < meta->elements; k += 2) {
		f = meta->element[k];
		v = meta->element[k + 1];
		if (f->type != REDIS_REPLY_STRING ||
		    v->type != REDIS_REPLY_STRING ||
		    strncmp(f->str, "slots:", 6) != 0 || f->len == 6)
			continue;
		n = util_strtonum(v->str, 1, 1024, &errstr);
		if (errstr != NULL)
			continue;
		r->slots = xreallocarray(r->slots, r->nslots + 1,
		    sizeof *r->slots);
		r->slots[r->nslots].agent = xstrdup(f->str + 6);
		r->slots[r->nslots++].slots = (int)n;
	}
}

/* Order records by start time, then id. */
static int
record_cmp(const void *a, const void *b)
{
	const struct rrecord	*x = a, *y = b;

	if (x->result.start_ms != y->result.start_ms)
		return (x->result.start_ms < y->result.start_ms ? -1 : 1);
	return (strcmp(x->result.id, y->result.id));
}

/* Keep one entry of the records hash, unless it is bad or too old. */
static void
record_add(struct submit *s, struct report *r, const redisReply *field,
    const redisReply *value)
{
	struct rrecord	*rec;
	struct result	 res;
	char		*cause;

	if (field->type != REDIS_REPLY_STRING ||
	    value->type != REDIS_REPLY_STRING)
		return;
	if (result_decode(value->str, value->len, &res, &cause) != 0) {
		log_warnx("recorded command \"%s\": %s", field->str, cause);
		free(cause);
		return;
	}
	if (res.start_ms < s->records_since) {
		log_debug("%s: %s is of an earlier attempt of the run",
		    __func__, res.id);
		result_clear(&res);
		return;
	}
	r->records = xreallocarray(r->records, r->nrecords + 1,
	    sizeof *r->records);
	rec = &r->records[r->nrecords++];
	memset(rec, 0, sizeof *rec);
	rec->result = res;
	if (res.status != RESULT_SUCCESS)
		r->nrecfailed++;
}

/*
 * Read the end of each record's log, pipelined: the last
 * RECORD_TAIL_BYTES, from a line start when the log is longer.
 */
static void
record_tails(struct submit *s, struct report *r, redisContext *c)
{
	struct rrecord	*rec;
	redisReply	*reply;
	const char	*p, *end;
	char		*key;
	size_t		 k;

	for (k = 0; k < r->nrecords; k++) {
		rec = &r->records[k];
		key = keys_log(&s->keys, rec->result.id, rec->result.attempt);
		redisAppendCommand(c, "GETRANGE %s -%d -1", key,
		    RECORD_TAIL_BYTES);
		free(key);
	}
	for (k = 0; k < r->nrecords; k++) {
		rec = &r->records[k];
		if (redisGetReply(c, (void **)&reply) != REDIS_OK) {
			log_warnx("output of the recorded commands not read: "
			    "%s", c->errstr);
			return;
		}
		if (reply->type == REDIS_REPLY_STRING && reply->len > 0) {
			p = reply->str;
			end = p + reply->len;
			if (rec->result.output_bytes > reply->len &&
			    reply->len >= RECORD_TAIL_BYTES &&
			    (p = memchr(p, '\n', reply->len)) != NULL)
				p++;
			if (p == NULL || p == end)
				p = reply->str;
			rec->taillen = (size_t)(end - p);
			rec->tail = xstrndup(p, rec->taillen);
		}
		freeReplyObject(reply);
	}
}

/*
 * Submit, once the run is over: read the commands recorded in the run
 * (the records hash) and the end of their output into the report state.
 * Read at the end, the hash holds those recorded before or during this
 * submit; a re-run leaves out those of the run's earlier attempt
 * (s->records_since). Not reading them is a warning: the summary of the
 * tasks stands without them.
 */
void
record_collect(struct submit *s)
{
	struct report	*r = s->report;
	redisContext	*c;
	redisReply	*reply;
	char		*cause;
	size_t		 k;
	int		 wait;

	if (r == NULL)
		return;
	/* Redis that just went away is not waited for again. */
	wait = s->abort_reason != NULL || s->stop_pending != NULL ? 0 :
	    s->o->cli.connect_timeout;
	if ((c = rconn_sync_connect(&s->url, wait, &cause)) == NULL) {
		log_warnx("recorded commands not read: %s", cause);
		free(cause);
		return;
	}
	reply = redisCommand(c, "HGETALL %s", s->keys.records);
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
		log_warnx("recorded commands not read: %s", reply == NULL ?
		    c->errstr : reply->type == REDIS_REPLY_ERROR ? reply->str :
		    "not a hash");
		goto out;
	}
	for (k = 0; k + 1 < reply->elements; k += 2)
		record_add(s, r, reply->element[k], reply->element[k + 1]);
	if (r->nrecords > 0) {
		qsort(r->records, r->nrecords, sizeof *r->records, record_cmp);
		record_tails(s, r, c);
	}
	log_debug("%s: %zu recorded commands, %zu failed", __func__,
	    r->nrecords, r->nrecfailed);
	freeReplyObject(reply);
	reply = redisCommand(c, "HGETALL %s", s->keys.meta);
	if (reply != NULL && reply->type == REDIS_REPLY_ARRAY)
		record_slots(r, reply);
out:
	if (reply != NULL)
		freeReplyObject(reply);
	redisFree(c);
}
