/* dteq: self-hosted distributed task execution over Redis. */

/*
 * One hiredis async connection with its own reconnect loop, attached to
 * the process's event base. rconn.c is the only place that creates or
 * frees a redisAsyncContext.
 *
 * States: IDLE -> CONNECTING -> HANDSHAKE (AUTH, SELECT, PING sent) ->
 * READY; any drop goes to BACKOFF, whose timer starts CONNECTING again
 * (100 ms doubling to 5 s). The owner's ready callback runs on every
 * entry to READY, so it re-issues what the connection carried (BLMOVE,
 * SUBSCRIBE); the lost callback runs on every drop after the pending
 * replies were called with NULL. A refused AUTH or SELECT is permanent:
 * rconn_error() then says why and no reconnect is tried.
 *
 * rconn_sync_connect() is the blocking connect used once at start-up,
 * before the loop runs, so a wrong address or password fails at once.
 *
 * The glue between hiredis and libevent is ours, not hiredis's adapter,
 * which costs two epoll_ctl calls per command and a loop iteration per
 * write: it waits for the socket to be writable before every write. Here
 * the read event stays armed (persistent), and a command only marks the
 * connection for a flush: the flush runs once at the end of the loop
 * iteration, writing every command queued in it in one write(2). Only a
 * write the socket cannot take whole (or a connect in progress) waits for
 * EV_WRITE.
 */

#include <sys/time.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "dteq.h"

#define RCONN_IDLE	0
#define RCONN_CONNECTING 1
#define RCONN_HANDSHAKE	2
#define RCONN_READY	3
#define RCONN_BACKOFF	4
#define RCONN_FAILED	5

#define RCONN_BACKOFF_MIN 100
#define RCONN_BACKOFF_MAX 5000

static const char *rconn_state_names[] = {
	"idle", "connecting", "handshake", "ready", "backoff", "failed"
};

struct rconn {
	struct event_base	*base;
	const struct redis_url	*url;
	char			*name;
	rconn_cb		 ready_cb;
	rconn_cb		 lost_cb;
	void			*arg;

	redisAsyncContext	*ac;
	int			 state;
	struct event		*timer;
	int			 backoff;
	int			 deadline;	/* s: connect attempt limit */
	char			*error;		/* permanent failure */
	uint64_t		 down_since;	/* ms, 0 when ready */

	char			*fmt;		/* rconn_command_argv()'s */
	size_t			 fmtcap;	/* RESP, reused */
};

/* The hiredis event hooks of one context. */
struct rconn_ev {
	redisAsyncContext	*ac;
	struct event		*rev;		/* persistent read */
	struct event		*wev;		/* waits for writability */
	struct event		*fev;		/* flush, activated by hand */
	int			 reading;
};

/* The context being written now (hiredis may free it meanwhile). */
static struct rconn_ev	*rconn_flushing;

static void	rconn_connect(struct rconn *);
static void	rconn_retry(struct rconn *);

/* Move to a new state, logging the transition. */
static void
rconn_set_state(struct rconn *rc, int state)
{
	if (rc->state != state)
		log_debug("%s: %s: %s -> %s", __func__, rc->name,
		    rconn_state_names[rc->state], rconn_state_names[state]);
	rc->state = state;
}

/* Backoff or connect-deadline timer. */
static void
rconn_timer_cb(int fd, short events, void *arg)
{
	struct rconn	*rc = arg;

	(void)fd;
	(void)events;
	if (rc->state == RCONN_BACKOFF)
		rconn_connect(rc);
	else if (rc->state == RCONN_CONNECTING ||
	    rc->state == RCONN_HANDSHAKE) {
		log_debug("%s: %s: connect timed out", __func__, rc->name);
		rconn_retry(rc);
	}
}

/* Drop the context (if any) and arm the backoff timer. */
static void
rconn_retry(struct rconn *rc)
{
	struct timeval		 tv;
	redisAsyncContext	*ac = rc->ac;

	if (ac != NULL) {
		rc->ac = NULL;
		ac->data = NULL;
		redisAsyncFree(ac);
	}
	if (rc->state == RCONN_FAILED)
		return;
	if (rc->down_since == 0)
		rc->down_since = util_now_ms();
	rconn_set_state(rc, RCONN_BACKOFF);
	if (rc->backoff == 0)
		rc->backoff = RCONN_BACKOFF_MIN;
	else if ((rc->backoff *= 2) > RCONN_BACKOFF_MAX)
		rc->backoff = RCONN_BACKOFF_MAX;
	tv.tv_sec = rc->backoff / 1000;
	tv.tv_usec = (rc->backoff % 1000) * 1000;
	evtimer_add(rc->timer, &tv);
}

/* Reply to the handshake's PING: the connection is usable. */
static void
rconn_ping_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct rconn	*rc = privdata;
	redisReply	*reply = r;

	if (reply == NULL || ac->data == NULL || rc->ac != ac)
		return;
	if (reply->type == REDIS_REPLY_ERROR) {
		log_warnx("%s: PING refused: %s", rc->name, reply->str);
		return;
	}
	evtimer_del(rc->timer);
	rc->backoff = 0;
	rc->down_since = 0;
	rconn_set_state(rc, RCONN_READY);
	if (rc->ready_cb != NULL)
		rc->ready_cb(rc, rc->arg);
}

/* Reply to AUTH or SELECT: an error is permanent. */
static void
rconn_handshake_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct rconn	*rc = privdata;
	redisReply	*reply = r;

	if (reply == NULL || ac->data == NULL || rc->ac != ac)
		return;
	if (reply->type != REDIS_REPLY_ERROR || rc->state == RCONN_FAILED)
		return;
	free(rc->error);
	xasprintf(&rc->error, "%s", reply->str);
	log_warnx("%s: Redis refused the connection: %s", rc->name,
	    reply->str);
	rconn_set_state(rc, RCONN_FAILED);
	evtimer_del(rc->timer);
	if (rc->lost_cb != NULL)
		rc->lost_cb(rc, rc->arg);
}

/* hiredis connect callback: start the handshake or retry. */
static void
rconn_connect_cb(const redisAsyncContext *cac, int status)
{
	struct rconn	*rc = cac->data;

	if (rc == NULL)
		return;
	if (status != REDIS_OK) {
		log_debug("%s: %s: connect failed: %s", __func__, rc->name,
		    cac->errstr);
		rc->ac = NULL;		/* hiredis frees it */
		rconn_retry(rc);
		return;
	}
	rconn_set_state(rc, RCONN_HANDSHAKE);
}

/* hiredis disconnect callback: the context is being freed. */
static void
rconn_disconnect_cb(const redisAsyncContext *cac, int status)
{
	struct rconn	*rc = cac->data;

	(void)status;
	if (rc == NULL)
		return;
	log_debug("%s: %s: disconnected: %s", __func__, rc->name,
	    cac->errstr != NULL && cac->err ? cac->errstr : "closed");
	rc->ac = NULL;
	if (rc->state == RCONN_FAILED)
		return;
	if (rc->lost_cb != NULL && rc->state == RCONN_READY) {
		rconn_set_state(rc, RCONN_BACKOFF);
		rc->lost_cb(rc, rc->arg);
	}
	rconn_retry(rc);
}

static void
rconn_ev_read(int fd, short events, void *arg)
{
	struct rconn_ev	*e = arg;

	(void)fd;
	(void)events;
	redisAsyncHandleRead(e->ac);
}

/* The socket is writable, or a flush is due: write what is queued. */
static void
rconn_ev_write(int fd, short events, void *arg)
{
	struct rconn_ev	*e = arg;

	(void)fd;
	(void)events;
	rconn_flushing = e;
	redisAsyncHandleWrite(e->ac);
	rconn_flushing = NULL;
}

static void
rconn_ev_add_read(void *data)
{
	struct rconn_ev	*e = data;

	if (!e->reading) {
		event_add(e->rev, NULL);
		e->reading = 1;
	}
}

static void
rconn_ev_del_read(void *data)
{
	struct rconn_ev	*e = data;

	if (e->reading) {
		event_del(e->rev);
		e->reading = 0;
	}
}

/*
 * hiredis has output to send. Until the connect completed, and when a
 * write left output behind, wait for the socket; otherwise flush once
 * this loop iteration's callbacks are done.
 */
static void
rconn_ev_add_write(void *data)
{
	struct rconn_ev	*e = data;

	if (rconn_flushing == e || !(e->ac->c.flags & REDIS_CONNECTED))
		event_add(e->wev, NULL);
	else if (!event_pending(e->fev, EV_WRITE, NULL))
		event_active(e->fev, EV_WRITE, 0);
}

static void
rconn_ev_del_write(void *data)
{
	struct rconn_ev	*e = data;

	event_del(e->wev);
}

static void
rconn_ev_cleanup(void *data)
{
	struct rconn_ev	*e = data;

	if (rconn_flushing == e)
		rconn_flushing = NULL;
	event_free(e->rev);
	event_free(e->wev);
	event_free(e->fev);
	free(e);
}

/* Hook a new context into the loop. */
static void
rconn_ev_attach(redisAsyncContext *ac, struct event_base *base)
{
	struct rconn_ev	*e;
	int		 fd = ac->c.fd;

	e = xcalloc(1, sizeof *e);
	e->ac = ac;
	e->rev = event_new(base, fd, EV_READ | EV_PERSIST, rconn_ev_read, e);
	e->wev = event_new(base, fd, EV_WRITE, rconn_ev_write, e);
	e->fev = event_new(base, -1, 0, rconn_ev_write, e);
	if (e->rev == NULL || e->wev == NULL || e->fev == NULL)
		fatalx("%s: event_new", __func__);
	ac->ev.addRead = rconn_ev_add_read;
	ac->ev.delRead = rconn_ev_del_read;
	ac->ev.addWrite = rconn_ev_add_write;
	ac->ev.delWrite = rconn_ev_del_write;
	ac->ev.cleanup = rconn_ev_cleanup;
	ac->ev.data = e;
	rconn_ev_add_read(e);
	event_add(e->wev, NULL);	/* the connect completes */
}

/* Start one connection attempt, queueing the handshake commands. */
static void
rconn_connect(struct rconn *rc)
{
	const struct redis_url	*u = rc->url;
	redisAsyncContext	*ac;
	struct timeval		 tv;

	if (u->type == URL_UNIX)
		ac = redisAsyncConnectUnix(u->path);
	else
		ac = redisAsyncConnect(u->host, u->port);
	if (ac == NULL)
		fatalx("%s: out of memory", __func__);
	if (ac->err) {
		log_debug("%s: %s: %s", __func__, rc->name, ac->errstr);
		redisAsyncFree(ac);
		rconn_retry(rc);
		return;
	}
	ac->data = rc;
	rc->ac = ac;
	rconn_set_state(rc, RCONN_CONNECTING);
	rconn_ev_attach(ac, rc->base);
	redisAsyncSetConnectCallback(ac, rconn_connect_cb);
	redisAsyncSetDisconnectCallback(ac, rconn_disconnect_cb);
	if (u->password != NULL && u->user != NULL)
		redisAsyncCommand(ac, rconn_handshake_done, rc, "AUTH %s %s",
		    u->user, u->password);
	else if (u->password != NULL)
		redisAsyncCommand(ac, rconn_handshake_done, rc, "AUTH %s",
		    u->password);
	if (u->db != 0)
		redisAsyncCommand(ac, rconn_handshake_done, rc, "SELECT %d",
		    u->db);
	redisAsyncCommand(ac, rconn_ping_done, rc, "PING");
	tv.tv_sec = rc->deadline;
	tv.tv_usec = 0;
	evtimer_add(rc->timer, &tv);
}

/* Create a connection named name and start connecting. */
struct rconn *
rconn_new(struct event_base *base, const struct redis_url *url,
    const char *name, rconn_cb ready_cb, rconn_cb lost_cb, void *arg)
{
	struct rconn	*rc;

	rc = xcalloc(1, sizeof *rc);
	rc->base = base;
	rc->url = url;
	rc->name = xstrdup(name);
	rc->ready_cb = ready_cb;
	rc->lost_cb = lost_cb;
	rc->arg = arg;
	rc->deadline = 5;
	rc->state = RCONN_IDLE;
	rc->down_since = util_now_ms();
	if ((rc->timer = evtimer_new(base, rconn_timer_cb, rc)) == NULL)
		fatalx("%s: evtimer_new", __func__);
	rconn_connect(rc);
	return (rc);
}

/*
 * Close and free. Pending reply callbacks are called with NULL replies
 * before this returns (or, inside a hiredis callback, when it unwinds).
 */
void
rconn_free(struct rconn *rc)
{
	redisAsyncContext	*ac;

	if (rc == NULL)
		return;
	if ((ac = rc->ac) != NULL) {
		rc->ac = NULL;
		ac->data = NULL;
		redisAsyncFree(ac);
	}
	event_free(rc->timer);
	free(rc->error);
	free(rc->name);
	free(rc->fmt);
	free(rc);
}

int
rconn_is_ready(const struct rconn *rc)
{
	return (rc->state == RCONN_READY && rc->ac != NULL);
}

/* The permanent error (AUTH refused), or NULL. */
const char *
rconn_error(const struct rconn *rc)
{
	return (rc->error);
}

/* How long the connection has been down, in ms (0 when ready). */
uint64_t
rconn_down_ms(const struct rconn *rc)
{
	if (rc->down_since == 0)
		return (0);
	return (util_now_ms() - rc->down_since);
}

const char *
rconn_name(const struct rconn *rc)
{
	return (rc->name);
}

redisAsyncContext *
rconn_context(struct rconn *rc)
{
	return (rc->ac);
}

/* Send a command; -1 when the connection is not ready. */
int
rconn_command(struct rconn *rc, redisCallbackFn *fn, void *privdata,
    const char *fmt, ...)
{
	va_list	ap;
	int	rv;

	if (!rconn_is_ready(rc))
		return (-1);
	va_start(ap, fmt);
	rv = redisvAsyncCommand(rc->ac, fn, privdata, fmt, ap);
	va_end(ap);
	return (rv == REDIS_OK ? 0 : -1);
}

/*
 * Send a command given as an argument vector; -1 when not ready. The
 * agents send their scripts this way once per task: the request is
 * written here into a buffer the connection keeps (hiredis 0.14 formats
 * it into a new string, one sdscatfmt and two appends per argument,
 * which cost an agent a fifth of its own instructions).
 */
int
rconn_command_argv(struct rconn *rc, redisCallbackFn *fn, void *privdata,
    int argc, const char **argv, const size_t *argvlen)
{
	size_t	 need, len, n;
	char	*p;
	int	 i;

	if (!rconn_is_ready(rc))
		return (-1);
	need = 1 + 20 + 2;				/* *argc\r\n */
	for (i = 0; i < argc; i++)
		need += 1 + 20 + 2 + argvlen[i] + 2;	/* $len\r\narg\r\n */
	if (need > rc->fmtcap) {
		free(rc->fmt);
		rc->fmtcap = need < 4096 ? 4096 : need;
		rc->fmt = xmalloc(rc->fmtcap);
	}
	p = rc->fmt;
	*p++ = '*';
	p += util_u64_dec(p, (uint64_t)argc);
	*p++ = '\r';
	*p++ = '\n';
	for (i = 0; i < argc; i++) {
		n = argvlen[i];
		*p++ = '$';
		p += util_u64_dec(p, n);
		*p++ = '\r';
		*p++ = '\n';
		memcpy(p, argv[i], n);
		p += n;
		*p++ = '\r';
		*p++ = '\n';
	}
	len = (size_t)(p - rc->fmt);
	if (redisAsyncFormattedCommand(rc->ac, fn, privdata, rc->fmt,
	    len) != REDIS_OK)
		return (-1);
	/* A large request's buffer goes back: keep what most need. */
	if (rc->fmtcap > 65536) {
		free(rc->fmt);
		rc->fmt = NULL;
		rc->fmtcap = 0;
	}
	return (0);
}

/* Drop the connection on purpose (as after a lost lease); it reconnects. */
void
rconn_reset(struct rconn *rc)
{
	if (rc->ac == NULL)
		return;
	if (rc->state == RCONN_READY && rc->lost_cb != NULL) {
		rconn_set_state(rc, RCONN_BACKOFF);
		rc->lost_cb(rc, rc->arg);
	}
	rconn_retry(rc);
}

/* Sleep ms milliseconds (start-up only, before the loop runs). */
static void
usleep_ms(int ms)
{
	struct timespec	ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Check a synchronous reply; on failure set *cause and return -1. */
static int
rconn_sync_check(redisContext *c, redisReply *reply, const char *where,
    const char *what, char **cause)
{
	int	rv = 0;

	if (reply == NULL) {
		xasprintf(cause, "Redis at %s: %s failed: %s", where, what,
		    c->errstr);
		return (-1);
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		if (strcmp(what, "AUTH") == 0)
			xasprintf(cause, "Redis at %s refused the password: "
			    "%s", where, reply->str);
		else
			xasprintf(cause, "Redis at %s: %s refused: %s", where,
			    what, reply->str);
		rv = -1;
	}
	freeReplyObject(reply);
	return (rv);
}

/*
 * Blocking connect, AUTH, SELECT and PING, retried until timeout seconds
 * have passed. Used once before the event loop runs. On failure *cause
 * names the address (never the password) and says what went wrong.
 */
redisContext *
rconn_sync_connect(const struct redis_url *u, int timeout, char **cause)
{
	redisContext	*c = NULL;
	redisReply	*reply;
	struct timeval	 tv = { 2, 0 };
	uint64_t	 end = util_now_ms() + (uint64_t)timeout * 1000;
	char		*where, *last = NULL;
	int		 delay = 100;

	where = url_display(u);
	for (;;) {
		if (u->type == URL_UNIX)
			c = redisConnectUnixWithTimeout(u->path, tv);
		else
			c = redisConnectWithTimeout(u->host, u->port, tv);
		if (c == NULL)
			fatalx("%s: out of memory", __func__);
		if (c->err == 0) {
			redisSetTimeout(c, tv);
			break;
		}
		free(last);
		last = xstrdup(c->errstr);
		redisFree(c);
		c = NULL;
		if (util_now_ms() + (uint64_t)delay >= end)
			goto unreachable;
		usleep_ms(delay);
		if ((delay *= 2) > 1000)
			delay = 1000;
	}
	if (u->password != NULL) {
		if (u->user != NULL)
			reply = redisCommand(c, "AUTH %s %s", u->user,
			    u->password);
		else
			reply = redisCommand(c, "AUTH %s", u->password);
		if (rconn_sync_check(c, reply, where, "AUTH", cause) != 0)
			goto fail;
	}
	if (u->db != 0) {
		reply = redisCommand(c, "SELECT %d", u->db);
		if (rconn_sync_check(c, reply, where, "SELECT", cause) != 0)
			goto fail;
	}
	reply = redisCommand(c, "PING");
	if (rconn_sync_check(c, reply, where, "PING", cause) != 0)
		goto fail;
	free(where);
	free(last);
	return (c);

unreachable:
	xasprintf(cause, "cannot reach Redis at %s after %d s: %s", where,
	    timeout, last != NULL ? last : "unknown error");
	free(last);
	free(where);
	return (NULL);
fail:
	redisFree(c);
	free(where);
	free(last);
	return (NULL);
}

/*
 * The reply callback of a command whose answer matters only when it is an
 * error: logs it, with what the command was for (privdata, a string, or
 * NULL).
 */
void
rconn_check_reply(redisAsyncContext *ac, void *r, void *privdata)
{
	redisReply	*reply = r;
	const char	*what = privdata;

	(void)ac;
	if (reply != NULL && reply->type == REDIS_REPLY_ERROR)
		log_warnx("%s: %s", what != NULL ? what : "Redis", reply->str);
}

/*
 * Send a command whose answer matters only when it is an error, which is
 * logged with what (what the command is for); -1 when not ready.
 */
int
rconn_command_checked(struct rconn *rc, const char *what, const char *fmt, ...)
{
	va_list	ap;
	int	rv;

	if (!rconn_is_ready(rc))
		return (-1);
	va_start(ap, fmt);
	rv = redisvAsyncCommand(rc->ac, rconn_check_reply,
	    (void *)(uintptr_t)what, fmt, ap);
	va_end(ap);
	return (rv == REDIS_OK ? 0 : -1);
}

/*
 * Send a command on a synchronous connection. The reply, or NULL when the
 * connection failed or Redis answered an error: then *cause says which
 * (or, with cause NULL, it is logged).
 */
redisReply *
rconn_sync_command(redisContext *c, char **cause, const char *fmt, ...)
{
	redisReply	*reply;
	va_list		 ap;
	char		*why;

	va_start(ap, fmt);
	reply = redisvCommand(c, fmt, ap);
	va_end(ap);
	if (reply != NULL && reply->type != REDIS_REPLY_ERROR)
		return (reply);
	xasprintf(&why, "%s", reply == NULL ? c->errstr : reply->str);
	if (reply != NULL)
		freeReplyObject(reply);
	if (cause != NULL)
		*cause = why;
	else {
		log_warnx("Redis: %s", why);
		free(why);
	}
	return (NULL);
}

/* The value of field in INFO's "field:value" lines, into buf ("?"). */
const char *
rconn_info_field(const char *info, const char *field, char *buf,
    size_t size)
{
	const char	*p = info;
	size_t		 flen = strlen(field), n;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, field, flen) == 0 && p[flen] == ':') {
			p += flen + 1;
			n = strcspn(p, "\r\n");
			if (n >= size)
				n = size - 1;
			memcpy(buf, p, n);
			buf[n] = '\0';
			return (buf);
		}
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	snprintf(buf, size, "?");
	return (buf);
}

/*
 * Is Redis full, by the text of INFO memory: a maxmemory set and used
 * memory within 3 % of it? Then *why says so, naming both and the
 * policy (caller frees). Pure: the callers send INFO themselves.
 */
int
rconn_memory_full(const char *info, char **why)
{
	char		 used[64], max[64], uh[64], mh[64], policy[64];
	const char	*errstr;
	long long	 u, m;

	*why = NULL;
	rconn_info_field(info, "used_memory", used, sizeof used);
	rconn_info_field(info, "maxmemory", max, sizeof max);
	u = util_strtonum(used, 0, LLONG_MAX, &errstr);
	if (errstr != NULL)
		return (0);
	m = util_strtonum(max, 0, LLONG_MAX, &errstr);
	if (errstr != NULL || m == 0 || u < m - m / 33)
		return (0);
	rconn_info_field(info, "used_memory_human", uh, sizeof uh);
	rconn_info_field(info, "maxmemory_human", mh, sizeof mh);
	rconn_info_field(info, "maxmemory_policy", policy, sizeof policy);
	xasprintf(why, "Redis is out of memory: it uses %s of its maxmemory "
	    "%s (maxmemory-policy %s) and refuses writes, so the run cannot "
	    "record its results: free memory or raise maxmemory", uh, mh,
	    policy);
	return (1);
}
