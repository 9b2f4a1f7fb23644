/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Unit tests for common/clip.c, the head and tail an output keeps under
 * its cap: output under the cap is kept whole; output over it keeps its
 * first CLIP_HEAD(cap) bytes and its end (from a line start) with a
 * marker between that counts what was left out; the result does not
 * depend on how the output was cut into chunks; an output kept under
 * one cap and cut again to a smaller one (clip_gap(), as dteq record
 * does) is the same as if kept under the smaller one from the start.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dteq.h"
#include "test.h"

/* "line 1\n" ... "line n\n"; *len its length. Caller frees. */
static char *
make_lines(size_t n, size_t *len)
{
	char	*buf, *p;
	size_t	 i;

	buf = xmalloc(n * 16 + 1);
	p = buf;
	for (i = 1; i <= n; i++)
		p += sprintf(p, "line %zu\n", i);
	*len = (size_t)(p - buf);
	return (buf);
}

/*
 * Keep buf[0..len) under cap, fed in chunks of chunk bytes (0: sizes
 * from a fixed pseudo-random series): head, marker, tail as one string.
 * Caller frees; *outlen its length.
 */
static char *
clip_all(const char *buf, size_t len, size_t cap, size_t chunk,
    size_t *outlen, struct clip *keep)
{
	struct clip	 c;
	char		*out, *rest;
	size_t		 off = 0, n, take, restlen, olen = 0;
	unsigned int	 seed = 7;

	clip_init(&c, cap);
	out = xmalloc(len + 1024);
	while (off < len) {
		if (chunk == 0) {
			seed = seed * 1103515245 + 12345;
			n = 1 + (seed >> 16) % 700;
		} else
			n = chunk;
		if (n > len - off)
			n = len - off;
		take = clip_add(&c, buf + off, n);
		memcpy(out + olen, buf + off, take);
		olen += take;
		off += n;
	}
	rest = clip_end(&c, &restlen);
	memcpy(out + olen, rest, restlen);
	olen += restlen;
	out[olen] = '\0';
	free(rest);
	if (keep != NULL)
		*keep = c;
	else
		clip_free(&c);
	*outlen = olen;
	return (out);
}

/* Under the cap: everything, no marker. */
static void
test_under_cap(void)
{
	char	*in, *out;
	size_t	 len, olen;

	in = make_lines(100, &len);		/* 792 bytes */
	out = clip_all(in, len, 1024, 0, &olen, NULL);
	CHECK(olen == len);
	CHECK(memcmp(in, out, len) == 0);
	CHECK(strstr(out, "[output truncated") == NULL);
	free(out);
	out = clip_all(in, len, (size_t)len, 1, &olen, NULL);
	CHECK(olen == len && memcmp(in, out, len) == 0);
	free(out);
	free(in);
}

/* Over the cap: the head, the marker with the counts, the end. */
static void
test_over_cap(void)
{
	struct clip	 c;
	char		*in, *out, *m, *tail, want[128];
	size_t		 len, olen, cap = 4096, head = CLIP_HEAD(4096);
	size_t		 taillen;
	unsigned long long dropped, lines, total;
	size_t		 kh, kt, i, nl;

	in = make_lines(10000, &len);
	out = clip_all(in, len, cap, 0, &olen, &c);
	CHECK(olen <= cap + 256);
	CHECK(olen >= cap - 16);
	/* The head: the first bytes, verbatim. */
	CHECK(memcmp(out, in, head) == 0);
	m = strstr(out, "[output truncated: ");
	CHECK(m != NULL);
	if (m == NULL)
		goto out;
	CHECK(m == out + head || (m == out + head + 1 && out[head] == '\n'));
	CHECK(sscanf(m, "[output truncated: %llu bytes (%llu lines) left out "
	    "here, of %llu; the first %zu and the last %zu bytes are kept]",
	    &dropped, &lines, &total, &kh, &kt) == 5);
	CHECK(total == len);
	CHECK(kh == head);
	tail = strchr(m, '\n') + 1;
	taillen = olen - (size_t)(tail - out);
	CHECK(kt == taillen);
	CHECK(kh + kt + dropped == len);
	/* The tail: the last bytes, from a line start, ending the input. */
	CHECK(taillen > 0 && taillen <= cap - head);
	CHECK(memcmp(tail, in + len - taillen, taillen) == 0);
	CHECK(strncmp(tail, "line ", 5) == 0);
	CHECK(in[len - taillen - 1] == '\n');
	CHECK(strcmp(out + olen - 11, "line 10000\n") == 0);
	/* The lines: kept ones and left-out ones make all 10000. */
	for (nl = 0, i = 0; i < head; i++)
		nl += out[i] == '\n';
	for (i = 0; i < taillen; i++)
		nl += tail[i] == '\n';
	CHECK(nl + lines == 10000);
	snprintf(want, sizeof want, "of %zu;", len);
	CHECK(strstr(m, want) != NULL);
	/* Output after the end: counted, not kept. */
	CHECK(clip_add(&c, "more\n", 5) == 0);
	CHECK(c.total == len + 5);
	clip_free(&c);
out:
	free(out);
	free(in);
}

/* One long line: no line start to cut at, the tail is its end. */
static void
test_one_line(void)
{
	char	*in, *out, *m;
	size_t	 len = 100000, olen;

	in = xmalloc(len);
	memset(in, 'x', len - 4);
	memcpy(in + len - 4, "END\n", 4);
	out = clip_all(in, len, 2048, 0, &olen, NULL);
	m = strstr(out, "\n[output truncated: ");
	CHECK(m == out + CLIP_HEAD(2048));
	CHECK(olen >= 4 && memcmp(out + olen - 4, "END\n", 4) == 0);
	CHECK(olen - (size_t)(strchr(m + 1, '\n') + 1 - out) == 2048 -
	    CLIP_HEAD(2048));
	free(out);
	free(in);
}

/* Chunks of any size give the same bytes. */
static void
test_chunks(void)
{
	char		*in, *a, *b, *c;
	size_t		 len, la, lb, lc;

	in = make_lines(3000, &len);
	a = clip_all(in, len, 2000, 1, &la, NULL);
	b = clip_all(in, len, 2000, 0, &lb, NULL);
	c = clip_all(in, len, 2000, len, &lc, NULL);
	CHECK(la == lb && lb == lc);
	CHECK(memcmp(a, b, la) == 0 && memcmp(b, c, lb) == 0);
	free(a);
	free(b);
	free(c);
	free(in);
}

/*
 * Kept under a big cap, then cut again to a small one (head, gap, tail:
 * as cmd/record.c does): the same as the small cap from the start.
 */
static void
test_recut(void)
{
	static const size_t lines[] = { 50, 400, 700, 2000, 20000 };
	struct clip	 big, small;
	char		*in, *head, *direct, *rest;
	const char	*tail;
	size_t		 len, k, n, hlen, dlen, tlen, rlen, olen;
	char		*out;

	for (k = 0; k < nitems(lines); k++) {
		in = make_lines(lines[k], &len);
		clip_init(&big, 16384);
		head = xmalloc(len + 1);
		hlen = clip_add(&big, in, len);
		memcpy(head, in, hlen);

		clip_init(&small, 2048);
		n = clip_add(&small, head, hlen);
		out = xmalloc(len + 1024);
		memcpy(out, head, n);
		olen = n;
		clip_gap(&small, big.dropped, big.dropped_lines, big.drop_nl);
		tail = clip_tail(&big, &tlen);
		n = clip_add(&small, tail, tlen);
		memcpy(out + olen, tail, n);
		olen += n;
		rest = clip_end(&small, &rlen);
		memcpy(out + olen, rest, rlen);
		olen += rlen;

		direct = clip_all(in, len, 2048, 0, &dlen, NULL);
		CHECK(olen == dlen);
		CHECK(memcmp(out, direct, dlen) == 0);
		if (olen != dlen || memcmp(out, direct, dlen) != 0)
			printf("    %zu lines: %zu vs %zu bytes\n", lines[k],
			    olen, dlen);
		free(rest);
		free(out);
		free(direct);
		free(head);
		clip_free(&big);
		clip_free(&small);
		free(in);
	}
}

int
main(void)
{
	TEST_RUN(test_under_cap);
	TEST_RUN(test_over_cap);
	TEST_RUN(test_one_line);
	TEST_RUN(test_chunks);
	TEST_RUN(test_recut);
	return (test_exit());
}
