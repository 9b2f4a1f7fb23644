/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Redis key and channel names: the only place they are built. keys_init()
 * formats the fixed names of a run once into struct keys; the per-agent
 * and per-attempt names are formatted on demand. Callers hold const
 * char * and never format a key themselves.
 *
 * Key layout of run RUN. Every name starts "dteq:{RUN}:"; the hash tag
 * puts a whole run in one Redis Cluster slot, so one script may touch any
 * of its keys (script.c). TTL rule: every key of a run expires, and each
 * write of a key sets its expiry in the same command or script. "run
 * TTL" is the run's --ttl (DEFAULT_TTL, 24 h, recorded in meta); "lease"
 * is the heartbeat lease (DEFAULT_LEASE), renewed while the writer lives.
 *
 *	key		type	written by			TTL
 *	meta		hash	submit: state, lease, ttl,	run TTL
 *				output cap, creation time
 *	queue		list	submit pushes ready task	run TTL
 *				messages (and reclaimed ones);
 *				agents BLMOVE them out; release
 *				script puts an agent's back
 *	attempts	hash	submit: task id -> current	run TTL
 *				attempt, on each dispatch;
 *				reclaim script bumps it when
 *				it takes a lost agent's task
 *	claims		hash	mirrors attempts (dispatch,	run TTL
 *				reclaim and fail-fast write	(set by
 *				both): id -> "N" while attempt	dispatch)
 *				N is unclaimed; the start
 *				script makes it "N AGENT", so
 *				one attempt runs only once, and
 *				the finish script records a
 *				result only while it says so
 *	results		hash	finish script (agent), once	run TTL
 *				per current attempt; submit	(renewed
 *				(skipped, lost): id -> JSON	by the
 *								agents'
 *								finishes,
 *								once a
 *								second)
 *	staged		hash	submit (stage script): id ->	run TTL
 *				side, attempt and message of
 *				a task whose dependencies are
 *				in flight or staged; the finish
 *				script pushes it onto the
 *				queue when the last succeeds
 *				(side in lower case: one left)
 *	waiting		hash	stage script: staged id ->	run TTL
 *				dependencies not yet done, when
 *				more than one; finish script
 *				counts down
 *	waiters		hash	stage script: id -> the staged	run TTL
 *				ids waiting for it ("\nA\nB\n")
 *	agents		set	agent adds itself on joining;	run TTL
 *				reclaim script removes the dead
 *	events		channel	agents publish started,		none: a
 *				finished (with the next	channel is
 *				task's start when one step	not a key
 *				did both), log; submit
 *				listens; stop too; a wake-up,
 *				never the record
 *	control		channel	what agents listen to: run	none
 *				(a submit began) and stop,
 *				so an agent never decodes
 *				the events of other agents'
 *				tasks
 *	stop		string	submit: deleted at start, set	run TTL
 *				when the run ends or is
 *				cancelled
 *	main		string	submit, while it is alive	lease
 *	hb:AGENT	string	the agent, while it is alive	lease
 *				(value: tasks it runs)
 *	running:AGENT	list	the agent's BLMOVE target,	run TTL
 *				and the finish script's next	(set by
 *				pop; finish script LREMs;	start
 *				reclaim script takes it once	after a
 *				hb:AGENT expired		BLMOVE,
 *								renewed
 *								by the
 *								heartbeat)
 *	log:ATT:ID	string	log script (agent) APPENDs	run TTL
 *				output of the current attempt
 *				ATT of task ID, capped at the
 *				run's output cap
 *	records		hash	dteq record (main job): id ->	run TTL
 *				result JSON of its latest
 *				recording, as in results;
 *				submit reads it at the end
 *				for its summary and reports
 *
 * Outside any run, one key per workspace (producer/sched.c):
 *
 *	dteq:history:WS	hash	submit: task id -> duration	30 days,
 *				in ms (moving average over	renewed on
 *				runs); read at the start of	each write
 *				each submit to order the queue
 */

#include <stdlib.h>
#include <string.h>

#include "dteq.h"

/* Format prefix + name into a new string. Caller frees. */
static char *
keys_make(const char *prefix, const char *name)
{
	char	*s;

	xasprintf(&s, "%s%s", prefix, name);
	return (s);
}

/* Build every fixed key name of run (already validated) into *k. */
void
keys_init(struct keys *k, const char *run)
{
	memset(k, 0, sizeof *k);
	k->run = xstrdup(run);
	xasprintf(&k->prefix, "dteq:{%s}:", run);
	k->meta = keys_make(k->prefix, "meta");
	k->queue = keys_make(k->prefix, "queue");
	k->attempts = keys_make(k->prefix, "attempts");
	k->claims = keys_make(k->prefix, "claims");
	k->results = keys_make(k->prefix, "results");
	k->staged = keys_make(k->prefix, "staged");
	k->waiting = keys_make(k->prefix, "waiting");
	k->waiters = keys_make(k->prefix, "waiters");
	k->agents = keys_make(k->prefix, "agents");
	k->events = keys_make(k->prefix, "events");
	k->control = keys_make(k->prefix, "control");
	k->stop = keys_make(k->prefix, "stop");
	k->main_hb = keys_make(k->prefix, "main");
	k->hb_prefix = keys_make(k->prefix, "hb:");
	k->running_prefix = keys_make(k->prefix, "running:");
	k->log_prefix = keys_make(k->prefix, "log:");
	k->records = keys_make(k->prefix, "records");
}

/* Free the names in *k and zero it; safe on a zeroed struct. */
void
keys_free(struct keys *k)
{
	free(k->run);
	free(k->prefix);
	free(k->meta);
	free(k->queue);
	free(k->attempts);
	free(k->claims);
	free(k->results);
	free(k->staged);
	free(k->waiting);
	free(k->waiters);
	free(k->agents);
	free(k->events);
	free(k->control);
	free(k->stop);
	free(k->main_hb);
	free(k->hb_prefix);
	free(k->running_prefix);
	free(k->log_prefix);
	free(k->records);
	memset(k, 0, sizeof *k);
}

/* The running list of an agent. Caller frees. */
char *
keys_running(const struct keys *k, const char *agent)
{
	return (keys_make(k->running_prefix, agent));
}

/* The heartbeat key of an agent. Caller frees. */
char *
keys_hb(const struct keys *k, const char *agent)
{
	return (keys_make(k->hb_prefix, agent));
}

/* The log of one attempt of a task: log:ATTEMPT:ID. Caller frees. */
char *
keys_log(const struct keys *k, const char *id, int attempt)
{
	size_t	 plen = strlen(k->log_prefix), idlen = strlen(id), n;
	char	*s;

	/* By hand, not printf: an agent makes one per task. */
	s = xmalloc(plen + 21 + 1 + idlen + 1);
	memcpy(s, k->log_prefix, plen);
	n = plen;
	if (attempt < 0)
		s[n++] = '-';
	n += util_u64_dec(s + n, attempt < 0 ? -(uint64_t)attempt :
	    (uint64_t)attempt);
	s[n++] = ':';
	memcpy(s + n, id, idlen + 1);
	return (s);
}

/*
 * The duration history of workspace ws (sched.c): not a run's key, so it
 * has no {RUN} tag and outlives the runs. Caller frees.
 */
char		*keys_history(const char *);	/* also in producer.h */

char *
keys_history(const char *ws)
{
	return (keys_make("dteq:history:", ws));
}
