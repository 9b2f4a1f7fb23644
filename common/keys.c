/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Redis key and channel names: the only place they are built. keys_init()
 * formats the fixed names of a run once into struct keys; the per-agent
 * and per-attempt names are formatted on demand. Callers hold const
 * char * and never format a key themselves.
 *
 * Key layout of run RUN. Every name starts "dteq:{TAG}:", TAG being the
 * run id, or "RUN@H" when the run belongs to a repository (runid_repo():
 * H is its name's digest, keys_init()), so that the runs of two
 * repositories with one run id never meet; the hash tag
 * puts a whole run in one Redis Cluster slot, so one script may touch any
 * of its keys (script.c, script_agent.c, script_submit.c). TTL rule:
 * every key of a run expires. A script sets the TTL of what it writes;
 * submit's and dteq record's own writes are each followed by an EXPIRE;
 * the agents' HINCRBY rejected and HSET refused:NAME on meta and
 * fail-fast's HSETs of attempts and claims count on the TTL the key has.
 * "run TTL" is meta's ttl: submit writes DEFAULT_TTL (24 h; no option
 * changes it), and agents, the stop script and dteq record read it
 * (else DEFAULT_TTL). "lease" is --lease (DEFAULT_LEASE, 15 s, in meta),
 * "main lease" --main-lease (DEFAULT_MAIN_LEASE, 30 s).
 *
 *	key		type	written by			TTL
 *	meta		hash	submit: state, lease, ttl,	run TTL
 *				output_cap, created, stream,	(register,
 *				commit, signed, sigcheck,	stop script,
 *				tasks, parallel, protocol,	kept agents)
 *				version, run, repo, digest,
 *				main_job; gen on a re-run; the
 *				stop script: state and ended
 *				(submit's end, dteq cancel);
 *				agents: rejected (a count),
 *				refused:NAME (why),
 *				slots:NAME (its parallel, as
 *				it joins: the reports' lanes)
 *	queue		list	submit pushes ready task	run TTL
 *				messages (dispatch and stage
 *				scripts); the finish script
 *				pushes released ones; agents
 *				BLMOVE them out; defer and
 *				release scripts put an agent's
 *				back; a re-run and fail-fast
 *				delete it
 *	attempts	hash	task id -> current attempt:	run TTL
 *				dispatch and stage scripts;
 *				the reclaim script and
 *				fail-fast bump it to fence a
 *				message they take back; dteq
 *				record (HINCRBY)
 *	claims		hash	mirrors attempts (dispatch,	run TTL
 *				stage, reclaim and fail-fast	(set by
 *				write both): id -> "N" while	dispatch
 *				attempt N is unclaimed; the	and stage)
 *				start script, or the finish
 *				script claiming the next task,
 *				makes it "N AGENT", so one
 *				attempt runs only once, and
 *				the finish script records a
 *				result only while it says so;
 *				unclaim gives a claim back
 *	results		hash	finish script (agent), once	run TTL
 *				per current attempt; submit	(renewed
 *				(skipped, finally lost); dteq	by an
 *				record: id -> JSON; a re-run	agent's
 *				deletes it			finishes
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
 *	agents		set	agent adds itself on joining	run TTL
 *				(heartbeat script) and removes	(renewed
 *				itself on leaving; reclaim	by the
 *				script removes the dead		heartbeat)
 *	events		channel	agents publish started,		none: a
 *				finished (with the next		channel is
 *				task's start when one step	not a key
 *				did both), log; the stop
 *				script publishes stop; dteq
 *				record publishes finished;
 *				submit listens; a wake-up,
 *				never the record
 *	control		channel	what agents listen to: run	none
 *				(a submit began) and stop (the
 *				stop script), so an agent
 *				never decodes the events of
 *				other agents' tasks
 *	stop		string	the stop script (script.c):	run TTL
 *				submit's end (done, cancelled,
 *				aborted), dteq stop (done),
 *				dteq cancel (cancelled, only
 *				if unset and meta exists); a
 *				re-run of the run deletes it
 *	main		string	submit, while it is alive:	main lease
 *				its main job's name (claimed	(kept
 *				by the register script),
 *				renewed each second, deleted
 *				by its stop script, left for	agents:
 *				a later submit when agents	max(main
 *				are kept ("kept")		lease,
 *								--agent-
 *								wait))
 *	seen		string	submit, with main: the wall	run TTL
 *				ms of its last heartbeat, so
 *				status says since when a run
 *				whose main job is gone was
 *				abandoned; SET ... GET: an
 *				older value read back is
 *				Redis gone back in time
 *	hb:AGENT	string	the agent, while it is alive	lease
 *				(value: tasks it holds)
 *	running:AGENT	list	the agent's BLMOVE target,	run TTL
 *				and the finish script's next	(set by
 *				pop; start and finish scripts	start
 *				LREM; the defer and release	after a
 *				scripts and a rejected		BLMOVE,
 *				message's LREM take from it;	by finish,
 *				reclaim script takes it once	renewed
 *				hb:AGENT expired		by the
 *								heartbeat)
 *	log:ATT:ID	string	log script (agent) APPENDs	run TTL
 *				output of the current attempt
 *				ATT of task ID, capped at the
 *				run's output cap; dteq record
 *				SETs a recorded command's
 *				output
 *	records		hash	dteq record (main job): id ->	run TTL
 *				result JSON of its latest
 *				recording, as in results;
 *				submit reads it at the end
 *				for its summary and reports
 *
 * Outside any run, one key per workspace (producer/history.c):
 *
 *	dteq:history:WS	hash	submit: task id -> duration	30 days,
 *				in ms (moving average over	renewed by
 *				runs); read at the start of	each submit
 *				each submit to order the queue	that writes
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

/* Build every fixed name of the run whose hash tag is k->tag. */
static void
keys_build(struct keys *k)
{
	xasprintf(&k->prefix, "dteq:{%s}:", k->tag);
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
	k->seen = keys_make(k->prefix, "seen");
	k->hb_prefix = keys_make(k->prefix, "hb:");
	k->running_prefix = keys_make(k->prefix, "running:");
	k->log_prefix = keys_make(k->prefix, "log:");
	k->records = keys_make(k->prefix, "records");
}

/*
 * Build every fixed key name of run (already validated) of repository
 * repo (NULL: none) into *k. The tag is RUN alone, or RUN@H with H the
 * first KEYS_REPO_HEX hex digits of the SHA-1 of the repository's name:
 * '@' is not allowed in a run id, so no run id is another's tag.
 */
void
keys_init(struct keys *k, const char *run, const char *repo)
{
	char	hex[41];

	memset(k, 0, sizeof *k);
	k->run = xstrdup(run);
	if (repo != NULL) {
		k->repo = xstrdup(repo);
		util_sha1_hex(repo, strlen(repo), hex);
		xasprintf(&k->tag, "%s@%.*s", run, KEYS_REPO_HEX, hex);
	} else
		k->tag = xstrdup(run);
	keys_build(k);
}

/*
 * The keys of the run whose hash tag is tag (as found on the server by
 * status --list): the run id is what precedes '@'; the repository's
 * name is not known (the meta's repo field has it).
 */
void
keys_init_tag(struct keys *k, const char *tag)
{
	memset(k, 0, sizeof *k);
	k->tag = xstrdup(tag);
	k->run = xstrndup(tag, strcspn(tag, "@"));
	keys_build(k);
}

/* Free the names in *k and zero it; safe on a zeroed struct. */
void
keys_free(struct keys *k)
{
	free(k->run);
	free(k->repo);
	free(k->tag);
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
	free(k->seen);
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
