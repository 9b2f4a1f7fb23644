/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The output a task keeps under its cap: the head and the tail, with the
 * gap between them marked. A failing task's error is at its end, so
 * keeping only the start would lose it. Pure: no I/O.
 *
 * Data flow: the owner gives every chunk to clip_add(), which says how
 * many bytes at the chunk's start belong to the head (the first
 * CLIP_HEAD(cap) bytes of the output); the owner sends or keeps those at
 * once. What comes after the head waits in a ring of CLIP_TAIL(cap)
 * bytes, the oldest bytes falling out (counted, lines too) as new ones
 * come. At the end clip_end() gives what follows the head: all of it when
 * nothing fell out, else a marker line saying how much was left out and
 * the tail, from its first line start. Head, marker and tail together
 * stay within the cap and 256 bytes.
 *
 * clip_gap() tells of bytes left out before they came here (a kept
 * output cut again to a smaller cap, as dteq record does).
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dteq.h"

/* The newlines in buf[0..len). */
static uint64_t
clip_count_lines(const char *buf, size_t len)
{
	const char	*p = buf, *end = buf + len;
	uint64_t	 n = 0;

	while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		n++;
		p++;
	}
	return (n);
}

/* Start keeping output under cap bytes. */
void
clip_init(struct clip *c, size_t cap)
{
	memset(c, 0, sizeof *c);
	c->cap = cap;
	c->headcap = CLIP_HEAD(cap);
	c->tailcap = cap - c->headcap;
}

/* Bytes buf[0..len) fell out of the output, the last of them last. */
static void
clip_drop(struct clip *c, const char *buf, size_t len)
{
	if (len == 0)
		return;
	c->dropped += len;
	c->dropped_lines += clip_count_lines(buf, len);
	c->drop_nl = buf[len - 1] == '\n';
}

/* The n oldest bytes of the ring fall out. */
static void
clip_ring_drop(struct clip *c, size_t n)
{
	size_t	k;

	while (n > 0 && c->ringlen > 0) {
		k = c->tailcap - c->ringpos;
		if (k > c->ringlen)
			k = c->ringlen;
		if (k > n)
			k = n;
		clip_drop(c, c->ring + c->ringpos, k);
		c->ringpos = (c->ringpos + k) % c->tailcap;
		c->ringlen -= k;
		n -= k;
	}
}

/* Push buf[0..len) into the ring, the oldest bytes falling out. */
static void
clip_ring_push(struct clip *c, const char *buf, size_t len)
{
	size_t	n, at;

	if (c->tailcap == 0) {
		clip_drop(c, buf, len);
		return;
	}
	if (c->ring == NULL)
		c->ring = xmalloc(c->tailcap);
	if (len >= c->tailcap) {
		/* All the ring falls out, then the start of buf. */
		clip_ring_drop(c, c->ringlen);
		clip_drop(c, buf, len - c->tailcap);
		memcpy(c->ring, buf + len - c->tailcap, c->tailcap);
		c->ringpos = 0;
		c->ringlen = c->tailcap;
		return;
	}
	if (c->ringlen + len > c->tailcap)
		clip_ring_drop(c, c->ringlen + len - c->tailcap);
	while (len > 0) {
		at = (c->ringpos + c->ringlen) % c->tailcap;
		n = c->tailcap - at;
		if (n > len)
			n = len;
		memcpy(c->ring + at, buf, n);
		c->ringlen += n;
		buf += n;
		len -= n;
	}
}

/*
 * A chunk of output: returns how many bytes at its start belong to the
 * head (the caller keeps them); the rest is held for the tail.
 */
size_t
clip_add(struct clip *c, const char *buf, size_t len)
{
	size_t	take;

	c->total += len;
	if (c->ended)
		return (0);
	take = c->headcap - c->head;
	if (take > len)
		take = len;
	if (take > 0) {
		c->head += take;
		c->head_nl = buf[take - 1] == '\n';
	}
	if (len > take)
		clip_ring_push(c, buf + take, len - take);
	return (take);
}

/*
 * Bytes left out before they came (lines of them newlines, nl: the last
 * was one): what the ring holds falls out too, as the tail must be the
 * output's end.
 */
void
clip_gap(struct clip *c, uint64_t bytes, uint64_t lines, int nl)
{
	if (bytes == 0)
		return;
	c->head = c->headcap;
	clip_ring_drop(c, c->ringlen);
	c->total += bytes;
	c->dropped += bytes;
	c->dropped_lines += lines;
	c->drop_nl = nl;
}

/* Were bytes left out? */
int
clip_is_cut(const struct clip *c)
{
	return (c->dropped > 0);
}

/* The tail held so far, in one piece (*len its length). Borrowed. */
const char *
clip_tail(struct clip *c, size_t *len)
{
	char	*flat;
	size_t	 n;

	if (c->ringpos > 0 && c->ringlen > 0) {
		flat = xmalloc(c->tailcap);
		n = c->tailcap - c->ringpos;
		if (n > c->ringlen)
			n = c->ringlen;
		memcpy(flat, c->ring + c->ringpos, n);
		memcpy(flat + n, c->ring, c->ringlen - n);
		free(c->ring);
		c->ring = flat;
	}
	c->ringpos = 0;
	*len = c->ringlen;
	return (c->ringlen > 0 ? c->ring : "");
}

/*
 * What follows the head, once the output is over: the held bytes, or
 * the marker and the tail from its first line start (*len its length;
 * the bytes of a line cut at the tail's start are counted as left out).
 * Caller frees. Output added afterwards is counted, not kept.
 */
char *
clip_end(struct clip *c, size_t *len)
{
	char		*out, *marker = NULL;
	const char	*nl;
	size_t		 mlen = 0, skip = 0, k;

	c->ended = 1;
	clip_tail(c, &k);
	if (c->dropped > 0) {
		if (!c->drop_nl && c->ringlen > 0 &&
		    (nl = memchr(c->ring, '\n', c->ringlen)) != NULL &&
		    nl + 1 < c->ring + c->ringlen) {
			skip = (size_t)(nl + 1 - c->ring);
			clip_drop(c, c->ring, skip);
		}
		mlen = (size_t)xasprintf(&marker, "%s[output truncated: %llu "
		    "bytes (%llu lines) left out here, of %llu; the first "
		    "%zu and the last %zu bytes are kept]\n",
		    c->head_nl ? "" : "\n", (unsigned long long)c->dropped,
		    (unsigned long long)c->dropped_lines,
		    (unsigned long long)c->total, c->head,
		    c->ringlen - skip);
	}
	k = c->ringlen - skip;
	out = xmalloc(mlen + k + 1);
	if (mlen > 0)
		memcpy(out, marker, mlen);
	if (k > 0)
		memcpy(out + mlen, c->ring + skip, k);
	out[mlen + k] = '\0';
	free(marker);
	free(c->ring);
	c->ring = NULL;
	c->ringlen = 0;
	*len = mlen + k;
	return (out);
}

/* Free what c holds (c itself is the caller's). */
void
clip_free(struct clip *c)
{
	free(c->ring);
	c->ring = NULL;
	c->ringlen = c->ringpos = 0;
}
