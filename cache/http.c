/* dteq: self-hosted distributed task execution over Redis. */

/*
 * A small HTTP/1.1 server on bufferevents, written for the cache because
 * libevent 2.1's evhttp reads a whole request body into memory before
 * the handler runs: a 200 MB upload would sit whole in memory. Here a
 * body is handed to the handler as it arrives, and the handler can stop
 * the flow until Redis has caught up.
 *
 * One request at a time per connection; keep-alive, and pipelined
 * requests wait in the input buffer until the response before them is
 * out. Bodies are framed by Content-Length or chunked transfer coding
 * (parse.c); anything else is refused before the body is read.
 *
 * Connection states (http_set_state):
 *
 *	IDLE ---- head parsed ---> HANDLER: handler->request(); reading
 *	  ^                          |      stopped until it decides
 *	  |            http_read_body()   http_response() (no body
 *	  |                          v      read: "early" reply)
 *	  |                        BODY: body bytes -> handler->body();
 *	  |                          |   http_pause()/http_resume()
 *	  |                   body complete -> handler->body_end()
 *	  |                          v
 *	  |                        WAIT: until http_response()
 *	  |                          v
 *	  +---- keep-alive ------- REPLY: head and body out; the handler's
 *	                             |    drain callback asks for more
 *	                   close, or early reply with the body unread
 *	                             v
 *	                          LINGER: write side shut, input thrown
 *	                             |    away for a moment so the client
 *	                             v    reads the reply, not a reset
 *	                          CLOSED: on the server's dead list; its
 *	                                  reaper event frees it
 *
 * Any error, timeout or EOF in the middle closes the connection, and
 * handler->close() tells the handler once, so it can drop what it holds.
 * Nothing is freed from inside its own callback: a closed connection is
 * freed by the server's reaper event, and a resumed one is processed by
 * its own deferred event, never from inside the caller.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "cache.h"

#define HTTP_IDLE	0
#define HTTP_HANDLER	1
#define HTTP_BODY	2
#define HTTP_WAIT	3
#define HTTP_REPLY	4
#define HTTP_LINGER	5
#define HTTP_CLOSED	6

static const char *http_state_names[] = {
	"idle", "handler", "body", "wait", "reply", "linger", "closed"
};

#define HTTP_CONNS_MAX	256		/* connections at once */
#define HTTP_READ_MAX	(256 * 1024)	/* input buffered before a pause */
#define HTTP_DRAIN_LOW	(256 * 1024)	/* drain callback below this */
#define HTTP_TIMEOUT	60		/* s without progress */
#define HTTP_LINGER_TIME 2		/* s of lingering per read */
#define HTTP_LINGER_MAX	(64 * 1024 * 1024)	/* bytes thrown away */

struct http_conn {
	struct http_server	*server;
	struct bufferevent	*bev;
	struct event		*ev_defer;	/* deferred input processing */
	int			 state;
	uint64_t		 id;

	struct http_head	 head;
	int			 has_body;	/* the request has a body */
	uint64_t		 body_left;	/* body bytes left to read */
	struct chunked		 chunked;
	struct evbuffer		*body;		/* handed to handler->body */
	int			 paused;
	int			 in_handler;	/* handler owns the request */
	void			*data;		/* the handler's */

	struct evbuffer		*out_head;	/* response head being built */
	int			 status;
	uint64_t		 out_left;	/* response bytes to come */
	int			 out_done;	/* whole response queued */
	int			 must_close;
	uint64_t		 discarded;	/* while lingering */

	TAILQ_ENTRY(http_conn)	 entry;
};
TAILQ_HEAD(http_conns, http_conn);

struct http_server {
	struct event_base	*base;
	struct evconnlistener	*listener;
	struct http_handler	 handler;
	struct event		*ev_reap;
	struct http_conns	 conns;
	struct http_conns	 dead;
	size_t			 nconns;
	int			 port;
	uint64_t		 next_id;
};

static void	http_process(struct http_conn *);
static void	http_close(struct http_conn *);
static void	http_request_done(struct http_conn *);

/* Move a connection to a new state, logging the transition. */
static void
http_set_state(struct http_conn *c, int state)
{
	if (c->state != state)
		log_debug("%s: conn %llu: %s -> %s", __func__,
		    (unsigned long long)c->id, http_state_names[c->state],
		    http_state_names[state]);
	c->state = state;
}

/* The reason phrase of a status. */
const char *
http_status_text(int status)
{
	switch (status) {
	case 100: return ("Continue");
	case 200: return ("OK");
	case 202: return ("Accepted");
	case 204: return ("No Content");
	case 400: return ("Bad Request");
	case 401: return ("Unauthorized");
	case 403: return ("Forbidden");
	case 404: return ("Not Found");
	case 405: return ("Method Not Allowed");
	case 408: return ("Request Timeout");
	case 409: return ("Conflict");
	case 411: return ("Length Required");
	case 413: return ("Content Too Large");
	case 417: return ("Expectation Failed");
	case 431: return ("Request Header Fields Too Large");
	case 500: return ("Internal Server Error");
	case 501: return ("Not Implemented");
	case 503: return ("Service Unavailable");
	case 505: return ("HTTP Version Not Supported");
	}
	return ("Unknown");
}

/* Start or stop reading from the client. */
static void
http_reading(struct http_conn *c, int on)
{
	if (on)
		bufferevent_enable(c->bev, EV_READ);
	else
		bufferevent_disable(c->bev, EV_READ);
}

/* Whether the request body has been read to its end. */
static int
http_body_complete(const struct http_conn *c)
{
	if (!c->has_body)
		return (1);
	if (c->head.chunked)
		return (c->chunked.state == CHUNKED_DONE);
	return (c->body_left == 0);
}

/* Hand body bytes in c->body to the handler, then drop what it left. */
static void
http_deliver(struct http_conn *c)
{
	const struct http_handler	*h = &c->server->handler;

	if (c->in_handler && h->body != NULL)
		h->body(c, c->body, h->arg);
	evbuffer_drain(c->body, evbuffer_get_length(c->body));
}

/* The body is complete: tell the handler and wait for its reply. */
static void
http_body_end(struct http_conn *c)
{
	const struct http_handler	*h = &c->server->handler;

	http_set_state(c, HTTP_WAIT);
	http_reading(c, 0);
	if (c->in_handler && h->body_end != NULL)
		h->body_end(c, h->arg);
}

/*
 * Reject a request we cannot frame: take it from the handler (which
 * hears of it through its close callback), reply and close.
 */
static void
http_fail(struct http_conn *c, int status, const char *why)
{
	const struct http_handler	*h = &c->server->handler;

	log_debug("%s: conn %llu: %d: %s", __func__,
	    (unsigned long long)c->id, status, why);
	if (c->in_handler) {
		c->in_handler = 0;
		if (h->close != NULL)
			h->close(c, h->arg);
	}
	c->must_close = 1;
	http_reply(c, status, "text/plain", why);
}

/* Read Content-Length body bytes from the input. */
static void
http_read_length(struct http_conn *c)
{
	struct evbuffer	*in = bufferevent_get_input(c->bev);
	size_t		 n;

	while (c->state == HTTP_BODY && !c->paused && c->body_left > 0 &&
	    (n = evbuffer_get_length(in)) > 0) {
		if (n > c->body_left)
			n = (size_t)c->body_left;
		evbuffer_remove_buffer(in, c->body, n);
		c->body_left -= n;
		http_deliver(c);
	}
	if (c->state == HTTP_BODY && c->body_left == 0)
		http_body_end(c);
}

/* Read chunked body bytes from the input. */
static void
http_read_chunked(struct http_conn *c)
{
	struct evbuffer		*in = bufferevent_get_input(c->bev);
	struct evbuffer_iovec	 v;
	size_t			 used, off, n;

	while (c->state == HTTP_BODY && !c->paused &&
	    c->chunked.state != CHUNKED_DONE &&
	    evbuffer_peek(in, -1, NULL, &v, 1) > 0) {
		used = chunked_feed(&c->chunked, v.iov_base, v.iov_len, &off,
		    &n);
		if (c->chunked.state == CHUNKED_ERROR) {
			http_fail(c, 400, "bad chunked encoding");
			return;
		}
		evbuffer_drain(in, off);
		if (n > 0) {
			evbuffer_remove_buffer(in, c->body, n);
			http_deliver(c);
		}
		evbuffer_drain(in, used - off - n);
	}
	if (c->state == HTTP_BODY && c->chunked.state == CHUNKED_DONE)
		http_body_end(c);
}

/* Find the end of a request head: its length and the blank line's. */
static int
http_find_head(struct evbuffer *in, size_t *headlen, size_t *skip)
{
	size_t		 len = evbuffer_get_length(in);
	const char	*p, *a, *b;

	if (len > HTTP_HEAD_MAX + 3)
		len = HTTP_HEAD_MAX + 3;
	if ((p = (const char *)evbuffer_pullup(in, (ev_ssize_t)len)) == NULL)
		return (0);
	a = memmem(p, len, "\n\n", 2);
	b = memmem(p, len, "\n\r\n", 3);
	if (a == NULL && b == NULL)
		return (0);
	if (b == NULL || (a != NULL && a < b)) {
		*headlen = (size_t)(a - p) + 1;
		*skip = 1;
	} else {
		*headlen = (size_t)(b - p) + 1;
		*skip = 2;
	}
	return (1);
}

/* Parse a request head from the input, if a whole one is there. */
static void
http_read_head(struct http_conn *c)
{
	struct evbuffer			*in = bufferevent_get_input(c->bev);
	const struct http_handler	*h = &c->server->handler;
	const char			*p;
	size_t				 headlen, skip;
	char				*cause;
	int				 status;

	while ((p = (const char *)evbuffer_pullup(in, 1)) != NULL &&
	    (*p == '\r' || *p == '\n'))
		evbuffer_drain(in, 1);
	if (!http_find_head(in, &headlen, &skip)) {
		if (evbuffer_get_length(in) > HTTP_HEAD_MAX)
			http_fail(c, 431, "request head too large");
		return;
	}
	p = (const char *)evbuffer_pullup(in, (ev_ssize_t)(headlen + skip));
	if (parse_head(p, headlen, &c->head, &status, &cause) != 0) {
		evbuffer_drain(in, headlen + skip);
		http_fail(c, status, cause);
		free(cause);
		return;
	}
	evbuffer_drain(in, headlen + skip);
	log_debug("%s: conn %llu: %s %s", __func__, (unsigned long long)c->id,
	    c->head.method, c->head.target);
	c->has_body = c->head.chunked || c->head.content_length > 0;
	c->body_left = c->head.content_length > 0 ?
	    (uint64_t)c->head.content_length : 0;
	chunked_init(&c->chunked);
	c->in_handler = 1;
	http_set_state(c, HTTP_HANDLER);
	http_reading(c, 0);
	h->request(c, h->arg);
}

/* Act on whatever input is buffered, as far as the state allows. */
static void
http_process(struct http_conn *c)
{
	struct evbuffer	*in = bufferevent_get_input(c->bev);
	size_t		 n;

	switch (c->state) {
	case HTTP_IDLE:
		http_read_head(c);
		break;
	case HTTP_BODY:
		if (c->head.chunked)
			http_read_chunked(c);
		else
			http_read_length(c);
		break;
	case HTTP_LINGER:
		n = evbuffer_get_length(in);
		c->discarded += n;
		evbuffer_drain(in, n);
		if (c->discarded > HTTP_LINGER_MAX)
			http_close(c);
		break;
	}
}

/* Deferred processing, after http_resume() or a finished request. */
static void
http_defer_cb(evutil_socket_t fd, short events, void *arg)
{
	struct http_conn	*c = arg;

	(void)fd;
	(void)events;
	if (c->state != HTTP_CLOSED)
		http_process(c);
}

/* Input arrived. */
static void
http_read_cb(struct bufferevent *bev, void *arg)
{
	struct http_conn	*c = arg;

	(void)bev;
	http_process(c);
}

/* Output drained below the low watermark, or to nothing. */
static void
http_write_cb(struct bufferevent *bev, void *arg)
{
	struct http_conn		*c = arg;
	const struct http_handler	*h = &c->server->handler;

	if (c->state != HTTP_REPLY && c->state != HTTP_LINGER)
		return;
	if (!c->out_done) {
		if (c->in_handler && h->drain != NULL)
			h->drain(c, h->arg);
		return;
	}
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		http_request_done(c);
}

/* EOF, error or timeout: the connection is over. */
static void
http_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct http_conn	*c = arg;

	(void)bev;
	if (what & BEV_EVENT_EOF && c->state == HTTP_BODY)
		log_debug("%s: conn %llu: client went away mid-body", __func__,
		    (unsigned long long)c->id);
	else if (what & BEV_EVENT_TIMEOUT && c->state != HTTP_LINGER)
		log_debug("%s: conn %llu: timed out (%s)", __func__,
		    (unsigned long long)c->id, http_state_names[c->state]);
	else if (what & BEV_EVENT_ERROR && c->state != HTTP_LINGER)
		log_debug("%s: conn %llu: %s", __func__,
		    (unsigned long long)c->id, strerror(errno));
	http_close(c);
}

/* Forget the current request, ready for the next one. */
static void
http_request_reset(struct http_conn *c)
{
	parse_head_clear(&c->head);
	c->has_body = 0;
	c->body_left = 0;
	c->paused = 0;
	c->in_handler = 0;
	c->data = NULL;
	c->status = 0;
	c->out_left = 0;
	c->out_done = 0;
	evbuffer_drain(c->body, evbuffer_get_length(c->body));
	evbuffer_drain(c->out_head, evbuffer_get_length(c->out_head));
}

/* The response is out: next request, linger, or close. */
static void
http_request_done(struct http_conn *c)
{
	struct timeval	tv = { HTTP_LINGER_TIME, 0 };

	if (c->state == HTTP_LINGER)
		return;
	if (!c->must_close && http_body_complete(c)) {
		http_request_reset(c);
		http_set_state(c, HTTP_IDLE);
		http_reading(c, 1);
		event_active(c->ev_defer, EV_TIMEOUT, 1);
		return;
	}
	if (http_body_complete(c)) {
		http_close(c);
		return;
	}
	/* Early reply: let the client see it before the connection goes. */
	c->in_handler = 0;
	http_set_state(c, HTTP_LINGER);
	shutdown(bufferevent_getfd(c->bev), SHUT_WR);
	bufferevent_set_timeouts(c->bev, &tv, NULL);
	http_reading(c, 1);
	event_active(c->ev_defer, EV_TIMEOUT, 1);
}

/*
 * Close the connection: tell the handler if it still holds the request,
 * then put the connection on the dead list for the reaper.
 */
static void
http_close(struct http_conn *c)
{
	struct http_server		*s = c->server;
	const struct http_handler	*h = &s->handler;
	int				 in_handler = c->in_handler;

	if (c->state == HTTP_CLOSED)
		return;
	http_set_state(c, HTTP_CLOSED);
	c->in_handler = 0;
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	event_del(c->ev_defer);
	TAILQ_REMOVE(&s->conns, c, entry);
	TAILQ_INSERT_TAIL(&s->dead, c, entry);
	event_active(s->ev_reap, EV_TIMEOUT, 1);
	if (in_handler && h->close != NULL)
		h->close(c, h->arg);
}

/* Free one closed connection. */
static void
http_conn_free(struct http_conn *c)
{
	parse_head_clear(&c->head);
	bufferevent_free(c->bev);
	event_free(c->ev_defer);
	evbuffer_free(c->body);
	evbuffer_free(c->out_head);
	free(c);
}

/* The reaper: free the connections closed since it last ran. */
static void
http_reap_cb(evutil_socket_t fd, short events, void *arg)
{
	struct http_server	*s = arg;
	struct http_conn	*c;

	(void)fd;
	(void)events;
	while ((c = TAILQ_FIRST(&s->dead)) != NULL) {
		TAILQ_REMOVE(&s->dead, c, entry);
		s->nconns--;
		http_conn_free(c);
	}
}

/* A new connection. */
static void
http_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct http_server	*s = arg;
	struct http_conn	*c;
	struct timeval		 tv = { HTTP_TIMEOUT, 0 };

	(void)l;
	(void)sa;
	(void)salen;
	if (s->nconns >= HTTP_CONNS_MAX) {
		log_warnx("cache: %d connections already: refusing one",
		    HTTP_CONNS_MAX);
		evutil_closesocket(fd);
		return;
	}
	c = xcalloc(1, sizeof *c);
	c->server = s;
	c->id = ++s->next_id;
	c->state = HTTP_IDLE;
	parse_head_clear(&c->head);
	c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->ev_defer = event_new(s->base, -1, 0, http_defer_cb, c);
	c->body = evbuffer_new();
	c->out_head = evbuffer_new();
	if (c->bev == NULL || c->ev_defer == NULL || c->body == NULL ||
	    c->out_head == NULL)
		fatalx("%s: out of memory", __func__);
	bufferevent_setcb(c->bev, http_read_cb, http_write_cb, http_event_cb,
	    c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, HTTP_READ_MAX);
	bufferevent_setwatermark(c->bev, EV_WRITE, HTTP_DRAIN_LOW, 0);
	bufferevent_set_max_single_read(c->bev, HTTP_READ_MAX);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	TAILQ_INSERT_TAIL(&s->conns, c, entry);
	s->nconns++;
	log_debug("%s: conn %llu", __func__, (unsigned long long)c->id);
}

/*
 * Listen on addr ("host:port", port 0 for any free one) and serve with
 * handler on base. Returns NULL with *cause set.
 */
struct http_server *
http_listen(struct event_base *base, const char *addr,
    const struct http_handler *handler, char **cause)
{
	struct http_server	*s;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;

	if (parse_listen_named("bad listen address", addr, &ss, &sslen,
	    cause) != 0)
		return (NULL);
	s = xcalloc(1, sizeof *s);
	s->base = base;
	s->handler = *handler;
	TAILQ_INIT(&s->conns);
	TAILQ_INIT(&s->dead);
	s->listener = evconnlistener_new_bind(base, http_accept_cb, s,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    -1, (struct sockaddr *)&ss, (int)sslen);
	if (s->listener == NULL) {
		xasprintf(cause, "cannot listen on %s: %s", addr,
		    strerror(errno));
		free(s);
		return (NULL);
	}
	sslen = sizeof ss;
	if (getsockname(evconnlistener_get_fd(s->listener),
	    (struct sockaddr *)&ss, &sslen) != 0)
		fatal("%s: getsockname", __func__);
	if (ss.ss_family == AF_INET6)
		s->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	else
		s->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if ((s->ev_reap = event_new(base, -1, 0, http_reap_cb, s)) == NULL)
		fatalx("%s: event_new", __func__);
	return (s);
}

/*
 * Stop listening and close every connection; handlers still holding a
 * request are told through their close callback.
 */
void
http_server_free(struct http_server *s)
{
	struct http_conn	*c;

	if (s == NULL)
		return;
	evconnlistener_free(s->listener);
	while ((c = TAILQ_FIRST(&s->conns)) != NULL)
		http_close(c);
	http_reap_cb(-1, 0, s);
	event_free(s->ev_reap);
	free(s);
}

/* The port the server listens on. */
int
http_server_port(const struct http_server *s)
{
	return (s->port);
}

/* The parsed request head. */
const struct http_head *
http_request(const struct http_conn *c)
{
	return (&c->head);
}

/* Whether the request is a HEAD (the response has no body). */
int
http_is_head(const struct http_conn *c)
{
	return (c->head.method != NULL && strcmp(c->head.method, "HEAD") == 0);
}

/* Attach the handler's state to the current request (NULL: detach). */
void
http_set_data(struct http_conn *c, void *data)
{
	c->data = data;
}

/* The handler's state for the current request, or NULL. */
void *
http_data(const struct http_conn *c)
{
	return (c->data);
}

/*
 * Start reading the request body into handler->body (and body_end at its
 * end, also for a request without a body); sends "100 Continue" if the
 * client waits for one. The callbacks come from the loop, never from
 * inside this call.
 */
void
http_read_body(struct http_conn *c)
{
	if (c->state != HTTP_HANDLER)
		return;
	if (c->has_body && c->head.expect_continue)
		bufferevent_write(c->bev, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	http_set_state(c, HTTP_BODY);
	if (c->has_body && !c->paused)
		http_reading(c, 1);
	event_active(c->ev_defer, EV_TIMEOUT, 1);
}

/* Stop taking body bytes until http_resume(). */
void
http_pause(struct http_conn *c)
{
	c->paused = 1;
	if (c->state == HTTP_BODY)
		http_reading(c, 0);
}

/* Take body bytes again, starting with those already buffered. */
void
http_resume(struct http_conn *c)
{
	if (!c->paused)
		return;
	c->paused = 0;
	if (c->state == HTTP_BODY) {
		http_reading(c, 1);
		event_active(c->ev_defer, EV_TIMEOUT, 1);
	}
}

/*
 * Begin a response with status. Replying before the body has been read
 * gives up on the body: the handler hears no more of it and the
 * connection closes after the reply.
 */
void
http_response(struct http_conn *c, int status)
{
	if (c->state == HTTP_CLOSED || c->state == HTTP_REPLY ||
	    c->state == HTTP_LINGER)
		return;
	if (!http_body_complete(c)) {
		c->must_close = 1;
		c->in_handler = 0;
		http_reading(c, 0);
	}
	if (!c->head.keep_alive)
		c->must_close = 1;
	c->status = status;
	evbuffer_drain(c->out_head, evbuffer_get_length(c->out_head));
	evbuffer_add_printf(c->out_head, "HTTP/1.1 %d %s\r\n", status,
	    http_status_text(status));
	http_set_state(c, HTTP_REPLY);
}

/* Add a header to the response being built. */
void
http_add_header(struct http_conn *c, const char *name, const char *fmt, ...)
{
	va_list	ap;

	if (c->state != HTTP_REPLY || c->out_done || c->out_left > 0)
		return;
	evbuffer_add_printf(c->out_head, "%s: ", name);
	va_start(ap, fmt);
	evbuffer_add_vprintf(c->out_head, fmt, ap);
	va_end(ap);
	evbuffer_add(c->out_head, "\r\n", 2);
}

/*
 * Send the response head with a body of length bytes to follow through
 * http_send_body() (none for a HEAD request).
 */
void
http_send_head(struct http_conn *c, uint64_t length)
{
	if (c->state != HTTP_REPLY || c->out_done || c->out_left > 0)
		return;
	evbuffer_add_printf(c->out_head, "Content-Length: %llu\r\n",
	    (unsigned long long)length);
	if (c->must_close)
		evbuffer_add_printf(c->out_head, "Connection: close\r\n");
	evbuffer_add(c->out_head, "\r\n", 2);
	bufferevent_write_buffer(c->bev, c->out_head);
	log_debug("%s: conn %llu: %d, %llu bytes", __func__,
	    (unsigned long long)c->id, c->status, (unsigned long long)length);
	c->out_left = http_is_head(c) ? 0 : length;
	if (c->out_left == 0)
		c->out_done = 1;
	bufferevent_enable(c->bev, EV_WRITE);
}

/* Send len bytes of the response body. */
void
http_send_body(struct http_conn *c, const void *data, size_t len)
{
	if (c->state != HTTP_REPLY || c->out_done)
		return;
	if (len > c->out_left)
		fatalx("%s: %zu bytes past the end of the response", __func__,
		    len);
	bufferevent_write(c->bev, data, len);
	c->out_left -= len;
	if (c->out_left == 0)
		c->out_done = 1;
}

/* Bytes of response waiting to be written to the client. */
size_t
http_output_len(const struct http_conn *c)
{
	return (evbuffer_get_length(bufferevent_get_output(c->bev)));
}

/* A whole response with a small body (may be NULL). */
void
http_reply(struct http_conn *c, int status, const char *ctype,
    const char *body)
{
	size_t	len = body != NULL ? strlen(body) : 0;

	http_response(c, status);
	if (len > 0 && ctype != NULL)
		http_add_header(c, "Content-Type", "%s", ctype);
	http_send_head(c, len);
	if (len > 0)
		http_send_body(c, body, len);
}

/*
 * Drop the connection at once, as when a response cannot be finished:
 * the client sees a short body, never a wrong one. The handler's close
 * callback is not called.
 */
void
http_abort(struct http_conn *c)
{
	c->in_handler = 0;
	http_close(c);
}
