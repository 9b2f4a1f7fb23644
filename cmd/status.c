/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Commands that look at or end a run from any machine that reaches its
 * Redis, not only the main job:
 *
 *	dteq status	the run's state: tasks per state, the agents alive
 *			and what they hold, elapsed time; --watch redraws
 *			it until the run ends; --list lists the runs on
 *			the server with their age and state
 *	dteq cancel	ends a run: the stop sentinel with reason
 *			"cancelled" and a stop event, so agents kill their
 *			tasks and leave, and the submit exits 3
 *	dteq logs	prints a task's stored output; --follow prints it
 *			as it grows until the attempt has a result
 *
 * Each reads the run's keys (common/keys.c) with one synchronous
 * connection; there is no event loop. They write nothing but cancel's
 * sentinel, state and event.
 *
 * The submit side of a cancel is cancel_poll() (producer/follow.c), which
 * the running submit calls once a second from submit_tick(): a
 * "cancelled" stop sentinel ends its run at once with exit 3.
 */

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "cmd.h"

/* The options the three commands share. */
struct status_opts {
	const char	*redis;
	const char	*run;
	int		 timeout;	/* --connect-timeout */
	int		 watch;
	int		 interval;	/* --watch: seconds between looks */
	int		 list;
	int		 attempt;	/* logs --attempt, 0: the current */
	int		 follow;
};

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
	long long	 queued;
	size_t		 counts[RESULT_NSTATUS];
	size_t		 nresults;
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
    "and what they run, the elapsed time. --watch shows it again every\n"
    "--interval seconds (default 1) until the run ends. --list lists the\n"
    "runs on the server. Exit 0; 1 when there is no such run; 2 bad usage;\n"
    "3 Redis unreachable.\n";

static const char cancel_usage[] =
    "usage: dteq cancel [--redis URL] [--run ID] [--connect-timeout SECS]\n"
    "\n"
    "End a run now: its agents kill the tasks they run and exit, and its\n"
    "submit exits 3. Exit 0 when the run is ended (or had ended); 1 when\n"
    "there is no such run; 2 bad usage; 3 Redis unreachable.\n";

static const char logs_usage[] =
    "usage: dteq logs [--redis URL] [--run ID] [--attempt N] [--follow]\n"
    "                 [--connect-timeout SECS] TASK\n"
    "\n"
    "Print the stored output of a task's current attempt (or of attempt\n"
    "N). --follow keeps printing it as it grows, until the attempt has a\n"
    "result. Exit 0; 1 when the run or task is unknown; 2 bad usage; 3\n"
    "Redis unreachable.\n";

/*
 * Parse the options of one of the commands; which names the options it
 * takes ("wilaf": watch, interval, list, attempt, follow). Returns -1
 * and *cause on a bad one, 1 for --help.
 */
static int
status_options(int argc, char **argv, const char *which,
    struct status_opts *o, char **cause)
{
	static const struct option longopts[] = {
		{ "attempt", required_argument, NULL, 'a' },
		{ "connect-timeout", required_argument, NULL, 'C' },
		{ "follow", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "interval", required_argument, NULL, 'i' },
		{ "list", no_argument, NULL, 'l' },
		{ "redis", required_argument, NULL, 'r' },
		{ "run", required_argument, NULL, 'R' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "watch", no_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*errstr;
	int		 ch;

	memset(o, 0, sizeof *o);
	o->timeout = DEFAULT_CONNECT_TIMEOUT;
	o->interval = 1;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "fhvw", longopts, NULL)) != -1) {
		if (ch != '?' && strchr("CRhrv", ch) == NULL &&
		    strchr(which, ch) == NULL) {
			xasprintf(cause, "%s takes no option %s", argv[0],
			    argv[optind - 1]);
			return (-1);
		}
		switch (ch) {
		case 'a':
			o->attempt = (int)util_strtonum(optarg, 1, 1000000,
			    &errstr);
			if (errstr != NULL) {
				xasprintf(cause, "--attempt: \"%s\" is %s",
				    optarg, errstr);
				return (-1);
			}
			break;
		case 'C':
			if (util_parse_seconds("--connect-timeout", optarg,
			    3600, &o->timeout, cause) != 0)
				return (-1);
			break;
		case 'f':
			o->follow = 1;
			break;
		case 'h':
			return (1);
		case 'i':
			if (util_parse_seconds("--interval", optarg, 3600,
			    &o->interval, cause) != 0)
				return (-1);
			if (o->interval < 1)
				o->interval = 1;
			break;
		case 'l':
			o->list = 1;
			break;
		case 'r':
			o->redis = optarg;
			break;
		case 'R':
			o->run = optarg;
			break;
		case 'v':
			log_init(argv[0], 1);
			break;
		case 'w':
			o->watch = 1;
			break;
		default:
			xasprintf(cause, "unknown option (see dteq %s --help)",
			    argv[0]);
			return (-1);
		}
	}
	return (0);
}

/*
 * Resolve the server (and the run, unless run is NULL) and connect.
 * Returns an exit code: EXIT_OK with *c set, or EXIT_USAGE, EXIT_INFRA.
 */
static int
status_connect(const char *cmd, struct status_opts *o, struct redis_url *u,
    char **run, redisContext **c)
{
	char	*cause;

	if (cli_redis_url(o->redis, u, &cause) != 0 ||
	    (run != NULL && cli_run_id(o->run, run, &cause) != 0)) {
		fprintf(stderr, "dteq %s: %s\n", cmd, cause);
		free(cause);
		return (EXIT_USAGE);
	}
	if ((*c = cli_connect(u, o->timeout, &cause)) == NULL) {
		log_warnx("%s", cause);
		free(cause);
		return (EXIT_INFRA);
	}
	return (EXIT_OK);
}

/*
 * Send a command; NULL (logged) when the connection failed or Redis
 * answered an error.
 */
static redisReply *
status_command(redisContext *c, const char *fmt, ...)
{
	redisReply	*reply;
	va_list		 ap;

	va_start(ap, fmt);
	reply = redisvCommand(c, fmt, ap);
	va_end(ap);
	if (reply == NULL) {
		log_warnx("Redis: %s", c->errstr);
		return (NULL);
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		log_warnx("Redis: %s", reply->str);
		freeReplyObject(reply);
		return (NULL);
	}
	return (reply);
}

/* A reply's string, copied; NULL if it is not a string. */
static char *
status_string(const redisReply *reply)
{
	if (reply == NULL || reply->type != REDIS_REPLY_STRING)
		return (NULL);
	return (xstrndup(reply->str, reply->len));
}

/* A reply's number (string or integer), or def. */
static long long
status_number(const redisReply *reply, long long def)
{
	const char	*errstr;
	long long	 n;

	if (reply == NULL)
		return (def);
	if (reply->type == REDIS_REPLY_INTEGER)
		return (reply->integer);
	if (reply->type != REDIS_REPLY_STRING)
		return (def);
	n = util_strtonum(reply->str, 0, 1LL << 53, &errstr);
	return (errstr != NULL ? def : n);
}

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

	if ((reply = status_command(c, "HMGET %s state created tasks",
	    k->meta)) == NULL)
		return (-1);
	if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 3) {
		sn->state = status_string(reply->element[0]);
		sn->created = (uint64_t)status_number(reply->element[1], 0);
		sn->total = status_number(reply->element[2], -1);
		sn->exists = sn->state != NULL;
	}
	freeReplyObject(reply);
	return (0);
}

/* Read the results hash: counts, failures, the last end time. */
static int
status_read_results(redisContext *c, const struct keys *k,
    struct status_snap *sn)
{
	redisReply	*reply;
	struct result	 res;
	size_t		 i;
	char		*cause, *item;

	if ((reply = status_command(c, "HVALS %s", k->results)) == NULL)
		return (-1);
	for (i = 0; reply->type == REDIS_REPLY_ARRAY && i < reply->elements;
	    i++) {
		if (reply->element[i]->type != REDIS_REPLY_STRING ||
		    result_decode(reply->element[i]->str,
		    reply->element[i]->len, &res, &cause) != 0) {
			if (reply->element[i]->type == REDIS_REPLY_STRING)
				free(cause);
			continue;
		}
		sn->nresults++;
		sn->counts[res.status]++;
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
	return (0);
}

/* Read one agent: its heartbeat and the messages it holds. */
static int
status_read_agent(redisContext *c, const struct keys *k,
    struct status_agent *a)
{
	redisReply	*reply;
	struct task_msg	 m;
	char		*key, *cause;
	size_t		 i;

	key = keys_hb(k, a->name);
	reply = status_command(c, "EXISTS %s", key);
	free(key);
	if (reply == NULL)
		return (-1);
	a->alive = status_number(reply, 0) == 1;
	freeReplyObject(reply);
	key = keys_running(k, a->name);
	reply = status_command(c, "LRANGE %s 0 -1", key);
	free(key);
	if (reply == NULL)
		return (-1);
	for (i = 0; reply->type == REDIS_REPLY_ARRAY && i < reply->elements;
	    i++) {
		if (reply->element[i]->type != REDIS_REPLY_STRING)
			continue;
		if (task_msg_decode(reply->element[i]->str,
		    reply->element[i]->len, &m, &cause) != 0) {
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
	if ((reply = status_command(c, "GET %s", k->stop)) == NULL)
		return (-1);
	sn->stop = status_string(reply);
	freeReplyObject(reply);
	if ((reply = status_command(c, "EXISTS %s", k->main_hb)) == NULL)
		return (-1);
	sn->main_alive = status_number(reply, 0) == 1;
	freeReplyObject(reply);
	if ((reply = status_command(c, "LLEN %s", k->queue)) == NULL)
		return (-1);
	sn->queued = status_number(reply, 0);
	freeReplyObject(reply);
	if (status_read_results(c, k, sn) != 0)
		return (-1);
	if ((reply = status_command(c, "SMEMBERS %s", k->agents)) == NULL)
		return (-1);
	for (i = 0; reply->type == REDIS_REPLY_ARRAY && i < reply->elements;
	    i++) {
		if (reply->element[i]->type != REDIS_REPLY_STRING)
			continue;
		sn->agents = xreallocarray(sn->agents, sn->nagents + 1,
		    sizeof *sn->agents);
		memset(&sn->agents[sn->nagents], 0, sizeof *sn->agents);
		sn->agents[sn->nagents++].name = status_string(
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
	fprintf(f, "%zu done (%zu succeeded, %zu failed, %zu skipped", done,
	    sn->counts[RESULT_SUCCESS], sn->counts[RESULT_FAILED] +
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
		fprintf(f, "; main job %s", sn->main_alive ? "alive" : "gone");
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
		    status_is_over(&sn) || (!sn.exists && seen)) {
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
		if ((sn.exists && status_is_over(&sn)) || (!sn.exists &&
		    seen)) {
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
	char		*run;
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

	keys_init(&k, sr->run);
	memset(&sn, 0, sizeof sn);
	if (status_read_meta(c, &k, &sn) != 0)
		goto fail;
	sr->state = sn.state != NULL ? xstrdup(sn.state) : xstrdup("?");
	sr->created = sn.created;
	sr->total = sn.total;
	if ((reply = status_command(c, "HLEN %s", k.results)) == NULL)
		goto fail;
	sr->done = status_number(reply, 0);
	freeReplyObject(reply);
	if ((reply = status_command(c, "SCARD %s", k.agents)) == NULL)
		goto fail;
	sr->agents = status_number(reply, 0);
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
	int			 rv = EXIT_OK;

	keys_init(&pattern, "*");
	keys_init(&empty, "");
	pre = strcspn(empty.meta, "}");
	suf = strlen(empty.meta) - pre;
	do {
		if ((reply = status_command(c, "SCAN %s MATCH %s COUNT 1000",
		    cursor, pattern.meta)) == NULL) {
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
		printf("%-32s %-10s %8s %11s %6s\n", "RUN", "STATE", "AGE",
		    "TASKS DONE", "AGENTS");
		for (i = 0; i < nruns; i++) {
			age = util_format_duration(runs[i].created > 0 &&
			    now > runs[i].created ? now - runs[i].created : 0);
			printf("%-32s %-10s %8s %11lld %6lld\n", runs[i].run,
			    runs[i].state, age, runs[i].done, runs[i].agents);
			free(age);
		}
		if (nruns == 0)
			printf("(no runs on this server)\n");
	}
	for (i = 0; i < nruns; i++) {
		free(runs[i].run);
		free(runs[i].state);
	}
	free(runs);
	return (rv);
}

/* `dteq status`. */
int
status_main(int argc, char **argv)
{
	struct status_opts	 o;
	struct status_snap	 sn;
	struct redis_url	 u;
	struct keys		 k;
	redisContext		*c = NULL;
	char			*run = NULL, *cause;
	int			 rv;

	memset(&u, 0, sizeof u);
	memset(&k, 0, sizeof k);
	log_set_prefix("dteq status");
	if ((rv = status_options(argc, argv, "wil", &o, &cause)) != 0) {
		if (rv == 1) {
			fputs(status_usage, stdout);
			return (EXIT_OK);
		}
		fprintf(stderr, "dteq status: %s\n", cause);
		free(cause);
		return (EXIT_USAGE);
	}
	if (optind != argc) {
		fprintf(stderr, "dteq status: unexpected argument \"%s\"\n",
		    argv[optind]);
		return (EXIT_USAGE);
	}
	if ((rv = status_connect("status", &o, &u, o.list ? NULL : &run,
	    &c)) != EXIT_OK)
		goto out;
	if (o.list) {
		rv = status_list(c);
		goto out;
	}
	keys_init(&k, run);
	if (o.watch)
		rv = status_watch(c, &k, run, o.interval);
	else if (status_read(c, &k, &sn) != 0)
		rv = EXIT_INFRA;
	else {
		status_print(stdout, run, &sn);
		rv = sn.exists ? EXIT_OK : EXIT_TASKS_FAILED;
		status_snap_clear(&sn);
	}
out:
	keys_free(&k);
	if (c != NULL)
		redisFree(c);
	url_free(&u);
	free(run);
	return (rv);
}

/* `dteq cancel`. */
int
cancel_main(int argc, char **argv)
{
	struct status_opts	 o;
	struct redis_url	 u;
	struct keys		 k;
	redisContext		*c = NULL;
	char			*run = NULL, *cause, *stop = NULL;
	int			 rv;

	memset(&u, 0, sizeof u);
	memset(&k, 0, sizeof k);
	log_set_prefix("dteq cancel");
	if ((rv = status_options(argc, argv, "", &o, &cause)) != 0) {
		if (rv == 1) {
			fputs(cancel_usage, stdout);
			return (EXIT_OK);
		}
		fprintf(stderr, "dteq cancel: %s\n", cause);
		free(cause);
		return (EXIT_USAGE);
	}
	if (optind != argc) {
		fprintf(stderr, "dteq cancel: unexpected argument \"%s\"\n",
		    argv[optind]);
		return (EXIT_USAGE);
	}
	if ((rv = status_connect("cancel", &o, &u, &run, &c)) != EXIT_OK)
		goto out;
	keys_init(&k, run);
	rv = EXIT_INFRA;
	switch (script_stop_sync(c, &k, "cancelled", DEFAULT_TTL,
	    STOP_KEEP | STOP_IF_RUN | STOP_STATE, &stop, &cause)) {
	case STOP_NO_RUN:
		fprintf(stderr, "dteq cancel: no run %s on this server\n", run);
		rv = EXIT_TASKS_FAILED;
		goto out;
	case STOP_HAD:
		printf("run %s had already ended (%s)\n", run, stop);
		rv = EXIT_OK;
		goto out;
	case STOP_WRITTEN:
		break;
	default:
		log_warnx("Redis: %s", cause);
		free(cause);
		goto out;
	}
	printf("run %s cancelled\n", run);
	rv = EXIT_OK;
out:
	free(stop);
	keys_free(&k);
	if (c != NULL)
		redisFree(c);
	url_free(&u);
	free(run);
	return (rv);
}

/* Write len bytes to stdout; -1 if stdout is gone. */
static int
logs_write(const char *buf, size_t len)
{
	if (len > 0 && fwrite(buf, 1, len, stdout) != len)
		return (-1);
	return (fflush(stdout) == 0 ? 0 : -1);
}

/* Has attempt of task id a result (or has the run ended)? */
static int
logs_is_done(redisContext *c, const struct keys *k, const char *id,
    int attempt)
{
	redisReply	*reply;
	struct result	 res;
	char		*cause;
	int		 done = 0;

	if ((reply = status_command(c, "HGET %s %s", k->results,
	    id)) == NULL)
		return (-1);
	if (reply->type == REDIS_REPLY_STRING && result_decode(reply->str,
	    reply->len, &res, &cause) == 0) {
		done = res.attempt >= attempt;
		result_clear(&res);
	} else if (reply->type == REDIS_REPLY_STRING)
		free(cause);
	freeReplyObject(reply);
	if (done)
		return (1);
	if ((reply = status_command(c, "EXISTS %s", k->stop)) == NULL)
		return (-1);
	done = status_number(reply, 0) == 1;
	freeReplyObject(reply);
	return (done);
}

/* Print the log from offset on; -1 on a failure. Updates *offset. */
static int
logs_print_from(redisContext *c, const char *key, size_t *offset)
{
	redisReply	*reply;

	if ((reply = status_command(c, "GETRANGE %s %llu -1", key,
	    (unsigned long long)*offset)) == NULL)
		return (-1);
	if (reply->type == REDIS_REPLY_STRING && reply->len > 0) {
		if (logs_write(reply->str, reply->len) != 0) {
			freeReplyObject(reply);
			return (-1);
		}
		*offset += reply->len;
	}
	freeReplyObject(reply);
	return (0);
}

/* Print a task's output, and with follow go on until it is done. */
static int
logs_show(redisContext *c, const struct keys *k, const char *id,
    struct status_opts *o)
{
	redisReply	*reply;
	struct timespec	 ts = { 0, 250 * 1000000L };
	char		*key;
	size_t		 offset = 0;
	int		 attempt = o->attempt, done;

	if ((reply = status_command(c, "HGET %s %s", k->attempts,
	    id)) == NULL)
		return (EXIT_INFRA);
	if (reply->type != REDIS_REPLY_STRING) {
		freeReplyObject(reply);
		if ((reply = status_command(c, "EXISTS %s", k->meta)) == NULL)
			return (EXIT_INFRA);
		fprintf(stderr, "dteq logs: %s\n", status_number(reply, 0) ?
		    "no such task in this run (not dispatched yet?)" :
		    "no such run on this server");
		freeReplyObject(reply);
		return (EXIT_TASKS_FAILED);
	}
	if (attempt == 0)
		attempt = (int)status_number(reply, 1);
	freeReplyObject(reply);
	key = keys_log(k, id, attempt);
	for (;;) {
		if (logs_print_from(c, key, &offset) != 0)
			break;
		if (!o->follow) {
			free(key);
			return (EXIT_OK);
		}
		if ((done = logs_is_done(c, k, id, attempt)) != 0) {
			if (done == 1 && logs_print_from(c, key,
			    &offset) == 0) {
				free(key);
				return (EXIT_OK);
			}
			break;
		}
		nanosleep(&ts, NULL);
	}
	free(key);
	return (EXIT_INFRA);
}

/* `dteq logs`. */
int
logs_main(int argc, char **argv)
{
	struct status_opts	 o;
	struct redis_url	 u;
	struct keys		 k;
	redisContext		*c = NULL;
	char			*run = NULL, *cause;
	int			 rv;

	memset(&u, 0, sizeof u);
	memset(&k, 0, sizeof k);
	log_set_prefix("dteq logs");
	if ((rv = status_options(argc, argv, "af", &o, &cause)) != 0) {
		if (rv == 1) {
			fputs(logs_usage, stdout);
			return (EXIT_OK);
		}
		fprintf(stderr, "dteq logs: %s\n", cause);
		free(cause);
		return (EXIT_USAGE);
	}
	if (argc - optind != 1) {
		fprintf(stderr, "dteq logs: %s\n", argc == optind ?
		    "no task given" : "more than one task given");
		fputs(logs_usage, stderr);
		return (EXIT_USAGE);
	}
	if ((rv = status_connect("logs", &o, &u, &run, &c)) != EXIT_OK)
		goto out;
	keys_init(&k, run);
	rv = logs_show(c, &k, argv[optind], &o);
out:
	keys_free(&k);
	if (c != NULL)
		redisFree(c);
	url_free(&u);
	free(run);
	return (rv);
}
