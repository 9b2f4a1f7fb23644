/* dteq: self-hosted distributed task execution over Redis. */

/*
 * A task's output: what its child prints (output_child_cb(), the proc's
 * output callback) and the lines dteq adds to it (output_printf()). Both
 * are buffered per task and appended to the attempt's log in Redis by
 * the log script (output_flush()), which also announces the chunk when
 * the run streams output:
 *
 * - a buffer is sent when it holds OUTPUT_FLUSH_BYTES, or OUTPUT_FLUSH_MS
 *   after the first byte of it came, and before the task's result;
 * - at most output_cap bytes (the run's --output-cap) are kept for one
 *   attempt, its head and its tail (clip.c): the head is sent as it
 *   comes; what follows waits in the tail's ring and is sent when the
 *   task is over (output_end()), after a line saying how much was left
 *   out, if any was.
 */

#include <sys/queue.h>

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "worker.h"

#define OUTPUT_FLUSH_BYTES	65536
#define OUTPUT_FLUSH_MS		100

/* The flush timer: append buffered output now. */
static void
output_flush_cb(int fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	output_flush(arg);
}

/* Append buffered output to the attempt's log. */
void
output_flush(struct wtask *wt)
{
	struct worker	*w = wt->w;

	if (wt->ev_flush != NULL)
		evtimer_del(wt->ev_flush);
	if (wt->outlen == 0)
		return;
	script_log(w->rc_cmd, &w->sa, &wt->sat, wt->out, wt->outlen, w->ttl,
	    w->stream, rconn_check_reply, (void *)"the log script");
	wt->outlen = 0;
}

/*
 * Output from a task's child (p is NULL for dteq's own lines): buffer
 * what belongs to the head, sending every full buffer; the clip holds
 * the rest for the tail.
 */
void
output_child_cb(struct proc *p, const char *buf, size_t len, void *arg)
{
	struct wtask	*wt = arg;
	struct worker	*w = wt->w;
	size_t		 take, n;
	struct timeval	 tv = { 0, OUTPUT_FLUSH_MS * 1000 };

	(void)p;
	wt->output_total += len;
	if (wt->out == NULL) {
		wt->out = xmalloc(OUTPUT_FLUSH_BYTES);
		clip_init(&wt->clip, w->output_cap);
	}
	take = clip_add(&wt->clip, buf, len);
	while (take > 0) {
		n = OUTPUT_FLUSH_BYTES - wt->outlen;
		if (n > take)
			n = take;
		memcpy(wt->out + wt->outlen, buf, n);
		wt->outlen += n;
		buf += n;
		take -= n;
		if (wt->outlen == OUTPUT_FLUSH_BYTES)
			output_flush(wt);
	}
	if (wt->outlen > 0 && wt->ev_flush == NULL)
		wt->ev_flush = evtimer_new(w->base, output_flush_cb, wt);
	if (wt->outlen > 0 && !evtimer_pending(wt->ev_flush, NULL))
		evtimer_add(wt->ev_flush, &tv);
}

/*
 * The attempt is over: send what is buffered, then what the clip held
 * after the head (the marker and the tail if some was left out). Output
 * that comes later is counted, not sent.
 */
void
output_end(struct wtask *wt)
{
	struct worker	*w = wt->w;
	char		*rest;
	size_t		 len;

	output_flush(wt);
	if (wt->out == NULL || wt->clip.ended)
		return;
	rest = clip_end(&wt->clip, &len);
	if (len > 0) {
		script_log(w->rc_cmd, &w->sa, &wt->sat, rest, len, w->ttl,
		    w->stream, rconn_check_reply, (void *)"the log script");
	}
	free(rest);
}

/* A line of dteq's own in the task's output, as if the task printed it. */
void
output_printf(struct wtask *wt, const char *fmt, ...)
{
	va_list	 ap;
	char	*line;

	va_start(ap, fmt);
	xvasprintf(&line, fmt, ap);
	va_end(ap);
	output_child_cb(NULL, line, strlen(line), wt);
	free(line);
}

/* Free a task's output buffer and timer. */
void
output_free(struct wtask *wt)
{
	if (wt->ev_flush != NULL)
		event_free(wt->ev_flush);
	free(wt->out);
	clip_free(&wt->clip);
}
