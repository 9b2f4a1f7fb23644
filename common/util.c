/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Small utilities both sides share: checked number parsing (an
 * OpenBSD-style strtonum and the seconds options built on it, hex
 * digits), the two clocks, human-readable durations, reading a whole
 * file or stdin, well-formed UTF-8, escaping arbitrary bytes into the
 * inside of a JSON string, random hex tokens from the kernel, SHA-1
 * for naming Lua scripts, and where an agent's Nx runners live.
 *
 * Nothing here logs or exits on bad input: parsing errors come back as
 * an errstr or an xasprintf'd cause for the caller to report.
 */

#include <sys/random.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dteq.h"

/*
 * Parse s as a whole decimal number in [min, max]. On success set *errstr
 * to NULL; otherwise set it to "invalid", "too small" or "too large" and
 * return 0. Only an optional sign and digits are accepted.
 */
long long
util_strtonum(const char *s, long long min, long long max,
    const char **errstr)
{
	const char	*p;
	char		*end;
	long long	 n;

	*errstr = "invalid";
	if (s == NULL || min > max)
		return (0);
	p = s;
	if (*p == '-' || *p == '+')
		p++;
	if (*p == '\0')
		return (0);
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return (0);
	}

	errno = 0;
	n = strtoll(s, &end, 10);
	if (*end != '\0')
		return (0);
	if (errno == ERANGE && n == LLONG_MIN) {
		*errstr = "too small";
		return (0);
	}
	if (errno == ERANGE && n == LLONG_MAX) {
		*errstr = "too large";
		return (0);
	}
	if (n < min) {
		*errstr = "too small";
		return (0);
	}
	if (n > max) {
		*errstr = "too large";
		return (0);
	}
	*errstr = NULL;
	return (n);
}

/* Parse the value of a seconds option (0 to max) into *out. */
int
util_parse_seconds(const char *option, const char *value, int max, int *out,
    char **cause)
{
	const char	*errstr;
	long long	 n;

	n = util_strtonum(value, 0, max, &errstr);
	if (errstr != NULL) {
		xasprintf(cause, "%s: \"%s\" is not a number of seconds "
		    "(0 to %d)", option, value == NULL ? "" : value, max);
		return (-1);
	}
	*out = (int)n;
	return (0);
}

/*
 * Value of one hex digit, or -1: ASCII whatever the locale (isxdigit
 * is not), for URLs' percent escapes and HTTP's chunk sizes.
 */
int
util_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/* Milliseconds of a clock. */
static uint64_t
util_clock_ms(clockid_t id)
{
	struct timespec	ts;

	if (clock_gettime(id, &ts) != 0)
		fatal("clock_gettime");
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

/* Monotonic milliseconds, for measuring durations. */
uint64_t
util_now_ms(void)
{
	return (util_clock_ms(CLOCK_MONOTONIC));
}

/* Wall-clock milliseconds since the epoch, for timestamps. */
uint64_t
util_wall_ms(void)
{
	return (util_clock_ms(CLOCK_REALTIME));
}

/*
 * Format a duration: "0.05s" under ten seconds, "59.9s" under a minute,
 * "2m05s" under an hour, then "1h02m". Digits are truncated, never
 * rounded up, so 59999 ms is "59.9s" and not "60.0s". Caller frees.
 */
char *
util_format_duration(uint64_t ms)
{
	char		*s;
	uint64_t	 secs = ms / 1000;

	if (ms < 10000) {
		xasprintf(&s, "%u.%02us", (unsigned)(ms / 1000),
		    (unsigned)(ms % 1000 / 10));
	} else if (ms < 60000) {
		xasprintf(&s, "%u.%us", (unsigned)(ms / 1000),
		    (unsigned)(ms % 1000 / 100));
	} else if (secs < 3600) {
		xasprintf(&s, "%um%02us", (unsigned)(secs / 60),
		    (unsigned)(secs % 60));
	} else {
		xasprintf(&s, "%lluh%02um", (unsigned long long)(secs / 3600),
		    (unsigned)(secs % 3600 / 60));
	}
	return (s);
}

/*
 * Read all of fd into a NUL-terminated buffer; -1 with errno on error,
 * EFBIG past UTIL_READ_MAX bytes (found by fstat() for a regular file,
 * before anything is read).
 */
static int
util_read_fd(int fd, char **buf, size_t *len)
{
	struct stat	 st;
	char		*b = NULL;
	size_t		 size = 0, used = 0;
	ssize_t		 n;

	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size > UTIL_READ_MAX) {
		errno = EFBIG;
		return (-1);
	}
	for (;;) {
		if (used > UTIL_READ_MAX) {
			free(b);
			errno = EFBIG;
			return (-1);
		}
		if (size - used < 4096) {
			if (size > SIZE_MAX / 2)
				fatalx("util_read_fd: file too large");
			size = size == 0 ? 65536 : size * 2;
			b = xreallocarray(b, size, 1);
		}
		n = read(fd, b + used, size - used - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			free(b);
			return (-1);
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	b[used] = '\0';
	*buf = b;
	*len = used;
	return (0);
}

/*
 * Read the whole file at path, or stdin when path is "-", into *buf
 * (NUL-terminated; *len excludes the NUL). Caller frees *buf. On error
 * *buf is NULL and *cause names the path and the reason.
 */
int
util_read_file(const char *path, char **buf, size_t *len, char **cause)
{
	int	fd, saved;

	*buf = NULL;
	*len = 0;
	if (strcmp(path, "-") == 0) {
		if (util_read_fd(STDIN_FILENO, buf, len) != 0) {
			xasprintf(cause, "stdin: %s", errno == EFBIG ?
			    "over " UTIL_READ_MAX_TEXT ", the most dteq reads" :
			    strerror(errno));
			return (-1);
		}
		return (0);
	}
	if ((fd = open(path, O_RDONLY|O_CLOEXEC)) == -1) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return (-1);
	}
	if (util_read_fd(fd, buf, len) != 0) {
		saved = errno;
		close(fd);
		xasprintf(cause, "%s: %s", path, saved == EFBIG ?
		    "over " UTIL_READ_MAX_TEXT ", the most dteq reads" :
		    strerror(saved));
		return (-1);
	}
	close(fd);
	return (0);
}

/*
 * Length of the well-formed UTF-8 sequence at p (left bytes available,
 * at least 1), or 0 with *skip set to the length of the ill-formed prefix
 * to replace with one U+FFFD (the Unicode "maximal subpart" rule).
 * Well-formed: no overlong forms, no surrogates, nothing above U+10FFFF.
 */
size_t
util_utf8_seq(const unsigned char *p, size_t left, size_t *skip)
{
	unsigned char	lo = 0x80, hi = 0xbf;
	size_t		need, i;

	if (p[0] < 0x80)
		return (1);
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		need = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		need = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;	/* no overlong forms */
		else if (p[0] == 0xed)
			hi = 0x9f;	/* no surrogates */
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		need = 4;
		if (p[0] == 0xf0)
			lo = 0x90;	/* no overlong forms */
		else if (p[0] == 0xf4)
			hi = 0x8f;	/* nothing above U+10FFFF */
	} else {
		*skip = 1;
		return (0);
	}
	for (i = 1; i < need; i++) {
		if (i >= left || p[i] < lo || p[i] > hi) {
			*skip = i;
			return (0);
		}
		lo = 0x80;
		hi = 0xbf;
	}
	return (need);
}

/*
 * Write v in decimal at out (room for 20 digits, no terminator); return
 * the number of digits. For hot paths where printf would cost more than
 * the rest of the work.
 */
size_t
util_u64_dec(char *out, uint64_t v)
{
	char	tmp[20];
	size_t	n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return (n);
}

/*
 * Escape s into out (if not NULL); return the escaped length. Quotes,
 * backslashes and control characters are escaped as cJSON prints them;
 * with raw, every other byte is kept as it is (cJSON's way), else
 * ill-formed UTF-8 becomes U+FFFD.
 */
static size_t
util_json_escape_bytes(char *out, const unsigned char *s, size_t len,
    int raw)
{
	static const char	 hex[] = "0123456789abcdef";
	const char		*esc;
	size_t			 i = 0, o = 0, n, skip;
	char			 u[7];

	while (i < len) {
		esc = NULL;
		switch (s[i]) {
		case '"':
			esc = "\\\"";
			break;
		case '\\':
			esc = "\\\\";
			break;
		case '\b':
			esc = "\\b";
			break;
		case '\f':
			esc = "\\f";
			break;
		case '\n':
			esc = "\\n";
			break;
		case '\r':
			esc = "\\r";
			break;
		case '\t':
			esc = "\\t";
			break;
		default:
			if (s[i] < 0x20) {
				memcpy(u, "\\u00", 4);
				u[4] = hex[s[i] >> 4];
				u[5] = hex[s[i] & 0xf];
				u[6] = '\0';
				esc = u;
			}
			break;
		}
		if (esc != NULL) {
			n = strlen(esc);
			if (out != NULL)
				memcpy(out + o, esc, n);
			o += n;
			i++;
			continue;
		}
		if (raw) {
			if (out != NULL)
				out[o] = (char)s[i];
			o++;
			i++;
			continue;
		}
		if ((n = util_utf8_seq(s + i, len - i, &skip)) == 0) {
			if (out != NULL)
				memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i += skip;
			continue;
		}
		if (out != NULL)
			memcpy(out + o, s + i, n);
		o += n;
		i += n;
	}
	return (o);
}

/*
 * Is s (len bytes) well-formed UTF-8? If not, *at gets the offset of the
 * first ill-formed byte.
 */
int
util_utf8_valid(const char *s, size_t len, size_t *at)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i = 0, n, skip;

	while (i < len) {
		if ((n = util_utf8_seq(p + i, len - i, &skip)) == 0) {
			*at = i;
			return (0);
		}
		i += n;
	}
	return (1);
}

/* Escape s into out (if not NULL), ill-formed UTF-8 replaced. */
size_t
util_json_escape_into(char *out, const unsigned char *s, size_t len)
{
	return (util_json_escape_bytes(out, s, len, 0));
}

/*
 * Escape s into out (if not NULL), every byte but the escaped ones kept:
 * a command may hold bytes that are not UTF-8, and must reach the agent
 * as it was written.
 */
size_t
util_json_escape_raw(char *out, const unsigned char *s, size_t len)
{
	return (util_json_escape_bytes(out, s, len, 1));
}

/*
 * Escape len bytes of s for the inside of a JSON string (no surrounding
 * quotes). Quotes, backslashes and control characters are escaped and
 * ill-formed UTF-8 becomes U+FFFD, so the result is always valid JSON.
 * Caller frees.
 */
char *
util_json_escape(const char *s, size_t len)
{
	const unsigned char	*u = (const unsigned char *)s;
	char			*out;
	size_t			 n;

	if (s == NULL)
		len = 0;
	n = util_json_escape_into(NULL, u, len);
	out = xmalloc(n + 1);
	util_json_escape_into(out, u, len);
	out[n] = '\0';
	return (out);
}

/* The git commit of the working directory, or NULL. Caller frees. */
char *
util_git_commit(void)
{
	FILE	*f;
	char	 buf[128];
	size_t	 len;

	if ((f = popen("git rev-parse HEAD 2>/dev/null", "r")) == NULL)
		return (NULL);
	if (fgets(buf, sizeof buf, f) == NULL) {
		pclose(f);
		return (NULL);
	}
	if (pclose(f) != 0)
		return (NULL);
	len = strcspn(buf, "\n");
	buf[len] = '\0';
	return (len > 0 ? xstrdup(buf) : NULL);
}

/*
 * n bytes from the kernel's random source, as 2n hex digits (tokens and
 * ids that must not be guessed). Caller frees.
 */
char *
util_random_hex(size_t n)
{
	unsigned char	 r[64];
	char		*hex;
	size_t		 i, got = 0;
	ssize_t		 k;

	if (n > sizeof r)
		fatalx("%s: %zu bytes is too many", __func__, n);
	while (got < n) {
		if ((k = getrandom(r + got, n - got, 0)) == -1) {
			if (errno == EINTR)
				continue;
			fatal("getrandom");
		}
		got += (size_t)k;
	}
	hex = xmalloc(n * 2 + 1);
	for (i = 0; i < n; i++)
		snprintf(hex + i * 2, 3, "%02x", r[i]);
	return (hex);
}

/* SHA-1 (FIPS 180-4): one 64-byte block into the state h. */
static void
util_sha1_block(uint32_t h[5], const unsigned char *p)
{
	uint32_t	w[80], a, b, c, d, e, f, k, t;
	int		i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[i * 4] << 24 | (uint32_t)p[i * 4 + 1] << 16 |
		    (uint32_t)p[i * 4 + 2] << 8 | (uint32_t)p[i * 4 + 3];
	for (i = 16; i < 80; i++) {
		t = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16];
		w[i] = t << 1 | t >> 31;
	}
	a = h[0];
	b = h[1];
	c = h[2];
	d = h[3];
	e = h[4];
	for (i = 0; i < 80; i++) {
		if (i < 20) {
			f = (b & c) | (~b & d);
			k = 0x5a827999;
		} else if (i < 40) {
			f = b ^ c ^ d;
			k = 0x6ed9eba1;
		} else if (i < 60) {
			f = (b & c) | (b & d) | (c & d);
			k = 0x8f1bbcdc;
		} else {
			f = b ^ c ^ d;
			k = 0xca62c1d6;
		}
		t = (a << 5 | a >> 27) + f + e + k + w[i];
		e = d;
		d = c;
		c = b << 30 | b >> 2;
		b = a;
		a = t;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
}

/*
 * The SHA-1 of buf as 40 hex digits: what Redis names a script by
 * (EVALSHA). Only an identifier here, never a security check, so it need
 * not load a crypto library into every agent.
 */
void
util_sha1_hex(const void *buf, size_t len, char hex[41])
{
	const unsigned char	*p = buf;
	unsigned char		 last[128];
	uint32_t		 h[5] = { 0x67452301, 0xefcdab89, 0x98badcfe,
	    0x10325476, 0xc3d2e1f0 };
	uint64_t		 bits = (uint64_t)len * 8;
	size_t			 rest, n, i;

	for (; len >= 64; p += 64, len -= 64)
		util_sha1_block(h, p);
	rest = len;
	memset(last, 0, sizeof last);
	memcpy(last, p, rest);
	last[rest] = 0x80;
	n = rest + 1 + 8 <= 64 ? 64 : 128;
	for (i = 0; i < 8; i++)
		last[n - 1 - i] = (unsigned char)(bits >> (i * 8));
	util_sha1_block(h, last);
	if (n == 128)
		util_sha1_block(h, last + 64);
	for (i = 0; i < 5; i++)
		snprintf(hex + i * 8, 9, "%08x", h[i]);
}

/*
 * The directory of the Nx runners that watch process pid (tools/nxrun.c):
 * ${TMPDIR:-/tmp}/dteq-UID/nx-PID, under /tmp when TMPDIR is too long for
 * the sockets inside. Caller frees.
 */
char *
util_runner_pool(pid_t pid)
{
	const char	*tmp = getenv("TMPDIR");
	char		*dir;

	if (tmp == NULL || *tmp != '/' || strlen(tmp) > 40)
		tmp = "/tmp";
	xasprintf(&dir, "%s/dteq-%lu/nx-%ld", tmp, (unsigned long)getuid(),
	    (long)pid);
	return (dir);
}

/*
 * Remove the runner pool of pid (its runners exit by themselves once pid
 * is gone): the files in it, then it. Quietly; there may be none.
 */
void
util_runner_pool_remove(pid_t pid)
{
	char		*dir, *path;
	DIR		*d;
	struct dirent	*e;

	dir = util_runner_pool(pid);
	if ((d = opendir(dir)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 ||
			    strcmp(e->d_name, "..") == 0)
				continue;
			xasprintf(&path, "%s/%s", dir, e->d_name);
			unlink(path);
			free(path);
		}
		closedir(d);
		rmdir(dir);
	}
	free(dir);
}
