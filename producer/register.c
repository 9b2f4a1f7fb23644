/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Registering a submit with its run, on one synchronous connection before
 * the event loop starts. Three cases:
 *
 * - a new run: write the meta hash (settings, commit, signing check).
 * - a run that already ended (its stop sentinel is set): a re-run of the
 *   pipeline. Start a new attempt of the run: bump meta's "gen", drop the
 *   old results and claims, clear the sentinel; attempt numbers go on
 *   counting, so every old message is stale. Commands recorded before
 *   the old attempt ended stay out of this one's summary.
 * - a run still open (a submit restarted after it died, or a later submit
 *   of a multi-submit run): resume. Tasks whose current attempt has a
 *   final result stay finished; tasks in flight are followed, and those
 *   whose message is nowhere (not queued, not held) are dispatched again.
 */

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "producer.h"

/*
 * A main heartbeat not renewed for this long is a dead main job's (a
 * submit renews it every second).
 */
#define REGISTER_DEAD_MS	3000

/* Tries at registering when the connection is lost on the way. */
#define REGISTER_TRIES	5

/*
 * A command on the way failed (rconn_sync_command() said why in *cause):
 * say that registering failed. Returns -1.
 */
static int
register_failed(char **cause)
{
	char	*why = *cause;

	xasprintf(cause, "registering the run failed: %s", why);
	free(why);
	return (-1);
}

/*
 * HMGET key for every task id, 1000 at a time; fn is called for each
 * task whose field exists.
 */
static int
register_hmget(struct submit *s, redisContext *c, const char *key,
    void (*fn)(struct submit *, size_t, const char *, size_t), char **cause)
{
	redisReply	*reply;
	const char	**argv;
	size_t		*lens, i, j, n = graph_size(s->g), chunk;
	int		 rv = 0;

	argv = xcalloc(1002, sizeof *argv);
	lens = xcalloc(1002, sizeof *lens);
	for (i = 0; i < n && rv == 0; i += chunk) {
		chunk = n - i > 1000 ? 1000 : n - i;
		argv[0] = "HMGET";
		argv[1] = key;
		for (j = 0; j < chunk; j++)
			argv[2 + j] = graph_node(s->g, i + j)->task->id;
		for (j = 0; j < chunk + 2; j++)
			lens[j] = strlen(argv[j]);
		reply = redisCommandArgv(c, (int)chunk + 2, argv, lens);
		if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
			xasprintf(cause, "reading %s failed: %s", key,
			    reply == NULL ? c->errstr :
			    reply->type == REDIS_REPLY_ERROR ? reply->str :
			    "unexpected reply");
			rv = -1;
		} else {
			for (j = 0; j < chunk && j < reply->elements; j++) {
				if (reply->element[j]->type ==
				    REDIS_REPLY_STRING)
					fn(s, i + j, reply->element[j]->str,
					    reply->element[j]->len);
			}
		}
		if (reply != NULL)
			freeReplyObject(reply);
	}
	free(argv);
	free(lens);
	return (rv);
}

/* An attempt number stored for task i. */
static void
register_attempt(struct submit *s, size_t i, const char *v, size_t len)
{
	const char	*errstr;

	(void)len;
	s->pt[i].attempt = (int)util_strtonum(v, 0, 1000000, &errstr);
}

/*
 * A result stored for task i: final if it is for the current attempt,
 * unless the agent lost it or it was cancelled. A run open to a resume
 * was not cancelled (its stop sentinel would be set), so a cancelled
 * attempt is one its agent killed when the main job stopped responding:
 * not the task's doing, so it runs again, as a new attempt, as in a
 * re-run after a cancel.
 */
static void
register_result(struct submit *s, size_t i, const char *v, size_t len)
{
	struct ptask	*p = &s->pt[i];
	struct result	 r;
	char		*cause;

	if (result_decode(v, len, &r, &cause) != 0) {
		free(cause);
		return;
	}
	if (r.attempt == p->attempt && r.status != RESULT_LOST &&
	    r.status != RESULT_CANCELLED) {
		result_clear(&p->result);
		p->result = r;
		ptask_set_state(s, i, PT_DONE);
		p->restored = 1;
		return;
	}
	result_clear(&r);
}

/* Note the (id, attempt) of each message in list key as present. */
static int
register_scan_list(struct submit *s, redisContext *c, const char *key,
    char **cause)
{
	redisReply	*reply;
	struct task_msg	 m;
	const char	*json;
	size_t		 k, jsonlen, i;
	char		*why;

	if ((reply = rconn_sync_command(c, cause, "LRANGE %s 0 -1",
	    key)) == NULL)
		return (register_failed(cause));
	for (k = 0; reply->type == REDIS_REPLY_ARRAY && k < reply->elements;
	    k++) {
		json = sign_payload(reply->element[k]->str,
		    reply->element[k]->len, &jsonlen);
		if (task_msg_decode(json, jsonlen, &m, &why) != 0) {
			free(why);
			continue;
		}
		i = graph_find(s->g, m.id);
		if (i != GRAPH_NONE && m.attempt == s->pt[i].attempt)
			s->pt[i].present = 1;
		task_msg_clear(&m);
	}
	freeReplyObject(reply);
	return (0);
}

/*
 * Resuming: find the messages of tasks in flight in the queue and the
 * agents' running lists; a task whose message is nowhere is dispatched
 * again when the loop starts.
 */
static int
register_in_flight(struct submit *s, redisContext *c, char **cause)
{
	redisReply	*agents;
	size_t		 i, k, n = graph_size(s->g), inflight = 0;
	char		*key;

	for (i = 0; i < n; i++) {
		if (s->pt[i].state != PT_DONE && s->pt[i].attempt > 0)
			inflight++;
	}
	if (inflight == 0)
		return (0);
	if (register_scan_list(s, c, s->keys.queue, cause) != 0)
		return (-1);
	if ((agents = rconn_sync_command(c, cause, "SMEMBERS %s",
	    s->keys.agents)) == NULL)
		return (register_failed(cause));
	for (k = 0; agents->type == REDIS_REPLY_ARRAY &&
	    k < agents->elements; k++) {
		key = keys_running(&s->keys, agents->element[k]->str);
		if (register_scan_list(s, c, key, cause) != 0) {
			free(key);
			freeReplyObject(agents);
			return (-1);
		}
		free(key);
	}
	freeReplyObject(agents);
	for (i = 0; i < n; i++) {
		if (s->pt[i].state != PT_DONE && s->pt[i].attempt > 0 &&
		    s->pt[i].present)
			ptask_set_state(s, i, PT_QUEUED);
	}
	log_info("resuming run %s: %zu task%s in flight", s->run, inflight,
	    inflight == 1 ? "" : "s");
	return (0);
}

/*
 * Write the main job's first heartbeat, then the run's meta hash in one
 * HSET. Agents join when they see the meta, so by then it is whole and
 * the main job's heartbeat is there (an agent that joined in between
 * would take the run's main job for gone).
 */
static int
register_meta(struct submit *s, redisContext *c, char **cause)
{
	redisReply	*reply;
	char		 cap[32], now[32], *commit, *check;

	if ((reply = rconn_sync_command(c, cause, "SET %s %s PX %d",
	    s->keys.main_hb, s->me, s->o->main_lease * 1000)) == NULL)
		return (register_failed(cause));
	freeReplyObject(reply);
	snprintf(cap, sizeof cap, "%zu", s->o->output_cap);
	snprintf(now, sizeof now, "%llu", (unsigned long long)util_wall_ms());
	commit = util_git_commit();
	check = s->secret != NULL ? sign_check_token(s->secret, s->run) :
	    xstrdup("");
	/* parallel: Nx's --parallel, the agents' limit unless they set
	 * one; 0 (none) is ignored by agents. */
	reply = rconn_sync_command(c, cause, "HSET %s state running lease %d "
	    "ttl %d output_cap %s created %s stream %d commit %s signed %d "
	    "sigcheck %s tasks %lld parallel %d protocol %d version %s "
	    "run %s repo %s digest %s main_job %s",
	    s->keys.meta, s->o->lease, s->o->ttl, cap, now, s->o->stream,
	    commit != NULL ? commit : "", s->secret != NULL, check,
	    (long long)graph_size(s->g), s->tool_parallel, DTEQ_PROTOCOL,
	    DTEQ_VERSION, s->run, s->keys.repo != NULL ? s->keys.repo : "",
	    s->digest, s->me);
	free(commit);
	free(check);
	if (reply == NULL)
		return (register_failed(cause));
	freeReplyObject(reply);
	if ((reply = rconn_sync_command(c, cause, "EXPIRE %s %d", s->keys.meta,
	    s->o->ttl)) == NULL)
		return (register_failed(cause));
	freeReplyObject(reply);
	return (0);
}

/*
 * The refusals and rejections agents left in the meta belong to the
 * attempt that ended: a new one starts without them.
 */
static int
register_forget_refusals(struct submit *s, redisContext *c, char **cause)
{
	redisReply	*keys, *reply;
	size_t		 i;

	if ((keys = rconn_sync_command(c, cause, "HKEYS %s",
	    s->keys.meta)) == NULL)
		return (register_failed(cause));
	for (i = 0; keys->type == REDIS_REPLY_ARRAY && i < keys->elements;
	    i++) {
		if (keys->element[i]->type != REDIS_REPLY_STRING ||
		    (strncmp(keys->element[i]->str, "refused:", 8) != 0 &&
		    strcmp(keys->element[i]->str, "rejected") != 0))
			continue;
		if ((reply = rconn_sync_command(c, cause, "HDEL %s %s",
		    s->keys.meta, keys->element[i]->str)) == NULL) {
			freeReplyObject(keys);
			return (register_failed(cause));
		}
		freeReplyObject(reply);
	}
	freeReplyObject(keys);
	return (0);
}

/*
 * Does this re-run keep the tasks that succeeded in the attempt that
 * ended? When it is a CI's re-run of the pipeline (the run id comes from
 * the CI's variables, not --run or DTEQ_RUN: a retried job) with the same
 * task graph and commit: those tasks are not run again. A re-run under an
 * id given by hand runs everything again (but cache hits).
 */
static int
register_keeps_successes(struct submit *s, redisContext *c)
{
	redisReply	*reply;
	char		*commit;
	int		 keep = 0;

	if (s->o->cli.run != NULL || cli_env("DTEQ_RUN") != NULL)
		return (0);
	reply = rconn_sync_command(c, NULL, "HMGET %s digest commit",
	    s->keys.meta);
	if (reply == NULL)
		return (0);
	commit = util_git_commit();
	if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
	    reply->element[0]->type == REDIS_REPLY_STRING &&
	    strcmp(reply->element[0]->str, s->digest) == 0 &&
	    reply->element[1]->type == REDIS_REPLY_STRING &&
	    strcmp(reply->element[1]->str, commit != NULL ? commit : "") == 0)
		keep = 1;
	free(commit);
	freeReplyObject(reply);
	if (keep)
		log_info("run %s: a re-run of the same tasks at the same "
		    "commit: the tasks that succeeded before are not run "
		    "again", s->run);
	return (keep);
}

/* Drop every result of the attempt that ended but the successes. */
static int
register_drop_unsuccessful(struct submit *s, redisContext *c, char **cause)
{
	redisReply	*all, *reply;
	struct result	 r;
	char		*why;
	size_t		 i;
	int		 drop;

	if ((all = rconn_sync_command(c, cause, "HGETALL %s",
	    s->keys.results)) == NULL)
		return (register_failed(cause));
	for (i = 0; all->type == REDIS_REPLY_ARRAY && i + 1 < all->elements;
	    i += 2) {
		if (all->element[i + 1]->type != REDIS_REPLY_STRING)
			continue;
		if (result_decode(all->element[i + 1]->str,
		    all->element[i + 1]->len, &r, &why) != 0) {
			free(why);
			drop = 1;
		} else {
			drop = r.status != RESULT_SUCCESS;
			result_clear(&r);
		}
		if (!drop)
			continue;
		if ((reply = rconn_sync_command(c, cause, "HDEL %s %s",
		    s->keys.results, all->element[i]->str)) == NULL) {
			freeReplyObject(all);
			return (register_failed(cause));
		}
		freeReplyObject(reply);
	}
	freeReplyObject(all);
	return (0);
}

/* A re-run of an ended run: start a new attempt of the run. */
static int
register_rerun(struct submit *s, redisContext *c, const char *reason,
    char **cause)
{
	redisReply	*reply;
	const char	*errstr;

	/*
	 * Commands recorded (dteq record) before the last attempt ended
	 * belong to it: this attempt's summary leaves them out.
	 */
	if ((reply = rconn_sync_command(c, cause, "HGET %s ended",
	    s->keys.meta)) == NULL)
		return (register_failed(cause));
	if (reply->type == REDIS_REPLY_STRING) {
		s->records_since = (uint64_t)util_strtonum(reply->str, 0,
		    LLONG_MAX, &errstr);
		if (errstr != NULL)
			s->records_since = 0;
	}
	freeReplyObject(reply);
	if ((reply = rconn_sync_command(c, cause, "HINCRBY %s gen 1",
	    s->keys.meta)) == NULL)
		return (register_failed(cause));
	log_info("run %s had ended (%s): starting attempt %lld of the run",
	    s->run, reason, reply->type == REDIS_REPLY_INTEGER ?
	    reply->integer + 1 : 2);
	freeReplyObject(reply);
	if (register_keeps_successes(s, c)) {
		if (register_drop_unsuccessful(s, c, cause) != 0)
			return (-1);
		reply = rconn_sync_command(c, cause, "DEL %s %s %s",
		    s->keys.stop, s->keys.claims, s->keys.queue);
	} else
		reply = rconn_sync_command(c, cause, "DEL %s %s %s %s",
		    s->keys.stop, s->keys.results, s->keys.claims,
		    s->keys.queue);
	if (reply == NULL)
		return (register_failed(cause));
	freeReplyObject(reply);
	return (register_forget_refusals(s, c, cause));
}

/*
 * An open run belongs to the release that started it: a submit speaking
 * another protocol neither resumes it nor joins it (its agents and
 * messages would misread each other). 0 if this one may; -1 with *cause
 * if it may not, or if the question failed.
 */
static int
register_protocol(struct submit *s, redisContext *c, char **cause, int *other)
{
	redisReply	*reply;
	const char	*version = NULL, *errstr;
	long long	 protocol = 1;

	*other = 0;
	if ((reply = rconn_sync_command(c, cause, "HMGET %s protocol version",
	    s->keys.meta)) == NULL)
		return (register_failed(cause));
	if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2) {
		if (reply->element[0]->type == REDIS_REPLY_STRING) {
			protocol = util_strtonum(reply->element[0]->str, 1,
			    INT_MAX, &errstr);
			if (errstr != NULL)
				protocol = 0;
		}
		if (reply->element[1]->type == REDIS_REPLY_STRING)
			version = reply->element[1]->str;
	}
	if (protocol != DTEQ_PROTOCOL) {
		*other = 1;
		xasprintf(cause, "run %s is still open and was started by %s%s "
		    "(protocol %lld); this is dteq %s (protocol %d): finish it "
		    "with the release that started it, or end it with `dteq "
		    "cancel` and submit again", s->run,
		    version != NULL ? "dteq " : "an older dteq",
		    version != NULL ? version : "", protocol, DTEQ_VERSION,
		    DTEQ_PROTOCOL);
	}
	freeReplyObject(reply);
	return (*other ? -1 : 0);
}

/* A wall-clock time in ms as "2026-12-07 10:42:03 UTC". Caller frees. */
static char *
register_when(const char *ms)
{
	const char	*errstr;
	long long	 v;
	time_t		 t;
	struct tm	 tm;
	char		 buf[64];

	v = util_strtonum(ms, 1, LLONG_MAX, &errstr);
	if (errstr != NULL)
		return (xstrdup("an unknown time"));
	t = (time_t)(v / 1000);
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		return (xstrdup("an unknown time"));
	return (xstrdup(buf));
}

/* The string element i of a script's reply, or "". */
static const char *
register_elem(const redisReply *reply, size_t i)
{
	if (reply->type != REDIS_REPLY_ARRAY || i >= reply->elements ||
	    reply->element[i]->type != REDIS_REPLY_STRING)
		return ("");
	return (reply->element[i]->str);
}

/*
 * Claim the run (the register script): become its main job. Another main
 * job that heartbeats holds it: exit 2, nothing written. One whose
 * heartbeat is still there but no longer renewed (it died) is waited for
 * until its heartbeat lapses. An open run whose main job is gone is
 * resumed only with the same task graph (its digest). On success *kind
 * is the script's answer ("new", "resume", "rerun") and *stopped the
 * reason an ended run had (caller frees). -1 with *cause; *other says
 * nothing was written (exit 2).
 */
static int
register_claim(struct submit *s, redisContext *c, char **kind,
    char **stopped, char **cause, int *other)
{
	redisReply	*reply;
	const char	*k;
	char		*when, *dead = NULL;
	long long	 pttl, last = -1;
	uint64_t	 first = 0, now;

	for (;;) {
		reply = script_register_sync(c, &s->keys, s->me, s->digest,
		    s->o->main_lease * 1000, dead, cause);
		free(dead);
		dead = NULL;
		if (reply == NULL)
			return (register_failed(cause));
		k = register_elem(reply, 0);
		if (strcmp(k, "busy") != 0)
			break;
		pttl = reply->elements > 4 && reply->element[4]->type ==
		    REDIS_REPLY_INTEGER ? reply->element[4]->integer : -1;
		if (last >= 0 && pttl > last) {
			/* Renewed: that main job is alive. */
			when = register_when(register_elem(reply, 2));
			xasprintf(cause, "run %s is taken: its main job %s "
			    "started it at %s and is alive; two submits of "
			    "one run at once would mix their tasks and "
			    "results, so this one writes nothing (a "
			    "pipeline's second run needs its own id: --run "
			    "or DTEQ_RUN_ENV)", s->run,
			    register_elem(reply, 1), when);
			free(when);
			freeReplyObject(reply);
			*other = 1;
			return (-1);
		}
		now = util_now_ms();
		if (last < 0) {
			first = now;
			log_info("run %s: its main job %s holds it; waiting "
			    "to see whether it is alive", s->run,
			    register_elem(reply, 1));
		} else if (now - first >= REGISTER_DEAD_MS) {
			/*
			 * Not renewed for that long (a submit renews it
			 * every second): gone. Take the run over if that
			 * one still holds it; its renewal, should it wake
			 * up, tells it so (loop_heartbeat_done()).
			 */
			log_info("run %s: its main job %s stopped "
			    "heartbeating %llu ms ago or more; taking the "
			    "run over", s->run, register_elem(reply, 1),
			    (unsigned long long)(now - first));
			dead = xstrdup(register_elem(reply, 1));
		}
		last = pttl;
		freeReplyObject(reply);
		usleep(300000);
	}
	if (strcmp(k, "graph") == 0) {
		when = register_elem(reply, 2)[0] != '\0' ?
		    register_when(register_elem(reply, 2)) :
		    xstrdup("an unknown time");
		xasprintf(cause, "run %s is open with another task graph "
		    "(digest %.12s, this one's %.12s): its main job %s "
		    "started it at %s and is gone; a submit resumes a run "
		    "only with the same tasks and commands, so this one "
		    "writes nothing (end the run with `dteq cancel`, or give "
		    "this pipeline its own id)", s->run,
		    register_elem(reply, 1), s->digest,
		    register_elem(reply, 3)[0] != '\0' ?
		    register_elem(reply, 3) : "(unknown)", when);
		free(when);
		freeReplyObject(reply);
		*other = 1;
		return (-1);
	}
	*kind = xstrdup(k);
	*stopped = strcmp(k, "rerun") == 0 ?
	    xstrdup(register_elem(reply, 1)) : NULL;
	freeReplyObject(reply);
	return (0);
}

/*
 * Connect, claim the run, and record which of the three cases this is.
 * Returns -1 with *cause; *lost says the connection was lost on the way,
 * *other that the run is taken, or open under another protocol or with
 * another graph (nothing written).
 */
static int
register_once(struct submit *s, char **cause, int *lost, int *other)
{
	redisContext	*c;
	redisReply	*reply;
	char		*stopped = NULL, *kind = NULL;
	int		 open_run, ended;

	*lost = *other = 0;
	if ((c = cli_connect(&s->url, s->o->cli.connect_timeout,
	    cause)) == NULL)
		return (-1);
	if ((reply = rconn_sync_command(c, cause, "GET %s",
	    s->keys.stop)) == NULL) {
		register_failed(cause);
		goto fail;
	}
	ended = reply->type == REDIS_REPLY_STRING;
	freeReplyObject(reply);
	if ((reply = rconn_sync_command(c, cause, "EXISTS %s",
	    s->keys.meta)) == NULL) {
		register_failed(cause);
		goto fail;
	}
	open_run = reply->type == REDIS_REPLY_INTEGER && reply->integer == 1;
	freeReplyObject(reply);
	if (open_run && !ended &&
	    register_protocol(s, c, cause, other) != 0)
		goto fail;
	if (register_claim(s, c, &kind, &stopped, cause, other) != 0)
		goto fail;

	if (register_hmget(s, c, s->keys.attempts, register_attempt,
	    cause) != 0)
		goto fail;
	if (stopped != NULL) {
		if (register_rerun(s, c, stopped, cause) != 0 ||
		    register_hmget(s, c, s->keys.results, register_result,
		    cause) != 0)
			goto fail;
	} else if (strcmp(kind, "resume") == 0) {
		if (register_hmget(s, c, s->keys.results, register_result,
		    cause) != 0 || register_in_flight(s, c, cause) != 0)
			goto fail;
	}
	if (register_meta(s, c, cause) != 0)
		goto fail;
	sched_init(s, c);
	free(kind);
	free(stopped);
	redisFree(c);
	return (0);

fail:
	*lost = c->err != 0;	/* an I/O error, not a refused command */
	free(kind);
	free(stopped);
	redisFree(c);
	return (-1);
}

/*
 * Register, again from the start when the connection was lost on the
 * way (each step can be done twice: a new run half registered is found
 * open and resumed, a re-run whose sentinel was cleared is too).
 * Returns -1 with *cause (exit 3), or -2 with *cause when the run is open
 * under another protocol (exit 2: nothing was written).
 */
int
register_run(struct submit *s, char **cause)
{
	size_t	i;
	int	tries, lost, other;

	for (tries = 1;; tries++) {
		if (register_once(s, cause, &lost, &other) == 0)
			return (0);
		if (other)
			return (-2);
		if (!lost || tries == REGISTER_TRIES)
			return (-1);
		log_warnx("%s; trying again", *cause);
		free(*cause);
		*cause = NULL;
		for (i = 0; i < graph_size(s->g); i++) {
			result_clear(&s->pt[i].result);
			ptask_set_state(s, i, PT_WAITING);
			s->pt[i].attempt = 0;
			s->pt[i].restored = 0;
			s->pt[i].present = 0;
		}
		usleep(100000 * tries);
	}
}
