/* test_jsonlog.c - the JSON writer (escapes of every byte value, cuts at
 * escape boundaries, numbers), log-format = json (event objects, free text
 * as "msg", text lines unchanged) and log-target = syslog on a temporary
 * AF_UNIX datagram socket (RFC 3164 framing, drops counted when the
 * socket is full, never blocking, reconnect after the daemon went away). */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "proxy/lib/jsonw.h"
#include "proxy/lib/log.h"
#include "unit.h"

/* Decodes the JSON string escapes jsonw writes (the text between the
 * quotes) back into bytes; returns the length, or -1 on anything else. */
static int
json_unescape(const char *s, size_t n, uint8_t *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c >= 0x7f || c == '"')
			return -1;                  /* must have been escaped */
		if (c != '\\') {
			out[o++] = c;
			continue;
		}
		if (++i == n)
			return -1;
		switch (s[i]) {
		case '"': out[o++] = '"'; break;
		case '\\': out[o++] = '\\'; break;
		case 'b': out[o++] = '\b'; break;
		case 'f': out[o++] = '\f'; break;
		case 'n': out[o++] = '\n'; break;
		case 'r': out[o++] = '\r'; break;
		case 't': out[o++] = '\t'; break;
		case 'u': {
			unsigned v;
			if (i + 4 >= n)
				return -1;
			if (sscanf(s + i + 1, "%4x", &v) != 1 || v > 0xff)
				return -1;
			out[o++] = (uint8_t)v;
			i += 4;
			break;
		}
		default:
			return -1;
		}
	}
	return (int)o;
}

static void
test_escape_specific(void)
{
	static const struct { uint8_t in; const char *out; } cases[] = {
		{ '"', "\\\"" }, { '\\', "\\\\" }, { 0x00, "\\u0000" }, { '\n', "\\n" },
		{ '\r', "\\r" }, { '\t', "\\t" }, { '\b', "\\b" }, { '\f', "\\f" },
		{ 0x01, "\\u0001" }, { 0x1f, "\\u001f" }, { 0x7f, "\\u007f" }, { 0x80, "\\u0080" },
		{ 0xc3, "\\u00c3" }, { 0xff, "\\u00ff" }, { 'a', "a" }, { ' ', " " }, { '/', "/" },
		{ '#', "#" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[16];
		size_t used;
		size_t n = json_escape(&cases[i].in, 1, out, sizeof(out), &used);
		out[n] = '\0';
		CU_ASSERT_EQUAL(used, 1);
		CU_ASSERT_STRING_EQUAL(out, cases[i].out);
	}
}

/* Every byte value 0x00-0xff, in one string, comes back exactly. */
static void
test_escape_all_bytes_round_trip(void)
{
	uint8_t in[256], back[256];
	for (int i = 0; i < 256; i++)
		in[i] = (uint8_t)i;
	char out[256 * JSONW_ESC_MAX];
	size_t used;
	size_t n = json_escape(in, sizeof(in), out, sizeof(out), &used);
	CU_ASSERT_EQUAL(used, 256);
	CU_ASSERT_EQUAL(json_unescape(out, n, back), 256);
	CU_ASSERT(memcmp(in, back, 256) == 0);
	/* a UTF-8 sequence stays two code points: unambiguous */
	const uint8_t utf8[] = { 0xc3, 0xa9 };
	n = json_escape(utf8, 2, out, sizeof(out), &used);
	out[n] = '\0';
	CU_ASSERT_STRING_EQUAL(out, "\\u00c3\\u00a9");
}

/* Escapes are whole or not written at all. */
static void
test_escape_cut_at_boundary(void)
{
	const uint8_t in[] = { 'a', 0x01, 'b' };
	char out[16];
	size_t used;
	size_t n = json_escape(in, sizeof(in), out, 5, &used);   /* "a" fits, "\u0001" not */
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(used, 1);
	n = json_escape(in, sizeof(in), out, 7, &used);
	CU_ASSERT_EQUAL(n, 7);
	CU_ASSERT_EQUAL(used, 2);
}

static void
test_writer_members(void)
{
	char buf[256];
	struct jsonw w;
	jsonw_begin(&w, buf, sizeof(buf));
	jsonw_str(&w, "zone", "a\"b\\c\\000d.test.");
	jsonw_int(&w, "i", -5);
	jsonw_uint(&w, "u", 18446744073709551615ull);
	jsonw_dbl(&w, "d", 1.23456, 3);
	jsonw_dbl(&w, "nan", NAN, 3);
	jsonw_bool(&w, "b", true);
	jsonw_strn(&w, "n", "abcdef", 3);
	size_t len = jsonw_end(&w, true);
	CU_ASSERT_STRING_EQUAL(buf, "{\"zone\":\"a\\\"b\\\\c\\\\000d.test.\",\"i\":-5,"
	                       "\"u\":18446744073709551615,\"d\":1.235,\"nan\":null,\"b\":true,"
	                       "\"n\":\"abc\"}\n");
	CU_ASSERT_EQUAL(len, strlen(buf));
	jsonw_begin(&w, buf, sizeof(buf));
	CU_ASSERT_EQUAL(jsonw_end(&w, false), 2);
	CU_ASSERT_STRING_EQUAL(buf, "{}");
}

/* What does not fit is cut at an escape boundary and flagged; the result
 * still parses (closing quote and brace present). */
static void
test_writer_truncates_validly(void)
{
	char buf[80];
	char big[200];
	memset(big, '\\', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	struct jsonw w;
	jsonw_begin(&w, buf, sizeof(buf));
	jsonw_str(&w, "a", "short");
	jsonw_str(&w, "msg", big);
	jsonw_uint(&w, "later", 1);             /* dropped: the object is already cut */
	size_t len = jsonw_end(&w, true);
	CU_ASSERT(len < sizeof(buf));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, ",\"truncated\":true}\n"));
	CU_ASSERT_PTR_NULL(strstr(buf, "later"));
	/* the msg value is an even run of backslashes: no escape was split */
	const char *v = strstr(buf, "\"msg\":\"") + 7;
	size_t run = strspn(v, "\\");
	CU_ASSERT_EQUAL(run % 2, 0);
	CU_ASSERT_EQUAL(v[run], '"');
}

/* ---- log-format ------------------------------------------------------------ */

struct cap {
	struct ev_loop *loop;
	int rd, wr;
	char text[65536];
	size_t len;
};

static bool
cap_start(struct cap *c)
{
	int p[2];
	memset(c, 0, sizeof(*c));
	c->loop = ev_loop_new(EVFLAG_AUTO);
	if (c->loop == NULL || pipe2(p, O_CLOEXEC) < 0)
		return false;
	c->rd = p[0];
	c->wr = p[1];
	fcntl(c->rd, F_SETFL, O_NONBLOCK);
	return log_sink_start_fd(c->loop, c->wr) == 0;
}

static const char *
cap_read(struct cap *c)
{
	ssize_t n;
	while ((n = read(c->rd, c->text + c->len, sizeof(c->text) - 1 - c->len)) > 0)
		c->len += (size_t)n;
	c->text[c->len] = '\0';
	return c->text;
}

static void
cap_stop(struct cap *c)
{
	log_sink_stop();
	close(c->rd);
	close(c->wr);
	ev_loop_destroy(c->loop);
	log_reset();
}

static void
log_transfer_event(void)
{
	struct log_field f[] = {
		LF_S("direction", "inbound"), LF_U("conn", 7), LF_SN("client", "127.0.0.1#5353", 9),
		LF_U("client_port", 5353), LF_S("tsig_key", NULL), LF_S("zone", "a\"b\\\\c\\000d.test."),
		LF_S("qtype", "AXFR"), LF_U("serial", 2024010101), LF_S("outcome", "ok"),
		LF_U("messages", 3), LF_U("bytes", 1234), LF_D("duration", 0.25, 3), LF_I("neg", -1),
		LF_B("flag", false),
	};
	log_event(XP_LOG_INFO, "transfer", f, sizeof(f) / sizeof(f[0]),
	          "conn %u, remote %s, zone %s, AXFR, ok, 3 messages, 1234 bytes, 0.250 s", 7,
	          "127.0.0.1#5353", "a\"b\\\\c\\000d.test.");
}

static void
test_text_format_unchanged(void)
{
	struct cap c;
	log_threshold = XP_LOG_INFO;
	CU_ASSERT_FATAL(cap_start(&c));
	CU_ASSERT_EQUAL(log_current_format(), LOG_FORMAT_TEXT);
	log_transfer_event();
	log_warning("hello %d", 42);
	log_event(XP_LOG_DEBUG, "x", NULL, 0, "not at info");
	const char *t = cap_read(&c);
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "Z info: conn 7, remote 127.0.0.1#5353, zone a\"b\\\\c\\000d.test., "
	                               "AXFR, ok, 3 messages, 1234 bytes, 0.250 s\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "Z warning: hello 42\n"));
	CU_ASSERT_PTR_NULL(strstr(t, "not at info"));
	CU_ASSERT_EQUAL(t[4], '-');
	cap_stop(&c);
}

static void
test_json_format(void)
{
	struct cap c;
	log_threshold = XP_LOG_INFO;
	CU_ASSERT_FATAL(cap_start(&c));
	CU_ASSERT_EQUAL(log_configure(LOG_FORMAT_JSON, LOG_TARGET_STDERR, NULL), 0);
	log_transfer_event();
	log_warning("quote \" backslash \\ nl \n ctl \x01 high \xe9 %d", 42);
	const char *t = cap_read(&c);
	const char *nl = strchr(t, '\n');
	CU_ASSERT_FATAL(nl != NULL);
	CU_ASSERT_EQUAL(strncmp(t, "{\"time\":\"", 9), 0);
	CU_ASSERT_EQUAL(nl[-1], '}');
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "Z\",\"level\":\"info\",\"event\":\"transfer\",\"direction\":\"inbound\","
	                               "\"conn\":7,\"client\":\"127.0.0.1\",\"client_port\":5353,"
	                               "\"zone\":\"a\\\"b\\\\\\\\c\\\\000d.test.\",\"qtype\":\"AXFR\","
	                               "\"serial\":2024010101,\"outcome\":\"ok\",\"messages\":3,"
	                               "\"bytes\":1234,\"duration\":0.250,\"neg\":-1,\"flag\":false}\n"));
	CU_ASSERT_PTR_NULL(strstr(t, "tsig_key"));               /* NULL: left out */
	CU_ASSERT_PTR_NULL(strstr(t, "remote"));                 /* the text line is not used */
	CU_ASSERT_PTR_NOT_NULL(strstr(nl + 1, "\"level\":\"warning\",\"msg\":\"quote \\\" backslash \\\\ "
	                                    "nl \\n ctl \\u0001 high \\u00e9 42\"}\n"));
	cap_stop(&c);
	CU_ASSERT_EQUAL(log_current_format(), LOG_FORMAT_TEXT);  /* log_reset */
}

/* A JSON line with a free-text message of the longest kind (every byte
 * escaped to six) is cut, flagged and still one object on one line. */
static void
test_json_long_line(void)
{
	struct cap c;
	log_threshold = XP_LOG_INFO;
	CU_ASSERT_FATAL(cap_start(&c));
	CU_ASSERT_EQUAL(log_configure(LOG_FORMAT_JSON, LOG_TARGET_STDERR, NULL), 0);
	char msg[LOG_LINE_MAX];
	memset(msg, 0x01, sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	log_warning("%s", msg);
	const char *t = cap_read(&c);
	CU_ASSERT(strlen(t) <= LOG_JSON_MAX);
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "\"truncated\":true}\n"));
	CU_ASSERT_EQUAL(strchr(t, '\n') - t + 1, (long)strlen(t));
	cap_stop(&c);
}

static void
test_names(void)
{
	CU_ASSERT_EQUAL(log_format_parse("text"), LOG_FORMAT_TEXT);
	CU_ASSERT_EQUAL(log_format_parse("json"), LOG_FORMAT_JSON);
	CU_ASSERT_EQUAL(log_format_parse("JSON"), -1);
	CU_ASSERT_EQUAL(log_target_parse("stderr"), LOG_TARGET_STDERR);
	CU_ASSERT_EQUAL(log_target_parse("syslog"), LOG_TARGET_SYSLOG);
	CU_ASSERT_EQUAL(log_target_parse("file"), -1);
	CU_ASSERT_STRING_EQUAL(log_format_name(LOG_FORMAT_JSON), "json");
	CU_ASSERT_STRING_EQUAL(log_target_name(LOG_TARGET_SYSLOG), "syslog");
}

/* ---- log-target = syslog ------------------------------------------------------ */

/* A datagram socket bound at path (a fresh one made up when path is ""),
 * as a syslog daemon would be. */
static int
syslogd_open(char path[108], int rcvbuf)
{
	if (path[0] == '\0')
		snprintf(path, 108, "/tmp/xot-unit-syslog.%ld.%d", (long)getpid(), rand());
	unlink(path);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Next datagram (non-blocking), NUL-terminated; length or -1. */
static ssize_t
dgram(int fd, char *buf, size_t cap)
{
	ssize_t n = recv(fd, buf, cap - 1, MSG_DONTWAIT);
	buf[n > 0 ? n : 0] = '\0';
	return n;
}

static void
test_syslog_framing(void)
{
	char path[108] = "", buf[8192], want[64];
	int fd = syslogd_open(path, 0);
	CU_ASSERT_FATAL(fd >= 0);
	log_threshold = XP_LOG_DEBUG;
	CU_ASSERT_EQUAL(log_configure(LOG_FORMAT_TEXT, LOG_TARGET_SYSLOG, path), 0);
	log_info("hello %d", 1);
	log_error("bad");
	log_debug("dbg");
	log_transfer_event();
	snprintf(want, sizeof(want), " xotproxy[%ld]: hello 1", (long)getpid());
	CU_ASSERT(dgram(fd, buf, sizeof(buf)) > 0);
	CU_ASSERT_EQUAL(strncmp(buf, "<30>", 4), 0);            /* daemon.info */
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, want));
	CU_ASSERT_EQUAL(buf[strlen(buf) - 1], '1');               /* no newline, no own timestamp */
	CU_ASSERT(dgram(fd, buf, sizeof(buf)) > 0);
	CU_ASSERT_EQUAL(strncmp(buf, "<27>", 4), 0);            /* daemon.err */
	CU_ASSERT(dgram(fd, buf, sizeof(buf)) > 0);
	CU_ASSERT_EQUAL(strncmp(buf, "<31>", 4), 0);            /* daemon.debug */
	CU_ASSERT(dgram(fd, buf, sizeof(buf)) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "]: conn 7, remote 127.0.0.1#5353, zone "));

	CU_ASSERT_EQUAL(log_configure(LOG_FORMAT_JSON, LOG_TARGET_SYSLOG, path), 0);
	log_transfer_event();
	CU_ASSERT(dgram(fd, buf, sizeof(buf)) > 0);
	const char *obj = strstr(buf, "]: {\"time\":");
	CU_ASSERT_PTR_NOT_NULL(obj);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"event\":\"transfer\""));
	CU_ASSERT_EQUAL(buf[strlen(buf) - 1], '}');
	log_reset();
	log_threshold = XP_LOG_INFO;
	close(fd);
	unlink(path);
}

/* A full socket never blocks: lines are dropped and counted, and once it
 * takes lines again the count is reported first. A daemon that went away
 * costs dropped lines, and a new one at the path is found again. */
static void
test_syslog_full_and_gone(void)
{
	char path[108] = "", buf[8192];
	int fd = syslogd_open(path, 4096);
	CU_ASSERT_FATAL(fd >= 0);
	log_threshold = XP_LOG_INFO;
	CU_ASSERT_EQUAL(log_configure(LOG_FORMAT_TEXT, LOG_TARGET_SYSLOG, path), 0);
	uint64_t before = log_dropped_total();
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 2000; i++)
		log_info("fill %d ..........................................................", i);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double took = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	CU_ASSERT(took < 1.0);                                   /* nothing waited */
	uint64_t dropped = log_dropped_total() - before;
	CU_ASSERT(dropped > 0);
	int got = 0;
	while (dgram(fd, buf, sizeof(buf)) > 0)
		got++;
	CU_ASSERT(got > 0);
	CU_ASSERT_EQUAL((uint64_t)got + dropped, 2000);
	log_info("after");
	CU_ASSERT(dgram(fd, buf, sizeof(buf)) > 0);
	char want[64];
	snprintf(want, sizeof(want), "]: %llu log lines dropped", (unsigned long long)dropped);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, want));
	CU_ASSERT_EQUAL(strncmp(buf, "<28>", 4), 0);            /* a warning */
	CU_ASSERT(dgram(fd, buf, sizeof(buf)) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "]: after"));

	/* the daemon goes away: lines are dropped, nothing blocks */
	close(fd);
	unlink(path);
	before = log_dropped_total();
	log_info("nobody");
	CU_ASSERT_EQUAL(log_dropped_total() - before, 1);
	/* a new daemon at the same path: found again (at most once a second) */
	fd = syslogd_open(path, 0);
	CU_ASSERT_FATAL(fd >= 0);
	usleep(1100 * 1000);
	log_info("back");
	CU_ASSERT(dgram(fd, buf, sizeof(buf)) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "]: 1 log lines dropped"));
	CU_ASSERT(dgram(fd, buf, sizeof(buf)) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "]: back"));
	log_reset();
	close(fd);
	unlink(path);
}

static void
test_syslog_missing_socket(void)
{
	errno = 0;
	CU_ASSERT_EQUAL(log_configure(LOG_FORMAT_JSON, LOG_TARGET_SYSLOG, "/nonexistent/xot/log"), -1);
	CU_ASSERT_EQUAL(errno, ENOENT);
	CU_ASSERT_EQUAL(log_current_format(), LOG_FORMAT_TEXT);  /* unchanged */
}

int
test_jsonlog_register(void)
{
	SUITE("jsonlog (JSON writer, log-format json, log-target syslog)");
	TEST(test_escape_specific);
	TEST(test_escape_all_bytes_round_trip);
	TEST(test_escape_cut_at_boundary);
	TEST(test_writer_members);
	TEST(test_writer_truncates_validly);
	TEST(test_text_format_unchanged);
	TEST(test_json_format);
	TEST(test_json_long_line);
	TEST(test_names);
	TEST(test_syslog_framing);
	TEST(test_syslog_full_and_gone);
	TEST(test_syslog_missing_socket);
	return 0;
}
