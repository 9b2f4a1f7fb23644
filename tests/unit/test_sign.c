/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Unit tests for common/sign.c: a signed message verifies under its
 * secret and no other, a changed byte fails, and sign_payload() finds the
 * JSON of a signed or unsigned message without checking it.
 */

#include <stdlib.h>
#include <string.h>

#include "dteq.h"
#include "test.h"

static const char json[] = "{\"id\":\"a:b\",\"attempt\":1}";

static void
test_sign_verify(void)
{
	const char	*body;
	char		*msg, *cause = NULL;
	size_t		 len, bodylen;

	msg = sign_message("s3cret", json, strlen(json), &len);
	CHECK(strncmp(msg, "v1:", 3) == 0);
	CHECK(len == strlen(msg));
	CHECK(sign_verify("s3cret", msg, len, &body, &bodylen, &cause) == 0);
	CHECK(bodylen == strlen(json) && memcmp(body, json, bodylen) == 0);
	CHECK(sign_verify("other", msg, len, &body, &bodylen, &cause) != 0);
	free(cause);
	cause = NULL;
	msg[len - 3] ^= 1;
	CHECK(sign_verify("s3cret", msg, len, &body, &bodylen, &cause) != 0);
	free(cause);
	free(msg);
}

static void
test_sign_payload(void)
{
	const char	*p;
	char		*msg;
	size_t		 len, plen;

	/* Signed: the JSON after the header, whatever the MAC. */
	msg = sign_message("s3cret", json, strlen(json), &len);
	p = sign_payload(msg, len, &plen);
	CHECK(plen == strlen(json) && memcmp(p, json, plen) == 0);
	free(msg);
	/* Unsigned: the message itself. */
	p = sign_payload(json, strlen(json), &plen);
	CHECK(p == json && plen == strlen(json));
	/* Too short for a header, or no ':' where it ends: left whole. */
	p = sign_payload("v1:abc", 6, &plen);
	CHECK(plen == 6);
}

int
main(void)
{
	TEST_RUN(test_sign_verify);
	TEST_RUN(test_sign_payload);
	return (test_exit());
}
