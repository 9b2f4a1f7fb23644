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
 * 2. record_exec() runs the command (execvp, no shell) with stdout and
 *    stderr on one pipe, copies each chunk to stdout and keeps the first
 *    DEFAULT_OUTPUT_CAP bytes; SIGINT and SIGTERM are passed on to it.
 *    Redis is not needed until it has ended.
 * 3. record_settings() reads the run's TTL and output cap if the run
 *    exists; record_store() then writes, on one synchronous connection:
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
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
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
	int		  connect_timeout;
	size_t		  cap;		/* output bytes kept */
	int		  ttl;

	char		 *out;		/* the first cap bytes of output */
	size_t		  outlen;
	uint64_t	  total;	/* output bytes, all of them */
	int		  truncated;
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

/* Keep a chunk of output, up to the cap, with a marker past it. */
static void
record_keep(struct record *r, const char *buf, size_t len)
{
	char	*marker;
	size_t	 room;

	r->total += len;
	if (r->truncated)
		return;
	room = r->cap - r->outlen;
	if (len > room) {
		xasprintf(&marker, "\n[output truncated: more than %zu "
		    "bytes]\n", r->cap);
		r->out = xreallocarray(r->out, r->cap + strlen(marker) + 1, 1);
		memcpy(r->out + r->outlen, buf, room);
		r->outlen += room;
		memcpy(r->out + r->outlen, marker, strlen(marker));
		r->outlen += strlen(marker);
		free(marker);
		r->truncated = 1;
		return;
	}
	r->out = xreallocarray(r->out, r->outlen + len + 1, 1);
	memcpy(r->out + r->outlen, buf, len);
	r->outlen += len;
}

/*
 * Run the command with its stdout and stderr on one pipe, echo and keep
 * the output, and wait for it. The status is 127 if it could not be run.
 */
static void
record_exec(struct record *r)
{
	struct sigaction sa, old_int, old_term;
	char		 buf[65536], *msg;
	int		 p[2], null, st;
	ssize_t		 n;
	pid_t		 pid;
	uint64_t	 t0;

	if (pipe2(p, O_CLOEXEC) != 0)
		fatal("%s: pipe", __func__);
	xasprintf(&msg, "dteq record: cannot run %s (not found or not "
	    "executable)\n", r->argv[0]);
	fflush(stdout);
	fflush(stderr);
	r->start_ms = util_wall_ms();
	t0 = util_now_ms();
	if ((pid = fork()) == -1)
		fatal("%s: fork", __func__);
	if (pid == 0) {
		if ((null = open("/dev/null", O_RDONLY)) != -1)
			dup2(null, STDIN_FILENO);
		dup2(p[1], STDOUT_FILENO);
		dup2(p[1], STDERR_FILENO);
		execvp(r->argv[0], r->argv);
		if (write(STDERR_FILENO, msg, strlen(msg)) == -1)
			_exit(127);
		_exit(127);
	}
	free(msg);
	close(p[1]);
	record_child = pid;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = record_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);

	for (;;) {
		n = read(p[0], buf, sizeof buf);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			log_debug("%s: stdout: %s", __func__, strerror(errno));
		fflush(stdout);
		record_keep(r, buf, (size_t)n);
	}
	close(p[0]);
	while (waitpid(pid, &st, 0) == -1) {
		if (errno != EINTR)
			fatal("%s: waitpid", __func__);
	}
	record_child = -1;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	r->end_ms = util_wall_ms();
	r->duration_ms = util_now_ms() - t0;
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Run one command; -1 with *cause when the reply is missing or an error. */
static int
record_command(redisContext *c, char **cause, long long *value,
    const char *fmt, ...)
{
	redisReply	*reply;
	va_list		 ap;

	va_start(ap, fmt);
	reply = redisvCommand(c, fmt, ap);
	va_end(ap);
	if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
		xasprintf(cause, "%s", reply == NULL ? c->errstr : reply->str);
		if (reply != NULL)
			freeReplyObject(reply);
		return (-1);
	}
	if (value != NULL && reply->type == REDIS_REPLY_INTEGER)
		*value = reply->integer;
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
			if (errstr == NULL && (size_t)v < r->outlen &&
			    !r->truncated) {
				r->outlen = (size_t)v;	/* the run's cap */
				r->truncated = 1;
			}
		}
	}
	freeReplyObject(reply);
}

/* Write the attempt, its log and its result, and announce it. */
static int
record_store(struct record *r, redisContext *c, char **cause)
{
	struct result	 res;
	long long	 attempt = 0;
	char		*json, *logkey = NULL, *ev = NULL, *why = NULL;
	size_t		 len;
	int		 rc = -1;

	if (record_command(c, &why, &attempt, "HINCRBY %s %s 1",
	    r->keys.attempts, r->id) != 0 ||
	    record_command(c, &why, NULL, "EXPIRE %s %d", r->keys.attempts,
	    r->ttl) != 0)
		goto out;
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
	json = result_encode(&res, &len);
	logkey = keys_log(&r->keys, r->id, (int)attempt);
	xasprintf(&ev, "{\"type\":\"finished\",\"result\":%s}", json);
	if (record_command(c, &why, NULL, "SET %s %b EX %d", logkey,
	    r->out != NULL ? r->out : "", r->outlen, r->ttl) != 0 ||
	    record_command(c, &why, NULL, "HSET %s %s %b", r->keys.results,
	    r->id, json, len) != 0 ||
	    record_command(c, &why, NULL, "EXPIRE %s %d", r->keys.results,
	    r->ttl) != 0 ||
	    record_command(c, &why, NULL, "HSET %s %s %b", r->keys.records,
	    r->id, json, len) != 0 ||
	    record_command(c, &why, NULL, "EXPIRE %s %d", r->keys.records,
	    r->ttl) != 0 ||
	    record_command(c, &why, NULL, "PUBLISH %s %s", r->keys.events,
	    ev) != 0) {
		free(json);
		goto out;
	}
	log_debug("%s: %s attempt %lld: %s", __func__, r->id, attempt, json);
	free(json);
	rc = 0;
out:
	if (rc != 0) {
		xasprintf(cause, "recording \"%s\" in run %s failed: %s", r->id,
		    r->run, why);
	}
	free(why);
	free(ev);
	free(logkey);
	return (rc);
}

/* Parse the options; -1 with *cause on a bad one, 1 for --help. */
static int
record_options(struct record *r, int argc, char **argv, const char **redis,
    const char **run, char **cause)
{
	static const struct option longopts[] = {
		{ "connect-timeout", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ "id", required_argument, NULL, 'i' },
		{ "redis", required_argument, NULL, 'r' },
		{ "run", required_argument, NULL, 'R' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 }
	};
	int	ch;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "+hv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'C':
			if (util_parse_seconds("--connect-timeout", optarg,
			    3600, &r->connect_timeout, cause) != 0)
				return (-1);
			break;
		case 'h':
			return (1);
		case 'i':
			if (*optarg == '\0' || strpbrk(optarg, "\n\r\t") !=
			    NULL) {
				xasprintf(cause, "--id: not a usable task id");
				return (-1);
			}
			r->id = xstrdup(optarg);
			break;
		case 'r':
			*redis = optarg;
			break;
		case 'R':
			*run = optarg;
			break;
		case 'v':
			log_init("dteq record", 1);
			break;
		default:
			xasprintf(cause, "unknown option (see dteq record "
			    "--help)");
			return (-1);
		}
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
	keys_free(&r->keys);
	url_free(&r->url);
}

int
record_main(int argc, char **argv)
{
	struct record	 r;
	redisContext	*c;
	const char	*redis = NULL, *run = NULL;
	char		*cause = NULL;
	int		 rc;

	memset(&r, 0, sizeof r);
	r.connect_timeout = DEFAULT_CONNECT_TIMEOUT;
	r.cap = DEFAULT_OUTPUT_CAP;
	r.ttl = DEFAULT_TTL;
	log_set_prefix("dteq record");
	if ((rc = record_options(&r, argc, argv, &redis, &run, &cause)) == 1) {
		fputs(record_usage, stdout);
		record_free(&r);
		return (EXIT_OK);
	}
	if (rc != 0 || cli_redis_url(redis, &r.url, &cause) != 0 ||
	    cli_run_id(run, &r.run, &cause) != 0) {
		fprintf(stderr, "dteq record: %s\n", cause);
		free(cause);
		record_free(&r);
		return (EXIT_USAGE);
	}
	keys_init(&r.keys, r.run);

	/* The command runs first: Redis is only needed to record it. */
	record_exec(&r);
	log_debug("%s exited %d after %llu ms", r.id, r.status,
	    (unsigned long long)r.duration_ms);
	if ((c = cli_connect(&r.url, r.connect_timeout, &cause)) != NULL)
		record_settings(c, &r);
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

