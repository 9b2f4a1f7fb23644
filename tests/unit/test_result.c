/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Unit tests for common/result.c's encoder, written by hand: what it
 * writes is JSON (cJSON parses it), every field comes back through
 * result_decode() as it went in (strings with quotes, backslashes,
 * control characters and UTF-8; millisecond timestamps past 2^32; every
 * status), and the optional members are left out when unset.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "dteq.h"
#include "test.h"

/* An optional string came back as it went: NULL, or the same text. */
static void
check_optional(const char *got, const char *want)
{
	if (want == NULL)
		CHECK(got == NULL);
	else
		CHECK_STREQ(got, want);
}

/* Encode r, parse it back, and compare every field. */
static void
round_trip(const struct result *r)
{
	struct result	 back;
	cJSON		*o;
	char		*json, *cause = NULL;
	size_t		 len;

	json = result_encode(r, &len);
	CHECK(len == strlen(json));
	o = cJSON_Parse(json);
	CHECK(o != NULL);
	cJSON_Delete(o);
	memset(&back, 0, sizeof back);
	CHECK(result_decode(json, len, &back, &cause) == 0);
	if (cause != NULL) {
		printf("    %s: %s\n", json, cause);
		free(cause);
	}
	CHECK_STREQ(back.id, r->id);
	CHECK(back.status == r->status);
	CHECK(back.exit_code == r->exit_code);
	CHECK(back.attempt == r->attempt);
	check_optional(back.agent, r->agent);
	CHECK(back.start_ms == r->start_ms);
	CHECK(back.end_ms == r->end_ms);
	CHECK(back.duration_ms == r->duration_ms);
	CHECK(back.output_bytes == r->output_bytes);
	check_optional(back.reason, r->reason);
	CHECK(back.cached == r->cached);
	result_clear(&back);
	free(json);
}

static void
test_fields(void)
{
	struct result	r;

	memset(&r, 0, sizeof r);
	r.id = (char *)"app:build";
	r.status = RESULT_SUCCESS;
	r.attempt = 1;
	r.agent = (char *)"agent-1";
	r.start_ms = 1795837211264ULL;
	r.end_ms = 1795837211673ULL;
	r.duration_ms = 409;
	r.output_bytes = 5000000000ULL;
	round_trip(&r);

	r.id = (char *)"we\"ird\\id\n\t\x01 \xc3\xa9t\xc3\xa9";
	r.status = RESULT_TIMEOUT;
	r.exit_code = 143;
	r.attempt = 3;
	r.reason = (char *)"timed out after 2 s; \"quoted\"\r\n";
	round_trip(&r);
}

static void
test_optional(void)
{
	struct result	 r;
	char		*json;
	int		 st;

	memset(&r, 0, sizeof r);
	r.id = (char *)"t";
	for (st = RESULT_SUCCESS; st <= RESULT_CANCELLED; st++) {
		r.status = st;
		round_trip(&r);
	}
	json = result_encode(&r, NULL);
	CHECK(strstr(json, "\"agent\"") == NULL);
	CHECK(strstr(json, "\"reason\"") == NULL);
	CHECK(strstr(json, "\"cached\"") == NULL);
	CHECK(strncmp(json, "{\"id\":\"t\",\"status\":", 19) == 0);
	free(json);
}

/*
 * A cache hit submit records: cached true, attempt 0, no agent; a
 * "cached" that is not true reads as not cached.
 */
static void
test_cached(void)
{
	struct result	 r;
	char		*json, *cause = NULL;

	memset(&r, 0, sizeof r);
	r.id = (char *)"@ws/util#build";
	r.status = RESULT_SUCCESS;
	r.cached = 1;
	r.start_ms = r.end_ms = 1795837211264ULL;
	round_trip(&r);
	json = result_encode(&r, NULL);
	CHECK(strstr(json, ",\"cached\":true}") != NULL);
	CHECK(strstr(json, "\"attempt\":0") != NULL);
	free(json);
	memset(&r, 0, sizeof r);
	json = (char *)"{\"id\":\"a\",\"status\":\"success\","
	    "\"cached\":\"true\"}";
	CHECK(result_decode(json, strlen(json), &r, &cause) == 0);
	CHECK(r.cached == 0);
	result_clear(&r);
	free(cause);
}

/* Decode ev (a C string) into e; 0 or -1 as event_decode. */
static int
decode(const char *ev, struct event_msg *e)
{
	char	*cause = NULL;
	int	 rc;

	rc = event_decode(ev, strlen(ev), e, &cause);
	if (rc != 0)
		CHECK(cause != NULL && *cause != '\0');
	free(cause);
	return (rc);
}

/* The finish script's one event: finished, with the next task's start. */
static void
test_events(void)
{
	struct event_msg	e;

	CHECK(decode("{\"type\":\"finished\",\"result\":{\"id\":\"a\","
	    "\"status\":\"success\",\"exit\":0,\"attempt\":1},\"next\":"
	    "{\"id\":\"b\\\"c\",\"attempt\":2,\"agent\":\"w1\","
	    "\"start\":1795837211264}}", &e) == 0);
	CHECK(e.type == EVENT_FINISHED);
	CHECK_STREQ(e.result.id, "a");
	CHECK(e.result.status == RESULT_SUCCESS);
	CHECK_STREQ(e.next_id, "b\"c");
	CHECK(e.next_attempt == 2);
	CHECK_STREQ(e.next_agent, "w1");
	event_clear(&e);

	CHECK(decode("{\"type\":\"finished\",\"result\":{\"id\":\"a\","
	    "\"status\":\"failed\",\"exit\":3,\"attempt\":1}}", &e) == 0);
	CHECK(e.type == EVENT_FINISHED);
	CHECK(e.result.status == RESULT_FAILED);
	CHECK(e.next_id == NULL && e.next_agent == NULL);
	event_clear(&e);

	CHECK(decode("{\"type\":\"finished\",\"result\":{\"id\":\"a\","
	    "\"status\":\"success\",\"attempt\":1},\"next\":{\"attempt\":2}}",
	    &e) == -1);

	CHECK(decode("{\"type\":\"started\",\"id\":\"b\",\"attempt\":4,"
	    "\"agent\":\"w2\",\"start\":1}", &e) == 0);
	CHECK(e.type == EVENT_STARTED);
	CHECK_STREQ(e.id, "b");
	CHECK(e.attempt == 4);
	CHECK(e.next_id == NULL);
	event_clear(&e);
}

int
main(void)
{
	TEST_RUN(test_fields);
	TEST_RUN(test_optional);
	TEST_RUN(test_cached);
	TEST_RUN(test_events);
	return (test_exit());
}
