/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The duration history of a workspace, which sched.c's estimates come
 * from.
 *
 * One hash per workspace, keys_history(WS): task id -> exponentially
 * weighted mean duration in ms (sched_record() weighs the newest run by
 * SCHED_ALPHA), 30 days TTL, refreshed on each write. It lives outside
 * any run, so every later submit of the workspace reads it.
 * history_load() reads the graph's ids with pipelined HMGETs before the
 * loop; history_put() batches the new values and writes them with one
 * HSET per HISTORY_FLUSH_N tasks or HISTORY_FLUSH_MS, from the event loop
 * (rc_cmd, never blocking), and history_free() writes the rest on a
 * short synchronous connection after the loop ended.
 *
 * The workspace is DTEQ_WORKSPACE, else the run's repository (the one its
 * keys carry: --repo, DTEQ_REPO, the CI's variables, the checkout's
 * origin remote; common/runid.c), else the top of the git checkout
 * holding the working directory, else the working directory.
 */

#include <sys/stat.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "producer.h"

#define HISTORY_TTL		(30 * 86400)
#define HISTORY_CHUNK		1000	/* ids per HMGET */
#define HISTORY_FLUSH_N		128	/* durations per HSET */
#define HISTORY_FLUSH_MS	1000
#define HISTORY_WS_MAX		200	/* bytes of a workspace name */

/* The workspace's hash, and the writes to it not yet sent. */
struct history {
	char		*key;		/* keys_history(workspace) */
	const char	**argv;		/* HSET key id value ... */
	size_t		*lens;
	char		**vals;		/* the values in argv, owned */
	size_t		 n;		/* values batched */
	uint64_t	 first;		/* ms: oldest unsent value */
	int		 expired;	/* EXPIRE sent by this submit */
};

/* The workspace whose history this submit uses. Caller frees. */
static char *
history_workspace(const struct submit *s)
{
	const char	*v;
	char		*ws = NULL, *dir, *p, *git;
	struct stat	 sb;
	int		 i;

	if ((v = cli_env("DTEQ_WORKSPACE")) != NULL)
		ws = xstrdup(v);
	else if (s->keys.repo != NULL)
		ws = xstrdup(s->keys.repo);
	if (ws == NULL && (dir = getcwd(NULL, 0)) != NULL) {
		/* The nearest directory holding .git, else the cwd. */
		for (;;) {
			xasprintf(&git, "%s/.git", dir);
			i = stat(git, &sb) == 0;
			free(git);
			if (i) {
				ws = xstrdup(dir);
				break;
			}
			if ((p = strrchr(dir, '/')) == NULL || p == dir)
				break;
			*p = '\0';
		}
		if (ws == NULL) {
			free(dir);
			dir = getcwd(NULL, 0);
			ws = xstrdup(dir != NULL ? dir : "/");
		}
		free(dir);
	}
	if (ws == NULL)
		ws = xstrdup("/");
	/* Printable ASCII without spaces, and not too long. */
	if (strlen(ws) > HISTORY_WS_MAX)
		ws[HISTORY_WS_MAX] = '\0';
	for (p = ws; *p != '\0'; p++) {
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			*p = '_';
	}
	return (ws);
}

/* The history of this submit's workspace. */
struct history *
history_new(const struct submit *s)
{
	struct history	*h;
	char		*ws;

	h = xcalloc(1, sizeof *h);
	ws = history_workspace(s);
	h->key = keys_history(ws);
	free(ws);
	h->argv = xcalloc(2 + 2 * HISTORY_FLUSH_N, sizeof *h->argv);
	h->lens = xcalloc(2 + 2 * HISTORY_FLUSH_N, sizeof *h->lens);
	h->vals = xcalloc(HISTORY_FLUSH_N, sizeof *h->vals);
	return (h);
}

/* The hash's key, for logs. */
const char *
history_key(const struct history *h)
{
	return (h->key);
}

/*
 * Read the history of the graph's ids into hist[] (one per task, left
 * alone where there is none): pipelined HMGETs on c, before the loop.
 */
void
history_load(struct history *h, const struct submit *s, redisContext *c,
    double *hist)
{
	const char	**argv;
	size_t		 *lens, i, j, chunk, n = graph_size(s->g), sent = 0;
	redisReply	*reply;
	char		*end;
	double		 v;

	argv = xcalloc(HISTORY_CHUNK + 2, sizeof *argv);
	lens = xcalloc(HISTORY_CHUNK + 2, sizeof *lens);
	argv[0] = "HMGET";
	argv[1] = h->key;
	lens[0] = 5;
	lens[1] = strlen(h->key);
	for (i = 0; i < n; i += chunk) {
		chunk = n - i > HISTORY_CHUNK ? HISTORY_CHUNK : n - i;
		for (j = 0; j < chunk; j++) {
			argv[2 + j] = graph_node(s->g, i + j)->task->id;
			lens[2 + j] = strlen(argv[2 + j]);
		}
		if (redisAppendCommandArgv(c, (int)chunk + 2, argv, lens) !=
		    REDIS_OK)
			break;
		sent++;
	}
	for (i = 0; i < n && sent > 0; i += chunk, sent--) {
		chunk = n - i > HISTORY_CHUNK ? HISTORY_CHUNK : n - i;
		if (redisGetReply(c, (void **)&reply) != REDIS_OK) {
			log_warnx("reading the duration history failed: %s",
			    c->errstr);
			break;
		}
		if (reply->type == REDIS_REPLY_ARRAY) {
			for (j = 0; j < chunk && j < reply->elements; j++) {
				if (reply->element[j]->type !=
				    REDIS_REPLY_STRING)
					continue;
				v = strtod(reply->element[j]->str, &end);
				if (end != reply->element[j]->str &&
				    *end == '\0' && isfinite(v) && v >= 0)
					hist[i + j] = v;
			}
		} else if (reply->type == REDIS_REPLY_ERROR)
			log_warnx("reading the duration history: %s",
			    reply->str);
		freeReplyObject(reply);
	}
	free(argv);
	free(lens);
}

/* Send the batched values: asynchronously on rc_cmd, or on c. */
static void
history_flush(struct history *h, const struct submit *s, redisContext *c)
{
	size_t		 k, argc = 2 + 2 * h->n;
	redisReply	*reply;
	char		 ttl[16];

	if (h->n == 0)
		return;
	h->argv[0] = "HSET";
	h->argv[1] = h->key;
	for (k = 0; k < argc; k++)
		h->lens[k] = strlen(h->argv[k]);
	snprintf(ttl, sizeof ttl, "%d", HISTORY_TTL);
	if (c != NULL) {
		reply = redisCommandArgv(c, (int)argc, h->argv, h->lens);
		if (reply != NULL)
			freeReplyObject(reply);
		reply = redisCommand(c, "EXPIRE %s %s", h->key, ttl);
		if (reply != NULL)
			freeReplyObject(reply);
	} else if (rconn_command_argv(s->rc_cmd, rconn_check_reply,
	    (void *)"writing the duration history", (int)argc, h->argv,
	    h->lens) == 0 && !h->expired) {
		rconn_command_checked(s->rc_cmd,
		    "writing the duration history", "EXPIRE %s %s",
		    h->key, ttl);
		h->expired = 1;
	}
	for (k = 0; k < h->n; k++)
		free(h->vals[k]);
	h->n = 0;
}

/*
 * Task i's new value: batched, and sent once HISTORY_FLUSH_N are or the
 * oldest waited HISTORY_FLUSH_MS, from the event loop.
 */
void
history_put(struct history *h, const struct submit *s, size_t i, double v)
{
	uint64_t	now = util_now_ms();

	if (h->n == 0)
		h->first = now;
	xasprintf(&h->vals[h->n], "%.1f", v);
	h->argv[2 + 2 * h->n] = graph_node(s->g, i)->task->id;
	h->argv[3 + 2 * h->n] = h->vals[h->n];
	h->n++;
	if (s->rc_cmd != NULL && rconn_is_ready(s->rc_cmd) &&
	    (h->n == HISTORY_FLUSH_N || now - h->first >= HISTORY_FLUSH_MS))
		history_flush(h, s, NULL);
	else if (h->n == HISTORY_FLUSH_N) {
		/* Redis is away and the batch is full: drop this value. */
		h->n--;
		free(h->vals[h->n]);
	}
}

/*
 * Write what is left on a short synchronous connection (the loop has
 * ended), then free h. h may be NULL.
 */
void
history_free(struct history *h, const struct submit *s)
{
	redisContext	*c;
	char		*cause;
	size_t		 k;

	if (h == NULL)
		return;
	if (h->n > 0 && (s->url.host != NULL || s->url.path != NULL)) {
		if ((c = rconn_sync_connect(&s->url, 0, &cause)) != NULL) {
			history_flush(h, s, c);
			redisFree(c);
		} else {
			log_debug("duration history not written: %s", cause);
			free(cause);
		}
	}
	for (k = 0; k < h->n; k++)
		free(h->vals[k]);
	free(h->key);
	free(h->argv);
	free(h->lens);
	free(h->vals);
	free(h);
}
