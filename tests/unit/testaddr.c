/* testaddr.c - socket addresses from text for the unit tests. */
#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <string.h>

#include "unit.h"

struct sockaddr_storage
ut_addr_port(const char *text, uint16_t port)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	if (strchr(text, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		CU_ASSERT_EQUAL(inet_pton(AF_INET6, text, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		CU_ASSERT_EQUAL(inet_pton(AF_INET, text, &s4->sin_addr), 1);
	}
	return ss;
}

struct sockaddr_storage
ut_addr(const char *text)
{
	return ut_addr_port(text, 0);
}
