/* dteq: self-hosted distributed task execution over Redis. */

/*
 * `dteq status`: a run's state from any machine that reaches its Redis,
 * not only the main job: its tasks per state, the agents alive and what
 * they hold, the elapsed time. --watch redraws it until the run ends;
 * --list lists the runs on the server with their age and state.
 *
 * Data flow: status_read() takes a snapshot of the run's keys
 * (common/keys.c: the meta hash, the stop sentinel, submit's heartbeat,
 * the queue, the results, each agent's heartbeat and running list) into
 * a struct status_snap with one synchronous connection (look.c), and
 * status_print() prints it. There is no event loop, and nothing is
 * written.
 */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "cmd.h"

/* One agent of the run, as status shows it. */
struct status_agent {
	char		*name;
	int		 alive;		/* its heartbeat lease holds */
	char	       **held;		/* "id (attempt N)" it holds */
	size_t		 nheld;
};

/* What status reads of a run. */
struct status_snap {
	int		 exists;	/* the meta hash is there */
	char		*state;		/* meta state */
	uint64_t	 created;	/* wall ms */
	long long	 total;		/* meta tasks, -1 if absent */
	char		*stop;		/* the stop sentinel's reason */
	int		 main_alive;	/* submit's heartbeat key */
	uint64_t	 seen;		/* wall ms of its last heartbeat */
	long long	 queued;
	size_t		 counts[RESULT_NSTATUS];
	size_t		 nresults;
	size_t		 ncached;	/* successes from the cache: not run */
	size_t		 nrecords;	/* `dteq record`s: not tasks */
	uint64_t	 last_end;	/* wall ms of the last result */
	char	       **failed;	/* "id (how)" of failed results */
	size_t		 nfailed;
	struct status_agent *agents;
	size_t		 nagents;
	size_t		 running;
};

static const char status_usage[] =
    "usage: dteq status [--redis URL] [--run ID] [--watch] [--interval SECS]\n"
    "                   [--connect-timeout SECS]\n"
    "       dteq status --list [--redis URL]\n"
    "\n"
    "Show a run's state from Redis: its tasks per state, the agents alive\n"
    "and what they run, the elapsed time; a run whose main job is gone is\n"
    "abandoned, since its last heartbeat. --watch shows it again every\n"
    "--interval seconds (default 1) until the run ends or is abandoned.\n"
    "--list lists the runs on the server. Exit 0; 1 when there is no such\n"
    "run; 2 bad usage; 3 Redis unreachable.\n";

/* Free what a snapshot holds. */
static void
status_snap_clear(struct status_snap *sn)
{
	size_t	i, j;

	free(sn->state);
	free(sn->stop);
	for (i = 0; i < sn->nfailed; i++)
		free(sn->failed[i]);
	free(sn->failed);
	for (i = 0; i < sn->nagents; i++) {
		free(sn->agents[i].name);
		for (j = 0; j < sn->agents[i].nheld; j++)
			free(sn->agents[i].held[j]);
		free(sn->agents[i].held);
	}
	free(sn->agents);
	memset(sn, 0, sizeof *sn);
}

/* Read the run's meta hash into sn. */
static int
status_read_meta(redisContext *c, const struct keys *k,
    struct status_snap *sn)
{
	redisReply	*reply;

	if ((reply = rconn_sync_command(c, NULL, "HMGET %s state created tasks",
	    k->meta)) == NULL)
		return (-1);
	if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 3) {
		sn->state = look_string(reply->element[0]);
		sn->created = (uint64_t)look_number(reply->element[1], 0);
		sn->total = look_number(reply->element[2], -1);
		sn->exists = sn->state != NULL;
	}
	freeReplyObject(reply);
	return (0);
}

/*
 * Is id one of the recorded commands? records is the HGETALL of the
 * records hash (HGETALL, not HKEYS: the README's ACL user may run it).
 */
static int
status_is_record(const redisReply *records, const char *id)
{
	size_t	i;

	for (i = 0; records->type == REDIS_REPLY_ARRAY &&
	    i < records->elements; i += 2) {
		if (records->element[i]->type == REDIS_REPLY_STRING &&
		    strcmp(records->element[i]->str, id) == 0)
			return (1);
	}
	return (0);
}

/* Read the results hash: counts, failures, the last end time. */
static int
status_read_results(redisContext *c, const struct keys *k,
    struct status_snap *sn)
{
	redisReply	*reply, *records;
	struct result	 res;
	size_t		 i;
	char		*cause, *item;

	/*
	 * The results hash also holds what `dteq record` recorded (the
	 * records hash lists those ids): counted apart, not as tasks.
	 */
	if ((reply = rconn_sync_command(c, NULL, "HGETALL %s",
	    k->records)) == NULL)
		return (-1);
	records = reply;
	if ((reply = rconn_sync_command(c, NULL, "HVALS %s",
	    k->results)) == NULL) {
		freeReplyObject(records);
		return (-1);
	}
	for (i = 0; reply->type == REDIS_REPLY_ARRAY && i < reply->elements;
	    i++) {
		if (reply->element[i]->type != REDIS_REPLY_STRING ||
		    result_decode(reply->element[i]->str,
		    reply->element[i]->len, &res, &cause) != 0) {
			if (reply->element[i]->type == REDIS_REPLY_STRING)
				free(cause);
			continue;
		}
		if (status_is_record(records, res.id)) {
			sn->nrecords++;
			result_clear(&res);
			continue;
		}
		sn->nresults++;
		sn->counts[res.status]++;
		sn->ncached += res.status == RESULT_SUCCESS && res.cached;
		if (res.end_ms > sn->last_end)
			sn->last_end = res.end_ms;
		if (res.status != RESULT_SUCCESS &&
		    res.status != RESULT_SKIPPED) {
			if (res.status == RESULT_FAILED)
				xasprintf(&item, "%s (exit %d)", res.id,
				    res.exit_code);
			else
				xasprintf(&item, "%s (%s)", res.id,
				    result_status_name(res.status));
			sn->failed = xreallocarray(sn->failed, sn->nfailed + 1,
			    sizeof *sn->failed);
			sn->failed[sn->nfailed++] = item;
		}
		result_clear(&res);
	}
	freeReplyObject(reply);
	freeReplyObject(records);
	return (0);
}

/* Read one agent: its heartbeat and the messages it holds. */
static int
status_read_agent(redisContext *c, const struct keys *k,
    struct status_agent *a)
{
	redisReply	*reply;
	struct task_msg	 m;
	const char	*json;
	char		*key, *cause;
	size_t		 i, jsonlen;

	key = keys_hb(k, a->name);
	reply = rconn_sync_command(c, NULL, "EXISTS %s", key);
	free(key);
	if (reply == NULL)
		return (-1);
	a->alive = look_number(reply, 0) == 1;
	freeReplyObject(reply);
	key = keys_running(k, a->name);
	reply = rconn_sync_command(c, NULL, "LRANGE %s 0 -1", key);
	free(key);
	if (reply == NULL)
		return (-1);
	for (i = 0; reply->type == REDIS_REPLY_ARRAY && i < reply->elements;
	    i++) {
		if (reply->element[i]->type != REDIS_REPLY_STRING)
			continue;
		json = sign_payload(reply->element[i]->str,
		    reply->element[i]->len, &jsonlen);
		if (task_msg_decode(json, jsonlen, &m, &cause) != 0) {
			free(cause);
			continue;
		}
		a->held = xreallocarray(a->held, a->nheld + 1,
		    sizeof *a->held);
		if (m.attempt > 1)
			xasprintf(&a->held[a->nheld++], "%s (attempt %d)",
			    m.id, m.attempt);
		else
			a->held[a->nheld++] = xstrdup(m.id);
		task_msg_clear(&m);
	}
	freeReplyObject(reply);
	return (0);
}

/* Order agents by name. */
static int
status_agent_cmp(const void *a, const void *b)
{
	return (strcmp(((const struct status_agent *)a)->name,
	    ((const struct status_agent *)b)->name));
}

/* Read a whole snapshot of run k. -1: Redis failed. */
static int
status_read(redisContext *c, const struct keys *k, struct status_snap *sn)
{
	redisReply	*reply;
	size_t		 i;

	memset(sn, 0, sizeof *sn);
	if (status_read_meta(c, k, sn) != 0)
		return (-1);
	if (!sn->exists)
		return (0);
	if ((reply = rconn_sync_command(c, NULL, "GET %s", k->stop)) == NULL)
		return (-1);
	sn->stop = look_string(reply);
	freeReplyObject(reply);
	if ((reply = rconn_sync_command(c, NULL, "EXISTS %s",
	    k->main_hb)) == NULL)
		return (-1);
	sn->main_alive = look_number(reply, 0) == 1;
	freeReplyObject(reply);
	if ((reply = rconn_sync_command(c, NULL, "GET %s", k->seen)) == NULL)
		return (-1);
	sn->seen = (uint64_t)look_number(reply, 0);
	freeReplyObject(reply);
	if ((reply = rconn_sync_command(c, NULL, "LLEN %s", k->queue)) == NULL)
		return (-1);
	sn->queued = look_number(reply, 0);
	freeReplyObject(reply);
	if (status_read_results(c, k, sn) != 0)
		return (-1);
	if ((reply = rconn_sync_command(c, NULL, "SMEMBERS %s",
	    k->agents)) == NULL)
		return (-1);
	for (i = 0; reply->type == REDIS_REPLY_ARRAY && i < reply->elements;
	    i++) {
		if (reply->element[i]->type != REDIS_REPLY_STRING)
			continue;
		sn->agents = xreallocarray(sn->agents, sn->nagents + 1,
		    sizeof *sn->agents);
		memset(&sn->agents[sn->nagents], 0, sizeof *sn->agents);
		sn->agents[sn->nagents++].name = look_string(
		    reply->element[i]);
	}
	freeReplyObject(reply);
	if (sn->nagents > 1)
		qsort(sn->agents, sn->nagents, sizeof *sn->agents,
		    status_agent_cmp);
	for (i = 0; i < sn->nagents; i++) {
		if (status_read_agent(c, k, &sn->agents[i]) != 0)
			return (-1);
		sn->running += sn->agents[i].nheld;
	}
	return (0);
}

/* Is the run over (a stop sentinel, or a final state)? */
static int
status_is_over(const struct status_snap *sn)
{
	return (sn->stop != NULL || (sn->state != NULL &&
	    strcmp(sn->state, "running") != 0));
}

/*
 * Is the run abandoned: running, but its main job's heartbeat lapsed
 * (the main job was killed, or its machine went away)? The agents give
 * up on it within the main lease; nothing will end it but its TTL.
 */
static int
status_is_abandoned(const struct status_snap *sn)
{
	return (sn->exists && !status_is_over(sn) && !sn->main_alive);
}

/* Print a wall-clock time in UTC. */
static void
status_time(FILE *f, uint64_t ms)
{
	time_t		t = (time_t)(ms / 1000);
	struct tm	tm;
	char		buf[64];

	gmtime_r(&t, &tm);
	strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
	fputs(buf, f);
}

/* Print the body of a snapshot (all but the first line). */
static void
status_print_body(FILE *f, const struct status_snap *sn)
{
	const struct status_agent	*a;
	size_t				 i, j, done, alive = 0;
	long long			 waiting;

	done = sn->nresults;
	fprintf(f, "tasks: ");
	if (sn->total >= 0)
		fprintf(f, "%lld in all; ", sn->total);
	fprintf(f, "%zu done (%zu succeeded", done, sn->counts[RESULT_SUCCESS]);
	if (sn->ncached > 0)
		fprintf(f, ", %zu of them cached", sn->ncached);
	fprintf(f, ", %zu failed, %zu skipped", sn->counts[RESULT_FAILED] +
	    sn->counts[RESULT_LOST] + sn->counts[RESULT_CANCELLED],
	    sn->counts[RESULT_SKIPPED]);
	if (sn->counts[RESULT_TIMEOUT] > 0)
		fprintf(f, ", %zu timed out", sn->counts[RESULT_TIMEOUT]);
	fprintf(f, "), %zu running, %lld queued", sn->running, sn->queued);
	if (sn->total >= 0) {
		waiting = sn->total - (long long)done - (long long)sn->running -
		    sn->queued;
		fprintf(f, ", %lld waiting", waiting > 0 ? waiting : 0);
	}
	fputc('\n', f);
	if (sn->nrecords > 0)
		fprintf(f, "recorded in the main job (dteq record): %zu\n",
		    sn->nrecords);
	for (i = 0; i < sn->nfailed; i++)
		fprintf(f, "failed: %s\n", sn->failed[i]);
	for (i = 0; i < sn->nagents; i++)
		alive += sn->agents[i].alive;
	fprintf(f, "agents: %zu alive", alive);
	if (sn->nagents > alive)
		fprintf(f, ", %zu silent", sn->nagents - alive);
	fputc('\n', f);
	for (i = 0; i < sn->nagents; i++) {
		a = &sn->agents[i];
		fprintf(f, "  %-20s %s", a->name, a->alive ? "" : "silent, ");
		if (a->nheld == 0)
			fprintf(f, "idle");
		else
			fprintf(f, "running ");
		for (j = 0; j < a->nheld; j++)
			fprintf(f, "%s%s", j > 0 ? ", " : "", a->held[j]);
		fputc('\n', f);
	}
}

/*
 * The first line of an abandoned run: since when (the main job's last
 * heartbeat; else its last result, else its start), how long it ran.
 */
static void
status_print_abandoned(FILE *f, const char *run,
    const struct status_snap *sn, uint64_t now)
{
	uint64_t	 since = sn->seen;
	const char	*what = "the main job's last heartbeat";
	char		*ago, *ran;

	if (since == 0 && sn->last_end > 0) {
		since = sn->last_end;
		what = "its last result";
	} else if (since == 0) {
		since = sn->created;
		what = "its start";
	}
	ago = util_format_duration(now > since ? now - since : 0);
	ran = util_format_duration(since > sn->created ? since - sn->created :
	    0);
	fprintf(f, "run %s: abandoned since ", run);
	status_time(f, since);
	fprintf(f, " (%s ago: %s), ran for %s", ago, what, ran);
	if (sn->created > 0) {
		fputs(", started ", f);
		status_time(f, sn->created);
	}
	fputc('\n', f);
	free(ran);
	free(ago);
}

/* Print a snapshot of run: its first line, then the body. */
static void
status_print(FILE *f, const char *run, const struct status_snap *sn)
{
	uint64_t	 now = util_wall_ms(), end;
	char		*el;

	if (!sn->exists) {
		fprintf(f, "run %s: not on this server (never started, or "
		    "expired)\n", run);
		return;
	}
	if (status_is_abandoned(sn)) {
		status_print_abandoned(f, run, sn, now);
		status_print_body(f, sn);
		return;
	}
	end = status_is_over(sn) && sn->last_end > sn->created ?
	    sn->last_end : now;
	el = util_format_duration(sn->created > 0 && end > sn->created ?
	    end - sn->created : 0);
	fprintf(f, "run %s: %s", run, sn->state);
	if (sn->stop != NULL && strcmp(sn->stop, sn->state) != 0)
		fprintf(f, " (stopped: %s)", sn->stop);
	fprintf(f, ", %s %s", status_is_over(sn) ? "took" : "running for",
	    el);
	if (sn->created > 0) {
		fputs(", started ", f);
		status_time(f, sn->created);
	}
	if (!status_is_over(sn))
		fprintf(f, "; main job alive");
	fputc('\n', f);
	free(el);
	status_print_body(f, sn);
}

/*
 * --watch: show the run every interval until it is over. On a terminal
 * the screen is redrawn; otherwise a snapshot is printed when it changed.
 */
static int
status_watch(redisContext *c, const struct keys *k, const char *run,
    int interval)
{
	struct status_snap	 sn;
	int			 tty = isatty(STDOUT_FILENO), seen = 0;
	char			*body, *last = NULL;
	size_t			 len;
	FILE			*f;

	for (;;) {
		if (status_read(c, k, &sn) != 0) {
			free(last);
			return (EXIT_INFRA);
		}
		f = open_memstream(&body, &len);
		if (f == NULL)
			fatal("open_memstream");
		status_print_body(f, &sn);
		fclose(f);
		if (tty || last == NULL || strcmp(body, last) != 0 ||
		    status_is_over(&sn) || status_is_abandoned(&sn) ||
		    (!sn.exists && seen)) {
			if (tty)
				fputs("\033[H\033[2J", stdout);
			else if (last != NULL)
				fputc('\n', stdout);
			status_print(stdout, run, &sn);
			fflush(stdout);
		}
		free(last);
		last = body;
		if (sn.exists)
			seen = 1;
		if ((sn.exists && (status_is_over(&sn) ||
		    status_is_abandoned(&sn))) || (!sn.exists && seen)) {
			status_snap_clear(&sn);
			free(last);
			return (EXIT_OK);
		}
		status_snap_clear(&sn);
		sleep((unsigned)interval);
	}
}

/* One run of --list. */
struct status_run {
	char		*run;		/* its hash tag, then its run id */
	char		*repo;		/* meta's repo, or NULL */
	char		*state;
	uint64_t	 created;
	long long	 total;
	long long	 done;
	long long	 agents;
};

/* Order runs newest first. */
static int
status_run_cmp(const void *a, const void *b)
{
	const struct status_run	*x = a, *y = b;

	if (x->created != y->created)
		return (x->created > y->created ? -1 : 1);
	return (strcmp(x->run, y->run));
}

/* Read the state of one run for --list. */
static int
status_list_one(redisContext *c, struct status_run *sr)
{
	struct status_snap	 sn;
	struct keys		 k;
	redisReply		*reply;

	keys_init_tag(&k, sr->run);
	free(sr->run);
	sr->run = xstrdup(k.run);
	memset(&sn, 0, sizeof sn);
	if (status_read_meta(c, &k, &sn) != 0)
		goto fail;
	if ((reply = rconn_sync_command(c, NULL, "HGET %s repo",
	    k.meta)) == NULL)
		goto fail;
	sr->repo = look_string(reply);
	if (sr->repo != NULL && *sr->repo == '\0') {
		free(sr->repo);
		sr->repo = NULL;
	}
	freeReplyObject(reply);
	sr->state = sn.state != NULL ? xstrdup(sn.state) : xstrdup("?");
	if (strcmp(sr->state, "running") == 0) {
		/* Neither a main job nor a stop: abandoned. */
		if ((reply = rconn_sync_command(c, NULL, "EXISTS %s %s",
		    k.main_hb, k.stop)) == NULL)
			goto fail;
		if (look_number(reply, 1) == 0) {
			free(sr->state);
			sr->state = xstrdup("abandoned");
		}
		freeReplyObject(reply);
	}
	sr->created = sn.created;
	sr->total = sn.total;
	if ((reply = rconn_sync_command(c, NULL, "HLEN %s", k.results)) == NULL)
		goto fail;
	sr->done = look_number(reply, 0);
	freeReplyObject(reply);
	if ((reply = rconn_sync_command(c, NULL, "SCARD %s", k.agents)) == NULL)
		goto fail;
	sr->agents = look_number(reply, 0);
	freeReplyObject(reply);
	status_snap_clear(&sn);
	keys_free(&k);
	return (0);

fail:
	status_snap_clear(&sn);
	keys_free(&k);
	return (-1);
}

/*
 * --list: every run whose meta hash is on the server (SCAN, so a busy
 * server is not blocked), newest first.
 */
static int
status_list(redisContext *c)
{
	struct keys		 pattern, empty;
	struct status_run	*runs = NULL;
	redisReply		*reply;
	size_t			 nruns = 0, i, pre, suf, len;
	char			*cursor = xstrdup("0"), *age;
	uint64_t		 now = util_wall_ms();
	int			 rv = EXIT_OK, repos = 0;

	keys_init_tag(&pattern, "*");
	keys_init_tag(&empty, "");
	pre = strcspn(empty.meta, "}");
	suf = strlen(empty.meta) - pre;
	do {
		if ((reply = rconn_sync_command(c, NULL,
		    "SCAN %s MATCH %s COUNT 1000", cursor,
		    pattern.meta)) == NULL) {
			rv = EXIT_INFRA;
			break;
		}
		free(cursor);
		cursor = xstrdup(reply->type == REDIS_REPLY_ARRAY &&
		    reply->elements == 2 && reply->element[0]->type ==
		    REDIS_REPLY_STRING ? reply->element[0]->str : "0");
		for (i = 0; reply->type == REDIS_REPLY_ARRAY &&
		    reply->elements == 2 && i < reply->element[1]->elements;
		    i++) {
			len = reply->element[1]->element[i]->len;
			if (len <= pre + suf)
				continue;
			runs = xreallocarray(runs, nruns + 1, sizeof *runs);
			memset(&runs[nruns], 0, sizeof *runs);
			runs[nruns++].run = xstrndup(
			    reply->element[1]->element[i]->str + pre,
			    len - pre - suf);
		}
		freeReplyObject(reply);
	} while (strcmp(cursor, "0") != 0);
	free(cursor);
	keys_free(&pattern);
	keys_free(&empty);

	for (i = 0; rv == EXIT_OK && i < nruns; i++) {
		if (status_list_one(c, &runs[i]) != 0)
			rv = EXIT_INFRA;
	}
	if (rv == EXIT_OK) {
		if (nruns > 1)
			qsort(runs, nruns, sizeof *runs, status_run_cmp);
		for (i = 0; i < nruns; i++)
			repos |= runs[i].repo != NULL;
		/* The REPO column only when a run has one. */
		printf("%-32s %-10s %8s %11s %6s%s\n", "RUN", "STATE", "AGE",
		    "TASKS DONE", "AGENTS", repos ? "  REPO" : "");
		for (i = 0; i < nruns; i++) {
			age = util_format_duration(runs[i].created > 0 &&
			    now > runs[i].created ? now - runs[i].created : 0);
			printf("%-32s %-10s %8s %11lld %6lld%s%s\n",
			    runs[i].run, runs[i].state, age, runs[i].done,
			    runs[i].agents, repos ? "  " : "", repos ?
			    (runs[i].repo != NULL ? runs[i].repo : "-") : "");
			free(age);
		}
		if (nruns == 0)
			printf("(no runs on this server)\n");
	}
	for (i = 0; i < nruns; i++) {
		free(runs[i].run);
		free(runs[i].repo);
		free(runs[i].state);
	}
	free(runs);
	return (rv);
}

/* Show run l names, once or with --watch until it ends; the exit code. */
static int
status_show(struct look *l, int watch, int interval)
{
	struct status_snap	sn;
	char			*name;
	int			rv;

	/* The run as its keys name it: with its repository, if any. */
	if (l->k.repo != NULL)
		xasprintf(&name, "%s (repository %s)", l->run, l->k.repo);
	else
		name = xstrdup(l->run);
	if (watch)
		rv = status_watch(l->c, &l->k, name, interval);
	else if (status_read(l->c, &l->k, &sn) != 0)
		rv = EXIT_INFRA;
	else {
		status_print(stdout, name, &sn);
		rv = sn.exists ? EXIT_OK : EXIT_TASKS_FAILED;
		status_snap_clear(&sn);
	}
	free(name);
	return (rv);
}

/* `dteq status`. */
int
status_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_OPTIONS,
		{ "interval", required_argument, NULL, 'i' },
		{ "list", no_argument, NULL, 'l' },
		{ "watch", no_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 }
	};
	struct look	 l;
	char		*cause;
	int		 ch, rv, watch = 0, list = 0, interval = 1;

	look_init(&l, "dteq status");
	optind = 0;
	while ((ch = getopt_long(argc, argv, "hvw", longopts, NULL)) != -1) {
		switch (cli_option(&l.o, ch, optarg, &cause)) {
		case 1:
			if (l.o.help) {
				fputs(status_usage, stdout);
				return (EXIT_OK);
			}
			continue;
		case -1:
			return (look_usage_error(&l, cause));
		}
		if (ch == 'l')
			list = 1;
		else if (ch == 'w')
			watch = 1;
		else if (ch != 'i')
			return (look_unknown_option(&l));
		else if (util_parse_seconds("--interval", optarg, 3600,
		    &interval, &cause) != 0)
			return (look_usage_error(&l, cause));
	}
	if (interval < 1)
		interval = 1;
	if (cli_no_arguments(argc, argv, &cause) != 0)
		return (look_usage_error(&l, cause));
	if ((rv = look_connect(&l, !list)) == EXIT_OK)
		rv = list ? status_list(l.c) : status_show(&l, watch, interval);
	look_close(&l);
	return (rv);
}
