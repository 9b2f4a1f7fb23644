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
	if (r->agent == NULL)
		CHECK(back.agent == NULL);
	else
		CHECK_STREQ(back.agent, r->agent);
	CHECK(back.start_ms == r->start_ms);
	CHECK(back.end_ms == r->end_ms);
	CHECK(back.duration_ms == r->duration_ms);
	CHECK(back.output_bytes == r->output_bytes);
	if (r->reason == NULL)
		CHECK(back.reason == NULL);
	else
		CHECK_STREQ(back.reason, r->reason);
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
	CHECK(strncmp(json, "{\"id\":\"t\",\"status\":", 19) == 0);
	free(json);
}

int
main(void)
{
	TEST_RUN(test_fields);
	TEST_RUN(test_optional);
	return (test_exit());
}
