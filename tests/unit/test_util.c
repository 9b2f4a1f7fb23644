/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Unit tests for common/util.c: util_strtonum, util_parse_seconds, the
 * clocks, util_format_duration, util_read_file (files and stdin) and
 * util_json_escape, whose output is parsed back with cJSON and checked to
 * be valid UTF-8 by an independent decoder; util_sha1_hex against the
 * FIPS 180 examples and lengths around the padding boundaries (expected
 * digests from Python's hashlib), and util_random_hex.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "dteq.h"
#include "test.h"

/* A fresh temporary directory path for the file tests. */
static char	test_dir[64];

/* Write len bytes to a new file under test_dir; return its path. */
static char *
write_temp(const char *name, const char *data, size_t len)
{
	char	*path;
	FILE	*f;

	xasprintf(&path, "%s/%s", test_dir, name);
	if ((f = fopen(path, "wb")) == NULL) {
		perror(path);
		exit(1);
	}
	if (len > 0 && fwrite(data, 1, len, f) != len) {
		perror(path);
		exit(1);
	}
	fclose(f);
	return (path);
}

/*
 * util_read_file(path), with stdin read from the file from while it
 * runs if from is not NULL.
 */
static int
read_file_from(const char *path, const char *from, char **buf, size_t *len,
    char **cause)
{
	int	saved, fd, rc;

	if (from == NULL)
		return (util_read_file(path, buf, len, cause));
	saved = dup(STDIN_FILENO);
	fd = open(from, O_RDONLY);
	CHECK(saved != -1 && fd != -1);
	dup2(fd, STDIN_FILENO);
	close(fd);
	rc = util_read_file(path, buf, len, cause);
	dup2(saved, STDIN_FILENO);
	close(saved);
	return (rc);
}

/*
 * util_strtonum on each string with its range: the value, and the error
 * (NULL for none).
 */
static const struct strtonum_case {
	const char	*name;
	const char	*s;
	long long	 min, max, want;
	const char	*errstr;
} strtonum_cases[] = {
	/* util_strtonum accepts whole decimal numbers in range. */
	{ "test_strtonum_ok", "42", 0, 100, 42, NULL },
	{ "test_strtonum_ok", "0", 0, 100, 0, NULL },
	{ "test_strtonum_ok", "100", 0, 100, 100, NULL },
	{ "test_strtonum_ok", "-5", -10, 10, -5, NULL },
	{ "test_strtonum_ok", "+7", 0, 10, 7, NULL },
	{ "test_strtonum_ok", "007", 0, 10, 7, NULL },
	{ "test_strtonum_ok", "9223372036854775807", 0, LLONG_MAX, LLONG_MAX,
	    NULL },
	{ "test_strtonum_ok", "-9223372036854775808", LLONG_MIN, 0, LLONG_MIN,
	    NULL },
	/* util_strtonum rejects anything but a sign and digits. */
	{ "test_strtonum_invalid", "", -100, 100, 0, "invalid" },
	{ "test_strtonum_invalid", "abc", -100, 100, 0, "invalid" },
	{ "test_strtonum_invalid", "12a", -100, 100, 0, "invalid" },
	{ "test_strtonum_invalid", " 1", -100, 100, 0, "invalid" },
	{ "test_strtonum_invalid", "1 ", -100, 100, 0, "invalid" },
	{ "test_strtonum_invalid", "0x10", -100, 100, 0, "invalid" },
	{ "test_strtonum_invalid", "1.5", -100, 100, 0, "invalid" },
	{ "test_strtonum_invalid", "-", -100, 100, 0, "invalid" },
	{ "test_strtonum_invalid", "+", -100, 100, 0, "invalid" },
	{ "test_strtonum_invalid", "1e3", -100, 100, 0, "invalid" },
	{ "test_strtonum_invalid", "--1", -100, 100, 0, "invalid" },
	{ "test_strtonum_invalid", NULL, 0, 10, 0, "invalid" },
	{ "test_strtonum_invalid", "5", 10, 0, 0, "invalid" },
	/* util_strtonum reports values below min as "too small". */
	{ "test_strtonum_too_small", "-1", 0, 10, 0, "too small" },
	{ "test_strtonum_too_small", "4", 5, 10, 0, "too small" },
	{ "test_strtonum_too_small", "-99999999999999999999", LLONG_MIN, 0, 0,
	    "too small" },
	/* Values above max, and overflow, are "too large". */
	{ "test_strtonum_too_large", "11", 0, 10, 0, "too large" },
	{ "test_strtonum_too_large", "99999999999999999999", 0, LLONG_MAX, 0,
	    "too large" },
	{ "test_strtonum_too_large", "9223372036854775808", 0, LLONG_MAX, 0,
	    "too large" },
};

static void
strtonum_is(const struct strtonum_case *c)
{
	const char	*errstr = "unset";

	CHECK(util_strtonum(c->s, c->min, c->max, &errstr) == c->want);
	if (c->errstr == NULL)
		CHECK(errstr == NULL);
	else
		CHECK_STREQ(errstr, c->errstr);
}

/*
 * util_parse_seconds of each value for a flag with a maximum: the value
 * stored (cause NULL), or refused leaving it as it was with a cause
 * (whole, or holding has).
 */
static const struct seconds_case {
	const char	*name;
	const char	*flag;
	const char	*s;
	int		 max;
	int		 want;		/* -1: refused */
	const char	*cause;
	const char	*has;
} seconds_cases[] = {
	/* util_parse_seconds stores a valid value, including both ends. */
	{ "test_parse_seconds_ok", "--timeout", "600", 86400, 600, NULL,
	    NULL },
	{ "test_parse_seconds_ok", "--timeout", "0", 86400, 0, NULL, NULL },
	{ "test_parse_seconds_ok", "--timeout", "86400", 86400, 86400, NULL,
	    NULL },
	/* A non-number is refused with the documented message. */
	{ "test_parse_seconds_not_number", "--timeout", "abc", 86400, -1,
	    "--timeout: \"abc\" is not a number of seconds (0 to 86400)",
	    NULL },
	{ "test_parse_seconds_not_number", "--lease", "", 60, -1,
	    "--lease: \"\" is not a number of seconds (0 to 60)", NULL },
	{ "test_parse_seconds_not_number", "--lease", "1.5", 60, -1, NULL,
	    "\"1.5\"" },
	/* util_parse_seconds rejects negative numbers. */
	{ "test_parse_seconds_negative", "--wait", "-1", 600, -1,
	    "--wait: \"-1\" is not a number of seconds (0 to 600)", NULL },
	/* util_parse_seconds rejects values above max. */
	{ "test_parse_seconds_too_large", "--timeout", "86401", 86400, -1,
	    "--timeout: \"86401\" is not a number of seconds (0 to 86400)",
	    NULL },
	{ "test_parse_seconds_too_large", "--timeout", "99999999999999999999",
	    86400, -1, NULL, "99999999999999999999" },
};

static void
seconds_are(const struct seconds_case *c)
{
	char	*cause = NULL;
	int	 v = 7;

	if (c->want >= 0) {
		CHECK(util_parse_seconds(c->flag, c->s, c->max, &v,
		    &cause) == 0);
		CHECK(v == c->want);
		CHECK(cause == NULL);
		return;
	}
	CHECK(util_parse_seconds(c->flag, c->s, c->max, &v, &cause) == -1);
	CHECK(v == 7);
	if (c->cause != NULL)
		CHECK_STREQ(cause, c->cause);
	if (c->has != NULL)
		CHECK(cause != NULL && strstr(cause, c->has) != NULL);
	free(cause);
}

/* util_now_ms is monotonic and measures a sleep. */
static void
test_now_ms(void)
{
	struct timespec	ts = { 0, 30 * 1000 * 1000 };
	uint64_t	a, b;

	a = util_now_ms();
	nanosleep(&ts, NULL);
	b = util_now_ms();
	CHECK(b >= a + 25);
	CHECK(b < a + 5000);
}

/* util_wall_ms agrees with time(). */
static void
test_wall_ms(void)
{
	uint64_t	ms, now;

	ms = util_wall_ms();
	now = (uint64_t)time(NULL) * 1000;
	CHECK(ms > 1577836800000ULL);	/* after 2020 */
	CHECK(ms + 2000 > now && ms < now + 2000);
}

/* util_format_duration uses the documented forms and never rounds up. */
static void
test_format_duration(void)
{
	static const struct {
		uint64_t	 ms;
		const char	*want;
	} t[] = {
		{ 0, "0.00s" },
		{ 9, "0.00s" },
		{ 50, "0.05s" },
		{ 1234, "1.23s" },
		{ 9999, "9.99s" },
		{ 10000, "10.0s" },
		{ 59900, "59.9s" },
		{ 59999, "59.9s" },
		{ 60000, "1m00s" },
		{ 125000, "2m05s" },
		{ 3599999, "59m59s" },
		{ 3600000, "1h00m" },
		{ 3720000, "1h02m" },
		{ 90061000, "25h01m" },
	};
	char	*s;
	size_t	 i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		s = util_format_duration(t[i].ms);
		CHECK_STREQ(s, t[i].want);
		free(s);
	}
}

/* util_read_file reads a whole file, NUL bytes included, NUL-terminated. */
static void
test_read_file(void)
{
	static const char	 data[] = "line one\n\0binary\nend";
	char			*path, *buf = NULL, *cause = NULL;
	size_t			 len = 0;

	path = write_temp("small", data, sizeof data - 1);
	CHECK(util_read_file(path, &buf, &len, &cause) == 0);
	CHECK(cause == NULL);
	CHECK(len == sizeof data - 1);
	CHECK(buf != NULL && memcmp(buf, data, sizeof data - 1) == 0);
	CHECK(buf != NULL && buf[len] == '\0');
	free(buf);
	unlink(path);
	free(path);
}

/* util_read_file reads an empty file as an empty string. */
static void
test_read_file_empty(void)
{
	char	*path, *buf = NULL, *cause = NULL;
	size_t	 len = 99;

	path = write_temp("empty", "", 0);
	CHECK(util_read_file(path, &buf, &len, &cause) == 0);
	CHECK(len == 0);
	CHECK_STREQ(buf, "");
	free(buf);
	unlink(path);
	free(path);
}

/* util_read_file reads files larger than its first buffer. */
static void
test_read_file_large(void)
{
	char	*data, *path, *buf = NULL, *cause = NULL;
	size_t	 i, n = 300001, len = 0;

	data = xmalloc(n);
	for (i = 0; i < n; i++)
		data[i] = (char)('a' + i % 26);
	path = write_temp("large", data, n);
	CHECK(util_read_file(path, &buf, &len, &cause) == 0);
	CHECK(len == n);
	CHECK(buf != NULL && memcmp(buf, data, n) == 0);
	CHECK(buf != NULL && buf[n] == '\0');
	free(buf);
	free(data);
	unlink(path);
	free(path);
}

/*
 * util_read_file of path ("-": stdin, from the file from) fails: no
 * buffer, and a cause naming what (the path, or stdin) and errno's text.
 */
static void
check_read_fails(const char *path, const char *from, const char *what,
    int error)
{
	char	*buf = (char *)1, *cause = NULL, *want;
	size_t	 len;

	CHECK(read_file_from(path, from, &buf, &len, &cause) == -1);
	CHECK(buf == NULL);
	xasprintf(&want, "%s: %s", what, strerror(error));
	CHECK_STREQ(cause, want);
	free(want);
	free(cause);
}

/* util_read_file names the path and the errno text for a missing file. */
static void
test_read_file_missing(void)
{
	char	*path;

	xasprintf(&path, "%s/no-such-file", test_dir);
	check_read_fails(path, NULL, path, ENOENT);
	free(path);
}

/* util_read_file fails on a directory, naming it. */
static void
test_read_file_directory(void)
{
	check_read_fails(test_dir, NULL, test_dir, EISDIR);
}

/* util_read_file reads stdin for "-". */
static void
test_read_file_stdin(void)
{
	static const char	 data[] = "{\"tasks\": []}\n";
	char			*path, *buf = NULL, *cause = NULL;
	size_t			 len = 0;

	path = write_temp("stdin", data, sizeof data - 1);
	CHECK(read_file_from("-", path, &buf, &len, &cause) == 0);
	CHECK(len == sizeof data - 1);
	CHECK_STREQ(buf, data);
	free(buf);
	unlink(path);
	free(path);
}

/* util_read_file reports a stdin that cannot be read (read() EISDIR). */
static void
test_read_file_stdin_error(void)
{
	check_read_fails("-", test_dir, "stdin", EISDIR);
}

/* Escape len bytes and compare with want. */
static int
escape_is(const char *s, size_t len, const char *want)
{
	char	*got;
	int	 ok;

	got = util_json_escape(s, len);
	ok = strcmp(got, want) == 0;
	if (!ok)
		printf("    escape: got \"%s\", want \"%s\"\n", got, want);
	free(got);
	return (ok);
}

/* util_json_escape escapes quotes, backslashes and control characters. */
static void
test_json_escape_specials(void)
{
	CHECK(escape_is("plain text", 10, "plain text"));
	CHECK(escape_is("", 0, ""));
	CHECK(escape_is(NULL, 0, ""));
	CHECK(escape_is("a\"b", 3, "a\\\"b"));
	CHECK(escape_is("a\\b", 3, "a\\\\b"));
	CHECK(escape_is("\n\r\t\b\f", 5, "\\n\\r\\t\\b\\f"));
	CHECK(escape_is("\x01\x1f", 2, "\\u0001\\u001f"));
	CHECK(escape_is("a\0b", 3, "a\\u0000b"));
	CHECK(escape_is("/\x7f", 2, "/\x7f"));
	CHECK(escape_is("abc", 2, "ab"));
}

/* util_json_escape keeps well-formed multi-byte UTF-8 as it is. */
static void
test_json_escape_utf8(void)
{
	static const char	 s[] = "caf\xc3\xa9 \xe2\x82\xac "
				    "\xf0\x9f\x9a\x80 \xef\xbf\xbf "
				    "\xf4\x8f\xbf\xbf";

	CHECK(escape_is(s, sizeof s - 1, s));
}

/* util_json_escape replaces ill-formed UTF-8 with U+FFFD. */
static void
test_json_escape_invalid_utf8(void)
{
#define R "\xef\xbf\xbd"
	CHECK(escape_is("\xff", 1, R));
	CHECK(escape_is("a\x80z", 3, "a" R "z"));
	CHECK(escape_is("\xc3", 1, R));			/* truncated */
	CHECK(escape_is("\xe2\x82" "A", 3, R "A"));	/* maximal subpart */
	CHECK(escape_is("\xc0\xaf", 2, R R));		/* overlong '/' */
	CHECK(escape_is("\xe0\x80\xaf", 3, R R R));	/* overlong */
	CHECK(escape_is("\xed\xa0\x80", 3, R R R));	/* surrogate */
	CHECK(escape_is("\xf4\x90\x80\x80", 4, R R R R));	/* > U+10FFFF */
	CHECK(escape_is("\xf5\x80", 2, R R));
	CHECK(escape_is("\xf0\x9f\x9a", 3, R));		/* truncated */
	CHECK(escape_is("\xf0\x9f\x9a\"", 4, R "\\\""));
#undef R
}

/*
 * An independent check that s is well-formed UTF-8 with no raw control
 * characters: decode each code point and test its range.
 */
static int
valid_json_text(const unsigned char *s)
{
	uint32_t	cp, min;
	int		n, i;

	while (*s != '\0') {
		if (*s < 0x20)
			return (0);
		if (*s < 0x80) {
			s++;
			continue;
		}
		if ((*s & 0xe0) == 0xc0) {
			n = 2;
			cp = *s & 0x1f;
			min = 0x80;
		} else if ((*s & 0xf0) == 0xe0) {
			n = 3;
			cp = *s & 0x0f;
			min = 0x800;
		} else if ((*s & 0xf8) == 0xf0) {
			n = 4;
			cp = *s & 0x07;
			min = 0x10000;
		} else
			return (0);
		for (i = 1; i < n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return (0);
			cp = cp << 6 | (s[i] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return (0);
		s += n;
	}
	return (1);
}

/* Wrap escaped text in quotes and parse it with cJSON. Caller frees. */
static char *
cjson_roundtrip(const char *s, size_t len, int *valid)
{
	cJSON	*j;
	char	*esc, *doc, *out = NULL;

	esc = util_json_escape(s, len);
	*valid = valid_json_text((const unsigned char *)esc);
	xasprintf(&doc, "\"%s\"", esc);
	j = cJSON_Parse(doc);
	if (j != NULL && cJSON_IsString(j))
		out = xstrdup(j->valuestring);
	cJSON_Delete(j);
	free(doc);
	free(esc);
	return (out);
}

/* cJSON parses the escaped text of valid UTF-8 back to the input. */
static void
test_json_escape_cjson(void)
{
	const char	*inputs[] = {
		"hello",
		"quote \" backslash \\ slash /",
		"lines\nand\ttabs\r\n\b\f",
		"\x01\x02\x1e\x1f\x7f",
		"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\x80",
		"{\"json\": [1, 2, \"three\"]}",
		NULL
	};
	char		 all[128], *out;
	size_t		 i;
	int		 valid;

	for (i = 0; inputs[i] != NULL; i++) {
		out = cjson_roundtrip(inputs[i], strlen(inputs[i]), &valid);
		CHECK(valid);
		CHECK_STREQ(out, inputs[i]);
		free(out);
	}
	for (i = 1; i < 128; i++)
		all[i - 1] = (char)i;
	all[127] = '\0';
	out = cjson_roundtrip(all, 127, &valid);
	CHECK(valid);
	CHECK_STREQ(out, all);
	free(out);
}

/* Escaped random bytes are always valid UTF-8 JSON that cJSON parses. */
static void
test_json_escape_random(void)
{
	unsigned char	buf[64];
	char		*out;
	size_t		 i, j, len;
	int		 valid, bad_valid = 0, bad_parse = 0;

	srand(12345);
	for (i = 0; i < 2000; i++) {
		len = (size_t)(rand() % (int)sizeof buf);
		for (j = 0; j < len; j++)
			buf[j] = (unsigned char)(rand() % 256);
		out = cjson_roundtrip((char *)buf, len, &valid);
		if (!valid)
			bad_valid++;
		if (out == NULL)
			bad_parse++;
		free(out);
	}
	CHECK(bad_valid == 0);
	CHECK(bad_parse == 0);
}

/* SHA-1 of n bytes 'a' is expect. */
static int
sha1_of_a(size_t n, const char *expect)
{
	char	*buf, hex[41];
	int	 ok;

	buf = xmalloc(n + 1);
	memset(buf, 'a', n);
	util_sha1_hex(buf, n, hex);
	free(buf);
	if (!(ok = strcmp(hex, expect) == 0))
		fprintf(stderr, "sha1 of %zu 'a': %s, want %s\n", n, hex,
		    expect);
	return (ok);
}

/* util_sha1_hex: the standard examples and every padding case. */
/* util_u64_dec: every digit count, both ends of the range. */
static void
test_u64_dec(void)
{
	char		 buf[32], want[32];
	uint64_t	 v;
	size_t		 n;

	for (v = 1; v != 0 && v < UINT64_MAX / 10; v *= 10) {
		uint64_t vals[3] = { v - 1, v, v * 10 - 1 };
		int k;

		for (k = 0; k < 3; k++) {
			n = util_u64_dec(buf, vals[k]);
			buf[n] = '\0';
			snprintf(want, sizeof want, "%llu",
			    (unsigned long long)vals[k]);
			CHECK_STREQ(buf, want);
			CHECK(n == strlen(want));
		}
	}
	n = util_u64_dec(buf, UINT64_MAX);
	buf[n] = '\0';
	CHECK_STREQ(buf, "18446744073709551615");
}

static void
test_sha1(void)
{
	char	hex[41];

	util_sha1_hex("", 0, hex);
	CHECK(strcmp(hex, "da39a3ee5e6b4b0d3255bfef95601890afd80709") == 0);
	util_sha1_hex("abc", 3, hex);
	CHECK(strcmp(hex, "a9993e364706816aba3e25717850c26c9cd0d89d") == 0);
	util_sha1_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	    56, hex);
	CHECK(strcmp(hex, "84983e441c3bd26ebaae4aa1f95129e5e54670f1") == 0);
	CHECK(sha1_of_a(55, "c1c8bbdc22796e28c0e15163d20899b65621d65a"));
	CHECK(sha1_of_a(56, "c2db330f6083854c99d4b5bfb6e8f29f201be699"));
	CHECK(sha1_of_a(63, "03f09f5b158a7a8cdad920bddc29b81c18a551f5"));
	CHECK(sha1_of_a(64, "0098ba824b5c16427bd7a1122a5a442a25ec644d"));
	CHECK(sha1_of_a(65, "11655326c708d70319be2610e8a57d9a5b959d3b"));
	CHECK(sha1_of_a(119, "ee971065aaa017e0632a8ca6c77bb3bf8b1dfc56"));
	CHECK(sha1_of_a(120, "f34c1488385346a55709ba056ddd08280dd4c6d6"));
	CHECK(sha1_of_a(1000000, "34aa973cd4c4daa4f61eeb2bdbad27316534016f"));
}

/* util_random_hex: 2n hex digits, different each time. */
static void
test_random_hex(void)
{
	char	*a, *b;

	a = util_random_hex(16);
	b = util_random_hex(16);
	CHECK(strlen(a) == 32 && strspn(a, "0123456789abcdef") == 32);
	CHECK(strcmp(a, b) != 0);
	free(a);
	free(b);
}

/* rconn_memory_full(): INFO memory's used_memory against maxmemory. */
static void
test_memory_full(void)
{
	char	*why;

	CHECK(rconn_memory_full("# Memory\r\nused_memory:12949240\r\n"
	    "used_memory_human:12.35M\r\nmaxmemory:12582912\r\n"
	    "maxmemory_human:12.00M\r\nmaxmemory_policy:noeviction\r\n",
	    &why) == 1);
	CHECK(why != NULL && strstr(why, "uses 12.35M of its maxmemory "
	    "12.00M (maxmemory-policy noeviction)") != NULL);
	free(why);
	/* Within 3 %: full too (a write of a few KiB no longer fits). */
	CHECK(rconn_memory_full("used_memory:9800\r\nmaxmemory:10000\r\n",
	    &why) == 1);
	free(why);
	CHECK(rconn_memory_full("used_memory:9000\r\nmaxmemory:10000\r\n",
	    &why) == 0 && why == NULL);
	/* No maxmemory: never full; no fields: not full. */
	CHECK(rconn_memory_full("used_memory:99999\r\nmaxmemory:0\r\n",
	    &why) == 0);
	CHECK(rconn_memory_full("", &why) == 0);
	CHECK(rconn_memory_full("used_memory:x\r\nmaxmemory:10\r\n",
	    &why) == 0);
}

int
main(void)
{
	snprintf(test_dir, sizeof test_dir, "/tmp/dteq-test-util.XXXXXX");
	if (mkdtemp(test_dir) == NULL) {
		perror("mkdtemp");
		return (1);
	}

	TEST_TABLE(strtonum_cases, strtonum_is);
	TEST_RUN(test_u64_dec);
	TEST_TABLE(seconds_cases, seconds_are);
	TEST_RUN(test_now_ms);
	TEST_RUN(test_wall_ms);
	TEST_RUN(test_format_duration);
	TEST_RUN(test_read_file);
	TEST_RUN(test_read_file_empty);
	TEST_RUN(test_read_file_large);
	TEST_RUN(test_read_file_missing);
	TEST_RUN(test_read_file_directory);
	TEST_RUN(test_read_file_stdin);
	TEST_RUN(test_read_file_stdin_error);
	TEST_RUN(test_json_escape_specials);
	TEST_RUN(test_json_escape_utf8);
	TEST_RUN(test_json_escape_invalid_utf8);
	TEST_RUN(test_json_escape_cjson);
	TEST_RUN(test_json_escape_random);
	TEST_RUN(test_sha1);
	TEST_RUN(test_random_hex);
	TEST_RUN(test_memory_full);

	rmdir(test_dir);
	return (test_exit());
}
