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

/* Parse s and check every field of a TCP URL. */
static void
check_tcp(const char *s, const char *host, int port, int db,
    const char *user, const char *password)
{
	struct redis_url	 u;
	char			*cause = NULL;

	CHECK(url_parse(s, &u, &cause) == 0);
	if (cause != NULL) {
		printf("    %s: %s\n", s, cause);
		free(cause);
	}
	CHECK(u.type == URL_TCP);
	CHECK_STREQ(u.host, host);
	CHECK(u.port == port);
	CHECK(u.db == db);
	CHECK(u.path == NULL);
	CHECK(same(u.user, user));
	CHECK(same(u.password, password));
	url_free(&u);
	CHECK(url_is_zero(&u));
}

/* Parse s and check every field of a unix URL. */
static void
check_unix(const char *s, const char *path, int db, const char *user,
    const char *password)
{
	struct redis_url	 u;
	char			*cause = NULL;

	CHECK(url_parse(s, &u, &cause) == 0);
	if (cause != NULL) {
		printf("    %s: %s\n", s, cause);
		free(cause);
	}
	CHECK(u.type == URL_UNIX);
	CHECK_STREQ(u.path, path);
	CHECK(u.host == NULL);
	CHECK(u.db == db);
	CHECK(same(u.user, user));
	CHECK(same(u.password, password));
	url_free(&u);
}

/*
 * Check that s is rejected with a message containing want, not containing
 * secret (if not NULL), and with the struct left zeroed.
 */
static void
check_bad(const char *s, const char *want, const char *secret)
{
	struct redis_url	 u;
	char			*cause = NULL;

	memset(&u, 0xa5, sizeof u);
	CHECK(url_parse(s, &u, &cause) == -1);
	CHECK(url_is_zero(&u));
	CHECK(cause != NULL);
	if (cause == NULL)
		return;
	if (strstr(cause, want) == NULL) {
		printf("    \"%s\": message \"%s\" lacks \"%s\"\n", s, cause,
		    want);
		CHECK(strstr(cause, want) != NULL);
	}
	if (secret != NULL)
		CHECK(strstr(cause, secret) == NULL);
	free(cause);
}

/* A bare host gets port 6379, db 0 and no credentials. */
static void
test_host_only(void)
{
	check_tcp("redis://localhost", "localhost", 6379, 0, NULL, NULL);
	check_tcp("redis://127.0.0.1", "127.0.0.1", 6379, 0, NULL, NULL);
}

/* The scheme is case-insensitive. */
static void
test_scheme_case(void)
{
	check_tcp("REDIS://cache", "cache", 6379, 0, NULL, NULL);
	check_unix("Unix:///run/r.sock", "/run/r.sock", 0, NULL, NULL);
}

/* Every field of a full URL. */
static void
test_full(void)
{
	check_tcp("redis://alice:s3cret@redis.example.com:6380/3",
	    "redis.example.com", 6380, 3, "alice", "s3cret");
}

/* Port and db are optional independently. */
static void
test_port_db(void)
{
	check_tcp("redis://h:1", "h", 1, 0, NULL, NULL);
	check_tcp("redis://h:65535", "h", 65535, 0, NULL, NULL);
	check_tcp("redis://h/15", "h", 6379, 15, NULL, NULL);
	check_tcp("redis://h:7000/10000", "h", 7000, 10000, NULL, NULL);
	check_tcp("redis://h:7000/0", "h", 7000, 0, NULL, NULL);
}

/* An empty db ("host/") is db 0. */
static void
test_empty_db(void)
{
	check_tcp("redis://h/", "h", 6379, 0, NULL, NULL);
	check_tcp("redis://h:6380/", "h", 6380, 0, NULL, NULL);
}

/* ":pass@" is a password for the default user. */
static void
test_password_only(void)
{
	check_tcp("redis://:hunter2@h", "h", 6379, 0, NULL, "hunter2");
}

/* "user@" is a user with no password. */
static void
test_user_only(void)
{
	check_tcp("redis://bob@h:6390", "h", 6390, 0, "bob", NULL);
	check_tcp("redis://bob:@h", "h", 6379, 0, "bob", NULL);
	check_tcp("redis://:@h", "h", 6379, 0, NULL, NULL);
	check_tcp("redis://@h", "h", 6379, 0, NULL, NULL);
}

/* User and password are percent-decoded. */
static void
test_percent_decoding(void)
{
	check_tcp("redis://us%3Aer:p%40ss%2Fw%25rd@h", "h", 6379, 0,
	    "us:er", "p@ss/w%rd");
	check_tcp("redis://u:%e2%82%ac@h", "h", 6379, 0, "u", "\xe2\x82\xac");
}

/* An unencoded '@' or ':' in the password works. */
static void
test_raw_at_in_password(void)
{
	check_tcp("redis://:p@ss@h:1234/2", "h", 1234, 2, NULL, "p@ss");
	check_tcp("redis://u:a:b@h", "h", 6379, 0, "u", "a:b");
}

/* IPv6 addresses in brackets, stored without them. */
static void
test_ipv6(void)
{
	check_tcp("redis://[::1]:6380/2", "::1", 6380, 2, NULL, NULL);
	check_tcp("redis://[::1]", "::1", 6379, 0, NULL, NULL);
	check_tcp("redis://u:p@[2001:db8::7]/1", "2001:db8::7", 6379, 1,
	    "u", "p");
	check_tcp("redis://[::ffff:10.0.0.1]:7000", "::ffff:10.0.0.1", 7000,
	    0, NULL, NULL);
}

/* Unix socket URLs, with and without credentials and db. */
static void
test_unix(void)
{
	check_unix("unix:///tmp/redis.sock", "/tmp/redis.sock", 0, NULL,
	    NULL);
	check_unix("unix:///tmp/r.sock?db=3", "/tmp/r.sock", 3, NULL, NULL);
	check_unix("unix://:pw@/tmp/s", "/tmp/s", 0, NULL, "pw");
	check_unix("unix://u:p%40w@/var/run/r.sock?db=10000",
	    "/var/run/r.sock", 10000, "u", "p@w");
	check_unix("unix:///tmp/my%20dir/r.sock", "/tmp/my dir/r.sock", 0,
	    NULL, NULL);
}

/* rediss:// is refused: no TLS. */
static void
test_bad_tls(void)
{
	check_bad("rediss://:secret@h:6380", "TLS is not supported", "secret");
	check_bad("REDISS://h", "TLS is not supported", NULL);
}

/* Other schemes are refused, naming the scheme. */
static void
test_bad_scheme(void)
{
	check_bad("http://h", "unsupported URL scheme \"http\"", NULL);
	check_bad("redis+sentinel://:pw@h", "\"redis+sentinel\"", "pw");
	check_bad("tcp://h:6379", "\"tcp\"", NULL);
}

/* A string without a scheme is refused without echoing it. */
static void
test_bad_no_scheme(void)
{
	check_bad("localhost:6379", "must start with redis:// or unix://",
	    NULL);
	check_bad("user:secret@host", "must start with redis://", "secret");
	check_bad("://h", "must start with redis://", NULL);
	check_bad("a b://h", "must start with redis://", NULL);
}

/* An empty or NULL URL is refused. */
static void
test_bad_empty(void)
{
	check_bad("", "empty Redis URL", NULL);
	check_bad(NULL, "empty Redis URL", NULL);
}

/* A URL without a host is refused. */
static void
test_bad_no_host(void)
{
	check_bad("redis://", "no host", NULL);
	check_bad("redis://:6379", "no host", NULL);
	check_bad("redis:///0", "no host", NULL);
	check_bad("redis://:topsecret@", "no host", "topsecret");
	check_bad("redis://u:topsecret@:6379/1", "no host", "topsecret");
}

/* A host with characters a host name cannot have is refused. */
static void
test_bad_host(void)
{
	check_bad("redis://ho st", "bad host \"ho st\"", NULL);
	check_bad("redis://:pw@h!x:1", "bad host \"h!x\"", "pw");
	check_bad("redis://h?db=1", "bad host \"h?db=1\"", NULL);
}

/* Port 0 is refused. */
static void
test_bad_port_zero(void)
{
	check_bad("redis://:pw@h:0", "bad port \"0\"", "pw");
}

/* Ports above 65535 are refused. */
static void
test_bad_port_large(void)
{
	check_bad("redis://h:65536", "bad port \"65536\"", NULL);
	check_bad("redis://h:99999999999999999999", "bad port", NULL);
}

/* Ports that are not digits are refused, without echoing them. */
static void
test_bad_port_digits(void)
{
	check_bad("redis://h:abc", "bad port in Redis URL: not a number",
	    "abc");
	check_bad("redis://h:-1", "bad port in Redis URL: not a number", NULL);
	check_bad("redis://h:+80", "bad port in Redis URL: not a number", NULL);
	check_bad("redis://h:6379x", "bad port in Redis URL: not a number",
	    NULL);
	check_bad("redis://h:6379:1", "bad port in Redis URL: not a number",
	    NULL);
}

/* A URL missing "@host" does not show its password as a port. */
static void
test_bad_missing_host_part(void)
{
	check_bad("redis://admin:topsecret", "bad port", "topsecret");
	check_bad("redis://admin:topsecret/0", "bad port", "topsecret");
}

/* An empty port after ':' is refused. */
static void
test_bad_port_empty(void)
{
	check_bad("redis://h:", "empty port", NULL);
	check_bad("redis://h:/1", "empty port", NULL);
}

/* A negative db is refused. */
static void
test_bad_db_negative(void)
{
	check_bad("redis://h/-1", "bad database \"-1\"", NULL);
}

/* A db that is not a number is refused. */
static void
test_bad_db_number(void)
{
	check_bad("redis://:pw@h/x", "bad database \"x\"", "pw");
	check_bad("redis://h/1.5", "bad database \"1.5\"", NULL);
	check_bad("redis://h/+1", "bad database \"+1\"", NULL);
}

/* A db above 10000 is refused. */
static void
test_bad_db_large(void)
{
	check_bad("redis://h/10001", "bad database \"10001\" in Redis URL "
	    "(0 to 10000)", NULL);
}

/* Trailing characters after the db or host are refused. */
static void
test_bad_trailing(void)
{
	check_bad("redis://h/1/2", "bad database \"1/2\"", NULL);
	check_bad("redis://h:6379/1?x=y", "bad database \"1?x=y\"", NULL);
	check_bad("redis://[::1]x", "unexpected \"x\" after the host", NULL);
	check_bad("redis://[::1]:6379/1 ", "bad database \"1 \"", NULL);
}

/* Malformed IPv6 literals are refused. */
static void
test_bad_ipv6(void)
{
	check_bad("redis://[::1", "missing ']'", NULL);
	check_bad("redis://[]:6379", "bad IPv6 address \"\"", NULL);
	check_bad("redis://[zz::1]", "bad IPv6 address \"zz::1\"", NULL);
	check_bad("redis://[127.0.0.1]", "bad IPv6 address", NULL);
}

/* Bad percent-escapes are refused without showing the password. */
static void
test_bad_percent(void)
{
	check_bad("redis://:sec%zzret@h", "bad percent-escape in the password",
	    "sec");
	check_bad("redis://:secret%4@h", "bad percent-escape in the password",
	    "secret");
	check_bad("redis://:secret%00@h", "bad percent-escape in the password",
	    "secret");
	check_bad("redis://us%g1er:pw@h", "bad percent-escape in the user name",
	    "pw");
	check_bad("unix:///tmp/%zz", "bad percent-escape in the socket path",
	    NULL);
}

/* unix:// needs an absolute path. */
static void
test_bad_unix_relative(void)
{
	check_bad("unix://tmp/redis.sock", "absolute socket path", NULL);
	check_bad("unix://", "absolute socket path", NULL);
	check_bad("unix://:secret@tmp/s", "absolute socket path", "secret");
}

/* unix:// with only "/" has no socket path. */
static void
test_bad_unix_no_path(void)
{
	check_bad("unix:///", "no socket path", NULL);
	check_bad("unix://:secret@/?db=1", "no socket path", "secret");
}

/* unix:// accepts only ?db=N, with a valid N. */
static void
test_bad_unix_query(void)
{
	check_bad("unix:///tmp/s?foo=1", "unsupported query \"foo=1\"", NULL);
	check_bad("unix://:secret@/tmp/s?db=1&x=2",
	    "bad database \"1&x=2\"", "secret");
	check_bad("unix:///tmp/s?db=", "bad database \"\"", NULL);
	check_bad("unix:///tmp/s?db=-2", "bad database \"-2\"", NULL);
	check_bad("unix:///tmp/s?db=10001", "bad database \"10001\"", NULL);
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

/* The default URL of dteq.h parses. */
static void
test_default_url(void)
{
	check_tcp(DEFAULT_REDIS_URL, "127.0.0.1", 6379, 0, NULL, NULL);
}

int
main(void)
{
	TEST_RUN(test_host_only);
	TEST_RUN(test_scheme_case);
	TEST_RUN(test_full);
	TEST_RUN(test_port_db);
	TEST_RUN(test_empty_db);
	TEST_RUN(test_password_only);
	TEST_RUN(test_user_only);
	TEST_RUN(test_percent_decoding);
	TEST_RUN(test_raw_at_in_password);
	TEST_RUN(test_ipv6);
	TEST_RUN(test_unix);
	TEST_RUN(test_bad_tls);
	TEST_RUN(test_bad_scheme);
	TEST_RUN(test_bad_no_scheme);
	TEST_RUN(test_bad_empty);
	TEST_RUN(test_bad_no_host);
	TEST_RUN(test_bad_host);
	TEST_RUN(test_bad_port_zero);
	TEST_RUN(test_bad_port_large);
	TEST_RUN(test_bad_port_digits);
	TEST_RUN(test_bad_missing_host_part);
	TEST_RUN(test_bad_port_empty);
	TEST_RUN(test_bad_db_negative);
	TEST_RUN(test_bad_db_number);
	TEST_RUN(test_bad_db_large);
	TEST_RUN(test_bad_trailing);
	TEST_RUN(test_bad_ipv6);
	TEST_RUN(test_bad_percent);
	TEST_RUN(test_bad_unix_relative);
	TEST_RUN(test_bad_unix_no_path);
	TEST_RUN(test_bad_unix_query);
	TEST_RUN(test_free_zeroed);
	TEST_RUN(test_display);
	TEST_RUN(test_display_roundtrip);
	TEST_RUN(test_default_url);
	return (test_exit());
}
