/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Unit tests for common/url.c: every accepted form of a Redis URL with
 * its exact fields, every rejected form with its message (which names
 * the problem and never contains the password, and leaves the struct
 * zeroed), and url_display().
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dteq.h"
#include "test.h"

/* Whether *u is all zero bytes. */
static int
url_is_zero(const struct redis_url *u)
{
	struct redis_url	zero;

	memset(&zero, 0, sizeof zero);
	return (memcmp(u, &zero, sizeof zero) == 0);
}

/* Compare two possibly NULL strings. */
static int
same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a == b);
	return (strcmp(a, b) == 0);
}

/*
 * URLs that parse, and every field they give: TCP (host, port) or unix
 * (path).
 */
static const struct good {
	const char	*name;
	const char	*url;
	int		 type;
	const char	*where;		/* the host, or the socket path */
	int		 port;		/* TCP */
	int		 db;
	const char	*user;
	const char	*password;
} goods[] = {
	/* A bare host gets port 6379, db 0 and no credentials. */
	{ "test_host_only", "redis://localhost", URL_TCP, "localhost", 6379, 0,
	    NULL, NULL },
	{ "test_host_only", "redis://127.0.0.1", URL_TCP, "127.0.0.1", 6379, 0,
	    NULL, NULL },
	/* The scheme is case-insensitive. */
	{ "test_scheme_case", "REDIS://cache", URL_TCP, "cache", 6379, 0,
	    NULL, NULL },
	{ "test_scheme_case", "Unix:///run/r.sock", URL_UNIX, "/run/r.sock",
	    0, 0, NULL, NULL },
	/* Every field of a full URL. */
	{ "test_full", "redis://alice:s3cret@redis.example.com:6380/3",
	    URL_TCP, "redis.example.com", 6380, 3, "alice", "s3cret" },
	/* Port and db are optional independently. */
	{ "test_port_db", "redis://h:1", URL_TCP, "h", 1, 0, NULL, NULL },
	{ "test_port_db", "redis://h:65535", URL_TCP, "h", 65535, 0, NULL,
	    NULL },
	{ "test_port_db", "redis://h/15", URL_TCP, "h", 6379, 15, NULL, NULL },
	{ "test_port_db", "redis://h:7000/10000", URL_TCP, "h", 7000, 10000,
	    NULL, NULL },
	{ "test_port_db", "redis://h:7000/0", URL_TCP, "h", 7000, 0, NULL,
	    NULL },
	/* An empty db ("host/") is db 0. */
	{ "test_empty_db", "redis://h/", URL_TCP, "h", 6379, 0, NULL, NULL },
	{ "test_empty_db", "redis://h:6380/", URL_TCP, "h", 6380, 0, NULL,
	    NULL },
	/* ":pass@" is a password for the default user. */
	{ "test_password_only", "redis://:hunter2@h", URL_TCP, "h", 6379, 0,
	    NULL, "hunter2" },
	/* "user@" is a user with no password. */
	{ "test_user_only", "redis://bob@h:6390", URL_TCP, "h", 6390, 0,
	    "bob", NULL },
	{ "test_user_only", "redis://bob:@h", URL_TCP, "h", 6379, 0, "bob",
	    NULL },
	{ "test_user_only", "redis://:@h", URL_TCP, "h", 6379, 0, NULL, NULL },
	{ "test_user_only", "redis://@h", URL_TCP, "h", 6379, 0, NULL, NULL },
	/* User and password are percent-decoded. */
	{ "test_percent_decoding", "redis://us%3Aer:p%40ss%2Fw%25rd@h",
	    URL_TCP, "h", 6379, 0, "us:er", "p@ss/w%rd" },
	{ "test_percent_decoding", "redis://u:%e2%82%ac@h", URL_TCP, "h",
	    6379, 0, "u", "\xe2\x82\xac" },
	/* An unencoded '@' or ':' in the password works. */
	{ "test_raw_at_in_password", "redis://:p@ss@h:1234/2", URL_TCP, "h",
	    1234, 2, NULL, "p@ss" },
	{ "test_raw_at_in_password", "redis://u:a:b@h", URL_TCP, "h", 6379, 0,
	    "u", "a:b" },
	/* IPv6 addresses in brackets, stored without them. */
	{ "test_ipv6", "redis://[::1]:6380/2", URL_TCP, "::1", 6380, 2, NULL,
	    NULL },
	{ "test_ipv6", "redis://[::1]", URL_TCP, "::1", 6379, 0, NULL, NULL },
	{ "test_ipv6", "redis://u:p@[2001:db8::7]/1", URL_TCP, "2001:db8::7",
	    6379, 1, "u", "p" },
	{ "test_ipv6", "redis://[::ffff:10.0.0.1]:7000", URL_TCP,
	    "::ffff:10.0.0.1", 7000, 0, NULL, NULL },
	/* Unix socket URLs, with and without credentials and db. */
	{ "test_unix", "unix:///tmp/redis.sock", URL_UNIX, "/tmp/redis.sock",
	    0, 0, NULL, NULL },
	{ "test_unix", "unix:///tmp/r.sock?db=3", URL_UNIX, "/tmp/r.sock", 0,
	    3, NULL, NULL },
	{ "test_unix", "unix://:pw@/tmp/s", URL_UNIX, "/tmp/s", 0, 0, NULL,
	    "pw" },
	{ "test_unix", "unix://u:p%40w@/var/run/r.sock?db=10000", URL_UNIX,
	    "/var/run/r.sock", 0, 10000, "u", "p@w" },
	{ "test_unix", "unix:///tmp/my%20dir/r.sock", URL_UNIX,
	    "/tmp/my dir/r.sock", 0, 0, NULL, NULL },
	/* The default URL of dteq.h parses. */
	{ "test_default_url", DEFAULT_REDIS_URL, URL_TCP, "127.0.0.1", 6379, 0,
	    NULL, NULL },
};

/* Parse a good URL and check every field of its type. */
static void
parses(const struct good *g)
{
	struct redis_url	 u;
	char			*cause = NULL;

	CHECK(url_parse(g->url, &u, &cause) == 0);
	if (cause != NULL) {
		printf("    %s: %s\n", g->url, cause);
		free(cause);
	}
	CHECK(u.type == g->type);
	if (g->type == URL_TCP) {
		CHECK_STREQ(u.host, g->where);
		CHECK(u.port == g->port);
		CHECK(u.path == NULL);
	} else {
		CHECK_STREQ(u.path, g->where);
		CHECK(u.host == NULL);
	}
	CHECK(u.db == g->db);
	CHECK(same(u.user, g->user));
	CHECK(same(u.password, g->password));
	url_free(&u);
	if (g->type == URL_TCP)
		CHECK(url_is_zero(&u));
}

/*
 * URLs refused, with a message holding want, not holding secret (if not
 * NULL), and the struct left zeroed.
 */
static const struct bad {
	const char	*name;
	const char	*url;
	const char	*want;
	const char	*secret;
} bads[] = {
	/* rediss:// is refused: no TLS. */
	{ "test_bad_tls", "rediss://:secret@h:6380", "TLS is not supported",
	    "secret" },
	{ "test_bad_tls", "REDISS://h", "TLS is not supported", NULL },
	/* Other schemes are refused, naming the scheme. */
	{ "test_bad_scheme", "http://h", "unsupported URL scheme \"http\"",
	    NULL },
	{ "test_bad_scheme", "redis+sentinel://:pw@h", "\"redis+sentinel\"",
	    "pw" },
	{ "test_bad_scheme", "tcp://h:6379", "\"tcp\"", NULL },
	/* A string without a scheme is refused without echoing it. */
	{ "test_bad_no_scheme", "localhost:6379",
	    "must start with redis:// or unix://", NULL },
	{ "test_bad_no_scheme", "user:secret@host", "must start with redis://",
	    "secret" },
	{ "test_bad_no_scheme", "://h", "must start with redis://", NULL },
	{ "test_bad_no_scheme", "a b://h", "must start with redis://", NULL },
	/* An empty or NULL URL is refused. */
	{ "test_bad_empty", "", "empty Redis URL", NULL },
	{ "test_bad_empty", NULL, "empty Redis URL", NULL },
	/* A URL without a host is refused. */
	{ "test_bad_no_host", "redis://", "no host", NULL },
	{ "test_bad_no_host", "redis://:6379", "no host", NULL },
	{ "test_bad_no_host", "redis:///0", "no host", NULL },
	{ "test_bad_no_host", "redis://:topsecret@", "no host", "topsecret" },
	{ "test_bad_no_host", "redis://u:topsecret@:6379/1", "no host",
	    "topsecret" },
	/* A host with characters a host name cannot have is refused. */
	{ "test_bad_host", "redis://ho st", "bad host \"ho st\"", NULL },
	{ "test_bad_host", "redis://:pw@h!x:1", "bad host \"h!x\"", "pw" },
	{ "test_bad_host", "redis://h?db=1", "bad host \"h?db=1\"", NULL },
	/* Port 0 is refused. */
	{ "test_bad_port_zero", "redis://:pw@h:0", "bad port \"0\"", "pw" },
	/* Ports above 65535 are refused. */
	{ "test_bad_port_large", "redis://h:65536", "bad port \"65536\"",
	    NULL },
	{ "test_bad_port_large", "redis://h:99999999999999999999", "bad port",
	    NULL },
	/* Ports that are not digits are refused, without echoing them. */
	{ "test_bad_port_digits", "redis://h:abc",
	    "bad port in Redis URL: not a number", "abc" },
	{ "test_bad_port_digits", "redis://h:-1",
	    "bad port in Redis URL: not a number", NULL },
	{ "test_bad_port_digits", "redis://h:+80",
	    "bad port in Redis URL: not a number", NULL },
	{ "test_bad_port_digits", "redis://h:6379x",
	    "bad port in Redis URL: not a number", NULL },
	{ "test_bad_port_digits", "redis://h:6379:1",
	    "bad port in Redis URL: not a number", NULL },
	/* A URL missing "@host" does not show its password as a port. */
	{ "test_bad_missing_host_part", "redis://admin:topsecret", "bad port",
	    "topsecret" },
	{ "test_bad_missing_host_part", "redis://admin:topsecret/0",
	    "bad port", "topsecret" },
	/* An empty port after ':' is refused. */
	{ "test_bad_port_empty", "redis://h:", "empty port", NULL },
	{ "test_bad_port_empty", "redis://h:/1", "empty port", NULL },
	/* A negative db is refused. */
	{ "test_bad_db_negative", "redis://h/-1", "bad database \"-1\"", NULL },
	/* A db that is not a number is refused. */
	{ "test_bad_db_number", "redis://:pw@h/x", "bad database \"x\"", "pw" },
	{ "test_bad_db_number", "redis://h/1.5", "bad database \"1.5\"", NULL },
	{ "test_bad_db_number", "redis://h/+1", "bad database \"+1\"", NULL },
	/* A db above 10000 is refused. */
	{ "test_bad_db_large", "redis://h/10001",
	    "bad database \"10001\" in Redis URL (0 to 10000)", NULL },
	/* Trailing characters after the db or host are refused. */
	{ "test_bad_trailing", "redis://h/1/2", "bad database \"1/2\"", NULL },
	{ "test_bad_trailing", "redis://h:6379/1?x=y",
	    "bad database \"1?x=y\"", NULL },
	{ "test_bad_trailing", "redis://[::1]x",
	    "unexpected \"x\" after the host", NULL },
	{ "test_bad_trailing", "redis://[::1]:6379/1 ", "bad database \"1 \"",
	    NULL },
	/* Malformed IPv6 literals are refused. */
	{ "test_bad_ipv6", "redis://[::1", "missing ']'", NULL },
	{ "test_bad_ipv6", "redis://[]:6379", "bad IPv6 address \"\"", NULL },
	{ "test_bad_ipv6", "redis://[zz::1]", "bad IPv6 address \"zz::1\"",
	    NULL },
	{ "test_bad_ipv6", "redis://[127.0.0.1]", "bad IPv6 address", NULL },
	/* Bad percent-escapes are refused without showing the password. */
	{ "test_bad_percent", "redis://:sec%zzret@h",
	    "bad percent-escape in the password", "sec" },
	{ "test_bad_percent", "redis://:secret%4@h",
	    "bad percent-escape in the password", "secret" },
	{ "test_bad_percent", "redis://:secret%00@h",
	    "bad percent-escape in the password", "secret" },
	{ "test_bad_percent", "redis://us%g1er:pw@h",
	    "bad percent-escape in the user name", "pw" },
	{ "test_bad_percent", "unix:///tmp/%zz",
	    "bad percent-escape in the socket path", NULL },
	/* unix:// needs an absolute path. */
	{ "test_bad_unix_relative", "unix://tmp/redis.sock",
	    "absolute socket path", NULL },
	{ "test_bad_unix_relative", "unix://", "absolute socket path", NULL },
	{ "test_bad_unix_relative", "unix://:secret@tmp/s",
	    "absolute socket path", "secret" },
	/* unix:// with only "/" has no socket path. */
	{ "test_bad_unix_no_path", "unix:///", "no socket path", NULL },
	{ "test_bad_unix_no_path", "unix://:secret@/?db=1", "no socket path",
	    "secret" },
	/* unix:// accepts only ?db=N, with a valid N. */
	{ "test_bad_unix_query", "unix:///tmp/s?foo=1",
	    "unsupported query \"foo=1\"", NULL },
	{ "test_bad_unix_query", "unix://:secret@/tmp/s?db=1&x=2",
	    "bad database \"1&x=2\"", "secret" },
	{ "test_bad_unix_query", "unix:///tmp/s?db=", "bad database \"\"",
	    NULL },
	{ "test_bad_unix_query", "unix:///tmp/s?db=-2", "bad database \"-2\"",
	    NULL },
	{ "test_bad_unix_query", "unix:///tmp/s?db=10001",
	    "bad database \"10001\"", NULL },
};

/* Check that a bad URL is refused as it should be. */
static void
refused(const struct bad *b)
{
	struct redis_url	 u;
	char			*cause = NULL;

	memset(&u, 0xa5, sizeof u);
	CHECK(url_parse(b->url, &u, &cause) == -1);
	CHECK(url_is_zero(&u));
	CHECK(cause != NULL);
	if (cause == NULL)
		return;
	if (strstr(cause, b->want) == NULL) {
		printf("    \"%s\": message \"%s\" lacks \"%s\"\n", b->url,
		    cause, b->want);
		CHECK(strstr(cause, b->want) != NULL);
	}
	if (b->secret != NULL)
		CHECK(strstr(cause, b->secret) == NULL);
	free(cause);
}

/* url_free is safe on a zeroed struct and twice in a row. */
static void
test_free_zeroed(void)
{
	struct redis_url	 u;
	char			*cause = NULL;

	memset(&u, 0, sizeof u);
	url_free(&u);
	CHECK(url_is_zero(&u));
	CHECK(url_parse("redis://u:p@h/1", &u, &cause) == 0);
	url_free(&u);
	url_free(&u);
	CHECK(url_is_zero(&u));
}

/* Parse s and compare its display form with want. */
static void
check_display(const char *s, const char *want, const char *secret)
{
	struct redis_url	 u;
	char			*cause = NULL, *d;

	CHECK(url_parse(s, &u, &cause) == 0);
	free(cause);
	d = url_display(&u);
	CHECK_STREQ(d, want);
	if (secret != NULL)
		CHECK(strstr(d, secret) == NULL);
	free(d);
	url_free(&u);
}

/* url_display shows user, host, port and db, never the password. */
static void
test_display(void)
{
	check_display("redis://h", "redis://h:6379", NULL);
	check_display("redis://bob@h:6390/2", "redis://bob@h:6390/2", NULL);
	check_display("redis://:hunter2@h", "redis://:***@h:6379", "hunter2");
	check_display("redis://alice:s3cret@redis.example.com:6380/3",
	    "redis://alice:***@redis.example.com:6380/3", "s3cret");
	check_display("redis://[::1]:6380/2", "redis://[::1]:6380/2", NULL);
	check_display("unix:///tmp/r.sock", "unix:///tmp/r.sock", NULL);
	check_display("unix://:pw@/tmp/r.sock?db=4",
	    "unix://:***@/tmp/r.sock?db=4", "pw@");
}

/* url_display of a display form parses back to the same fields. */
static void
test_display_roundtrip(void)
{
	struct redis_url	 a, b;
	char			*cause = NULL, *d;

	CHECK(url_parse("redis://bob@[::1]:6380/7", &a, &cause) == 0);
	d = url_display(&a);
	CHECK(url_parse(d, &b, &cause) == 0);
	CHECK(b.type == a.type && b.port == a.port && b.db == a.db);
	CHECK_STREQ(b.host, a.host);
	CHECK_STREQ(b.user, a.user);
	CHECK(b.password == NULL);
	free(d);
	url_free(&a);
	url_free(&b);
}

/*
 * url_scrub() stars out exactly the password url_parse() reads, keeping
 * the length, and leaves URLs without one alone; the scrubbed URL still
 * parses to the same server and user.
 */
static void
test_scrub(void)
{
	static const struct {
		const char	*in, *out;
	} cases[] = {
		{ "redis://:pw@h:1", "redis://:**@h:1" },
		{ "redis://u:p@ss@h/2", "redis://u:****@h/2" },
		{ "redis://u@h", "redis://u@h" },
		{ "redis://h:6379/0", "redis://h:6379/0" },
		{ "unix://u:sec%40@/run/r.sock?db=1", "unix://u:******@/run/r.sock?db=1" },
		{ "unix:///run/r.sock", "unix:///run/r.sock" },
	};
	struct redis_url u;
	char		*buf, *cause = NULL;
	size_t		 i;

	for (i = 0; i < nitems(cases); i++) {
		buf = xstrdup(cases[i].in);
		url_scrub(buf);
		CHECK_STREQ(buf, cases[i].out);
		memset(&u, 0, sizeof u);
		CHECK(url_parse(buf, &u, &cause) == 0);
		url_free(&u);
		free(buf);
	}
}

int
main(void)
{
	TEST_TABLE(goods, parses);
	TEST_TABLE(bads, refused);
	TEST_RUN(test_free_zeroed);
	TEST_RUN(test_display);
	TEST_RUN(test_display_roundtrip);
	TEST_RUN(test_scrub);
	return (test_exit());
}
