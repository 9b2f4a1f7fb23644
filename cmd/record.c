/* dteq: self-hosted distributed task execution over Redis. */

/*
 * `dteq record -- COMMAND...`: run a command here, in the main job, show
 * its output as it comes, and record it in the run as if an agent named
 * "main" had run it (Nx Cloud's `nx-cloud record`), so the run's summary,
 * reports and `dteq logs` show it with the rest. Exits with the command's
 * exit status.
 *
 * Data flow:
 *
 * 1. record_main() resolves the server and the run first: bad usage exits
 *    2 before anything runs.
 * 2. record_exec() runs the command (spawn_start(), no shell) with
 *    stdout and stderr on one pipe, copies each chunk to stdout and keeps
 *    its head and tail under DEFAULT_OUTPUT_CAP (clip.c); SIGINT and SIGTERM are passed on
 *    to it. A command that cannot be run gets status 127 and the reason
 *    as its output. Redis is not needed until it has ended.
 * 3. record_settings() reads the run's TTL and output cap if the run
 *    exists (record_clip() cuts the output again to a smaller cap, the
 *    head and tail still kept); record_store() then writes, on one synchronous connection:
 *    the next attempt of the id (HINCRBY attempts), the output under the
 *    log key of that attempt, the result JSON (agent "main") in the
 *    results hash and in the records hash, each with the run's TTL, and
 *    announces it with a "finished" event. The results hash is what
 *    `dteq logs` and `dteq status` read; the records hash lists the
 *    recorded commands alone, so submit need not tell them apart from
 *    its tasks (and a re-run of the run, which drops the results, keeps
 *    the commands recorded just before it).
 *
 * The id is --id, or the command line itself. If the command succeeded
 * but recording failed, the exit status is 3; if the command failed, its
 * status wins and the recording problem is a warning.
 *
 * The other side is submit's: once its run is over, record_collect()
 * (producer/records.c) reads the records hash and the end of each
 * record's log into the report state, and the summary and the --json,
 * --junit and --report files show them apart from the graph's tasks.
 */

#include <sys/types.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "cmd.h"

#define RECORD_ID_MAX		200	/* bytes of a command line as id */
#define RECORD_AGENT		"main"

static const char record_usage[] =
    "usage: dteq record [--redis URL] [--run ID] [--id ID]\n"
    "                   [--connect-timeout SECS] [-v] -- COMMAND [ARG...]\n"
    "\n"
    "Run COMMAND here (the main job), show its output, and record it in\n"
    "the run with its exit status, as a task run by agent \"main\": the\n"
    "summary, the reports and `dteq logs` show it. Exits with COMMAND's\n"
    "status (3 if it succeeded but could not be recorded; 2 on bad usage).\n"
    "\n"
    "  --redis URL              as for submit (env DTEQ_REDIS_URL)\n"
    "  --run ID                 run id (env DTEQ_RUN, else CI variables)\n"
    "  --id ID                  the task id to record (default: the\n"
    "                           command line)\n"
    "  --connect-timeout SECS   how long to retry Redis (default 10)\n"
    "  -v, --verbose            debug logging\n";

/* The child, for the signal handler. */
static volatile sig_atomic_t	record_child = -1;

/* What one recorded command produced. */
struct record {
	char		**argv;
	char		 *id;
	struct redis_url url;
	char		 *run;
	struct keys	  keys;
	size_t		  cap;		/* output bytes kept */
	size_t		  runcap;	/* the run's cap, if smaller */
	int		  ttl;

	char		 *out;		/* the head of the output, then all
					 * that is kept (record_clip()) */
	size_t		  outlen;
	struct clip	  clip;		/* the tail, and what was left out */
	uint64_t	  total;	/* output bytes, all of them */
	int		  status;	/* exit status, 128 + signal */
	uint64_t	  start_ms;	/* wall clock */
	uint64_t	  end_ms;
	uint64_t	  duration_ms;	/* monotonic */
};

/* SIGINT, SIGTERM: pass the signal on to the command. */
static void
record_signal(int sig)
{
	if (record_child > 0)
		kill((pid_t)record_child, sig);
}

/* The default id: the command line, one line, cut at RECORD_ID_MAX. */
static char *
record_default_id(char **argv)
{
	char	*id, *p;
	size_t	 len = 0, i, n;

	id = xmalloc(RECORD_ID_MAX + 1);
	for (i = 0; argv[i] != NULL && len < RECORD_ID_MAX; i++) {
		if (i > 0)
			id[len++] = ' ';
		n = strlen(argv[i]);
		if (n > RECORD_ID_MAX - len)
			n = RECORD_ID_MAX - len;
		memcpy(id + len, argv[i], n);
		len += n;
	}
	id[len] = '\0';
	for (p = id; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	}
	return (id);
}

/* Keep a chunk of output: the head here, the rest in the clip. */
static void
record_keep(struct record *r, const char *buf, size_t len)
{
	size_t	n;

	r->total += len;
	if ((n = clip_add(&r->clip, buf, len)) == 0)
		return;
	r->out = xreallocarray(r->out, r->outlen + n + 1, 1);
	memcpy(r->out + r->outlen, buf, n);
	r->outlen += n;
}

/* Append buf[0..len) to what is kept. */
static void
record_append(struct record *r, const char *buf, size_t len)
{
	r->out = xreallocarray(r->out, r->outlen + len + 1, 1);
	memcpy(r->out + r->outlen, buf, len);
	r->outlen += len;
}

/*
 * The output is over: end the clip (cut again to cap first if the run's
 * cap is smaller) and make r->out all that is kept, head, marker, tail.
 */
static void
record_clip(struct record *r, size_t cap)
{
	struct clip	 c;
	const char	*tail;
	char		*rest;
	size_t		 n, len;

	if (cap < r->cap) {
		clip_init(&c, cap);
		n = clip_add(&c, r->out != NULL ? r->out : "", r->outlen);
		r->outlen = n;
		clip_gap(&c, r->clip.dropped, r->clip.dropped_lines,
		    r->clip.drop_nl);
		tail = clip_tail(&r->clip, &len);
		n = clip_add(&c, tail, len);
		record_append(r, tail, n);
		clip_free(&r->clip);
		r->clip = c;
	}
	rest = clip_end(&r->clip, &len);
	record_append(r, rest, len);
	free(rest);
}

/*
 * The command could not be run: say so where its output would have gone,
 * keep that as its output, and give it the shell's status for it, 127.
 */
static void
record_not_run(struct record *r, const char *cause)
{
	char	*msg;

	xasprintf(&msg, "dteq record: %s\n", cause);
	fputs(msg, stdout);
	fflush(stdout);
	record_keep(r, msg, strlen(msg));
	free(msg);
	r->status = 127;
}

/*
 * Copy the command's output (fd) to stdout and keep it, until EOF; then
 * wait for it. SIGINT and SIGTERM are passed on to it meanwhile.
 */
static void
record_follow(struct record *r, pid_t pid, int fd)
{
	struct sigaction sa, old_int, old_term;
	char		 buf[65536];
	ssize_t		 n;

	record_child = pid;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = record_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	for (;;) {
		n = read(fd, buf, sizeof buf);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			log_debug("%s: stdout: %s", __func__, strerror(errno));
		fflush(stdout);
		record_keep(r, buf, (size_t)n);
	}
	close(fd);
	r->status = spawn_wait(pid);
	record_child = -1;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
}

/*
 * Run the command (stdin /dev/null, stdout and stderr on one pipe, no
 * DTEQ_SECRET or DTEQ_REDIS_PASSWORD in its environment), echo and keep
 * the output, and wait for it. The status is 127 if it could
 * not be run, with the reason as its output.
 */
static void
record_exec(struct record *r)
{
	static char	*unset[] = { (char *)"DTEQ_SECRET",
			    (char *)"DTEQ_REDIS_PASSWORD", NULL };
	struct spawn	 sp;
	char		*cause;
	uint64_t	 t0;

	memset(&sp, 0, sizeof sp);
	sp.argv = r->argv;
	sp.unset = unset;	/* as a task on an agent: never shown */
	sp.out = SPAWN_PIPE;
	sp.err = SPAWN_TO_OUT;
	sp.flags = SPAWN_NULL_STDIN;
	r->start_ms = util_wall_ms();
	t0 = util_now_ms();
	if (spawn_start(&sp, &cause) != 0) {
		record_not_run(r, cause);
		free(cause);
	} else
		record_follow(r, sp.pid, sp.out_fd);
	r->end_ms = util_wall_ms();
	r->duration_ms = util_now_ms() - t0;
}

/* A reply that says nothing but "done": freed; -1 if there is none. */
static int
record_done(redisReply *reply)
{
	if (reply == NULL)
		return (-1);
	freeReplyObject(reply);
	return (0);
}

/*
 * Use the run's TTL and output cap (smaller than the default the output
 * was kept with) from its meta hash, if it has them.
 */
static void
record_settings(redisContext *c, struct record *r)
{
	redisReply	*reply;
	const char	*errstr;
	long long	 v;

	reply = redisCommand(c, "HMGET %s ttl output_cap", r->keys.meta);
	if (reply == NULL)
		return;
	if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2) {
		if (reply->element[0]->type == REDIS_REPLY_STRING) {
			v = util_strtonum(reply->element[0]->str, 1,
			    365 * 86400, &errstr);
			if (errstr == NULL)
				r->ttl = (int)v;
		}
		if (reply->element[1]->type == REDIS_REPLY_STRING) {
			v = util_strtonum(reply->element[1]->str, 1024,
			    1LL << 30, &errstr);
			if (errstr == NULL && (size_t)v < r->cap)
				r->runcap = (size_t)v;	/* the run's cap */
		}
	}
	freeReplyObject(reply);
}

/* The next attempt of the record's id (HINCRBY attempts); -1 on failure. */
static int
record_attempt(struct record *r, redisContext *c, long long *attempt,
    char **why)
{
	redisReply	*reply;

	if ((reply = rconn_sync_command(c, why, "HINCRBY %s %s 1",
	    r->keys.attempts, r->id)) == NULL)
		return (-1);
	*attempt = reply->type == REDIS_REPLY_INTEGER ? reply->integer : 0;
	freeReplyObject(reply);
	return (record_done(rconn_sync_command(c, why, "EXPIRE %s %d",
	    r->keys.attempts, r->ttl)));
}

/*
 * SET the output under the log key with the run's TTL. The output is
 * bytes (a NUL among them), so it goes as an argument of its own and not
 * through rconn_sync_command's format. -1 with *why on a failure.
 */
static int
record_set_log(struct record *r, redisContext *c, const char *key,
    char **why)
{
	redisReply	*reply;
	const char	*argv[5];
	size_t		 lens[5], i;
	char		 ttl[16];

	snprintf(ttl, sizeof ttl, "%d", r->ttl);
	argv[0] = "SET";
	argv[1] = key;
	argv[2] = r->out != NULL ? r->out : "";
	argv[3] = "EX";
	argv[4] = ttl;
	for (i = 0; i < nitems(argv); i++)
		lens[i] = i == 2 ? r->outlen : strlen(argv[i]);
	reply = redisCommandArgv(c, (int)nitems(argv), argv, lens);
	if (reply != NULL && reply->type != REDIS_REPLY_ERROR)
		return (record_done(reply));
	xasprintf(why, "%s", reply == NULL ? c->errstr : reply->str);
	if (reply != NULL)
		freeReplyObject(reply);
	return (-1);
}

/* The result of the recorded command, as JSON. Caller frees. */
static char *
record_result(struct record *r, long long attempt)
{
	struct result	 res;

	memset(&res, 0, sizeof res);
	res.id = r->id;
	res.status = r->status == 0 ? RESULT_SUCCESS : RESULT_FAILED;
	res.exit_code = r->status;
	res.attempt = (int)attempt;
	res.agent = (char *)RECORD_AGENT;
	res.start_ms = r->start_ms;
	res.end_ms = r->end_ms;
	res.duration_ms = r->duration_ms;
	res.output_bytes = r->total;
	return (result_encode(&res, NULL));
}

/* Write the attempt, its log and its result, and announce it. */
static int
record_store(struct record *r, redisContext *c, char **cause)
{
	long long	 attempt = 0;
	char		*json = NULL, *logkey = NULL, *ev = NULL, *why = NULL;
	int		 rc = -1;

	if (record_attempt(r, c, &attempt, &why) != 0)
		goto out;
	json = record_result(r, attempt);
	logkey = keys_log(&r->keys, r->id, (int)attempt);
	xasprintf(&ev, "{\"type\":\"finished\",\"result\":%s}", json);
	if (record_set_log(r, c, logkey, &why) != 0 ||
	    record_done(rconn_sync_command(c, &why, "HSET %s %s %s",
	    r->keys.results, r->id, json)) != 0 ||
	    record_done(rconn_sync_command(c, &why, "EXPIRE %s %d",
	    r->keys.results, r->ttl)) != 0 ||
	    record_done(rconn_sync_command(c, &why, "HSET %s %s %s",
	    r->keys.records, r->id, json)) != 0 ||
	    record_done(rconn_sync_command(c, &why, "EXPIRE %s %d",
	    r->keys.records, r->ttl)) != 0 ||
	    record_done(rconn_sync_command(c, &why, "PUBLISH %s %s",
	    r->keys.events, ev)) != 0)
		goto out;
	log_debug("%s: %s attempt %lld: %s", __func__, r->id, attempt, json);
	rc = 0;
out:
	if (rc != 0) {
		xasprintf(cause, "recording \"%s\" in run %s failed: %s", r->id,
		    r->run, why);
	}
	free(why);
	free(json);
	free(ev);
	free(logkey);
	return (rc);
}

/*
 * Parse the options up to the command (the shared ones go to o); -1 with
 * *cause on a bad one, 1 for --help.
 */
static int
record_options(struct record *r, struct cli_opts *o, int argc, char **argv,
    char **cause)
{
	static const struct option longopts[] = {
		CLI_OPTIONS,
		{ "id", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 }
	};
	int	ch;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "+hv", longopts, NULL)) != -1) {
		switch (cli_option(o, ch, optarg, cause)) {
		case 1:
			if (o->help)
				return (1);
			continue;
		case -1:
			return (-1);
		}
		if (ch != 'i') {
			xasprintf(cause, "unknown option (see dteq record "
			    "--help)");
			return (-1);
		}
		if (*optarg == '\0' || strpbrk(optarg, "\n\r\t") != NULL) {
			xasprintf(cause, "--id: not a usable task id");
			return (-1);
		}
		free(r->id);
		r->id = xstrdup(optarg);
	}
	if (optind >= argc) {
		xasprintf(cause, "no command given (dteq record -- COMMAND "
		    "[ARG...])");
		return (-1);
	}
	r->argv = argv + optind;
	if (r->id == NULL)
		r->id = record_default_id(r->argv);
	return (0);
}

/* Free what r owns. */
static void
record_free(struct record *r)
{
	free(r->id);
	free(r->run);
	free(r->out);
	clip_free(&r->clip);
	keys_free(&r->keys);
	url_free(&r->url);
}

int
record_main(int argc, char **argv)
{
	struct record	 r;
	struct cli_opts	 o;
	redisContext	*c;
	char		*cause = NULL, *repo;
	int		 rc;

	memset(&r, 0, sizeof r);
	r.cap = r.runcap = DEFAULT_OUTPUT_CAP;
	r.ttl = DEFAULT_TTL;
	clip_init(&r.clip, r.cap);
	cli_init(&o, "dteq record");
	if ((rc = record_options(&r, &o, argc, argv, &cause)) == 1) {
		fputs(record_usage, stdout);
		record_free(&r);
		return (EXIT_OK);
	}
	if (rc != 0 || cli_resolve(&o, &r.url, &r.run, &cause) != 0) {
		fprintf(stderr, "dteq record: %s\n", cause);
		free(cause);
		record_free(&r);
		return (EXIT_USAGE);
	}
	repo = cli_repo(&o);
	keys_init(&r.keys, r.run, repo);
	free(repo);

	/* The command runs first: Redis is only needed to record it. */
	record_exec(&r);
	log_debug("%s exited %d after %llu ms", r.id, r.status,
	    (unsigned long long)r.duration_ms);
	if ((c = cli_connect(&r.url, o.connect_timeout, &cause)) != NULL)
		record_settings(c, &r);
	record_clip(&r, r.runcap);
	if (c == NULL || record_store(&r, c, &cause) != 0) {
		log_warnx("%s", cause);
		free(cause);
		rc = r.status != 0 ? r.status : EXIT_INFRA;
	} else
		rc = r.status;
	if (c != NULL)
		redisFree(c);
	record_free(&r);
	return (rc);
}
