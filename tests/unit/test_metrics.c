/* test_metrics.c - the metrics registry: counters and gauges as updated by
 * the relay, the per-zone table (cap, then zone="_other"), label escaping,
 * reason classification, and the exposition text (HELP/TYPE once per
 * family, before its samples; every sample line well formed). */
#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf/conf.h"
#include "proxy/lib/dname.h"
#include "proxy/lib/dnsmsg.h"
#include "proxy/lib/log.h"
#include "proxy/metrics.h"
#include "unit.h"

static char *
render(void)
{
	size_t len;
	char *text = metrics_render(&len);
	CU_ASSERT_FATAL(text != NULL);
	CU_ASSERT_EQUAL(strlen(text), len);
	return text;
}

/* The value of the sample line that starts with `series ` (name and labels). */
static long long
value_of(const char *text, const char *series)
{
	size_t n = strlen(series);
	for (const char *p = text; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return atoll(p + n + 1);
	return -1;
}

static int
wire(const char *text, uint8_t out[DNAME_MAXLEN])
{
	return dname_from_text(text, out);
}

static void
end_xfr(const char *zone, uint16_t qtype, enum mx_outcome o, enum mx_dir d)
{
	uint8_t w[DNAME_MAXLEN];
	int n = wire(zone, w);
	metrics_transfer_start(d);
	metrics_transfer_end(d, w, (size_t)n, qtype, o);
}

static void
test_zone_cap_other(void)
{
	CU_ASSERT_EQUAL_FATAL(metrics_init(2), 0);
	end_xfr("a.test", DNS_TYPE_AXFR, MX_OK, MX_INBOUND);
	end_xfr("A.TEST", DNS_TYPE_AXFR, MX_OK, MX_INBOUND);     /* dname_from_text lowercases */
	end_xfr("b.test", DNS_TYPE_IXFR, MX_ABORTED, MX_OUTBOUND);
	end_xfr("c.test", DNS_TYPE_AXFR, MX_OK, MX_INBOUND);     /* over the cap */
	end_xfr("d.test", DNS_TYPE_SOA, MX_FAILED, MX_INBOUND);
	end_xfr("a.test", DNS_TYPE_AXFR, MX_ERROR, MX_INBOUND);  /* known zones still count */
	uint8_t w[DNAME_MAXLEN];
	int n = wire("a.test", w);
	CU_ASSERT_EQUAL(metrics_zone_transfers(w, (size_t)n, MX_INBOUND, DNS_TYPE_AXFR, MX_OK), 2);
	CU_ASSERT_EQUAL(metrics_zone_transfers(w, (size_t)n, MX_INBOUND, DNS_TYPE_AXFR, MX_ERROR), 1);
	n = wire("c.test", w);
	CU_ASSERT_EQUAL(metrics_zone_transfers(w, (size_t)n, MX_INBOUND, DNS_TYPE_AXFR, MX_OK), 0);
	CU_ASSERT_EQUAL(metrics_zone_transfers(NULL, 0, MX_INBOUND, DNS_TYPE_AXFR, MX_OK), 1);
	CU_ASSERT_EQUAL(metrics_zone_transfers(NULL, 0, MX_INBOUND, DNS_TYPE_SOA, MX_FAILED), 1);
	char *t = render();
	CU_ASSERT_EQUAL(value_of(t, "xotproxy_transfers_total{direction=\"inbound\",zone=\"a.test.\",type=\"AXFR\",outcome=\"ok\"}"), 2);
	CU_ASSERT_EQUAL(value_of(t, "xotproxy_transfers_total{direction=\"outbound\",zone=\"b.test.\",type=\"IXFR\",outcome=\"aborted\"}"), 1);
	CU_ASSERT_EQUAL(value_of(t, "xotproxy_transfers_total{direction=\"inbound\",zone=\"_other\",type=\"AXFR\",outcome=\"ok\"}"), 1);
	CU_ASSERT_PTR_NULL(strstr(t, "c.test"));
	CU_ASSERT_EQUAL(value_of(t, "xotproxy_transfers_in_progress{direction=\"inbound\"}"), 0);
	free(t);
	metrics_reset();
}

/* Many zones: every one below the cap keeps its own counter (the hash
 * finds them all again), the rest go to _other. */
static void
test_zone_table_many(void)
{
	CU_ASSERT_EQUAL_FATAL(metrics_init(1000), 0);
	char name[64];
	for (int i = 0; i < 1500; i++) {
		snprintf(name, sizeof(name), "z%d.example", i);
		end_xfr(name, DNS_TYPE_AXFR, MX_OK, MX_INBOUND);
		end_xfr(name, DNS_TYPE_AXFR, MX_OK, MX_INBOUND);
	}
	uint8_t w[DNAME_MAXLEN];
	for (int i = 0; i < 1000; i += 37) {
		snprintf(name, sizeof(name), "z%d.example", i);
		int n = wire(name, w);
		CU_ASSERT_EQUAL(metrics_zone_transfers(w, (size_t)n, MX_INBOUND, DNS_TYPE_AXFR, MX_OK), 2);
	}
	CU_ASSERT_EQUAL(metrics_zone_transfers(NULL, 0, MX_INBOUND, DNS_TYPE_AXFR, MX_OK), 1000);
	metrics_reset();
}

static void
test_label_escaping(void)
{
	char out[64];
	CU_ASSERT_EQUAL(metrics_escape_label("a\"b\\c\nd", out, sizeof(out)), 10);
	CU_ASSERT_STRING_EQUAL(out, "a\\\"b\\\\c\\nd");
	CU_ASSERT_EQUAL(metrics_escape_label("plain", out, sizeof(out)), 5);
	CU_ASSERT_STRING_EQUAL(out, "plain");
	CU_ASSERT_EQUAL(metrics_escape_label("\\\\\\", out, 6), (size_t)-1);   /* needs 7 */
	CU_ASSERT_EQUAL(metrics_escape_label("\\\\\\", out, 7), 6);

	/* a zone with a quote, a backslash and a NUL byte in a label */
	CU_ASSERT_EQUAL_FATAL(metrics_init(10), 0);
	uint8_t w[] = { 6, 'a', '"', 'b', '\\', 'c', 0, 4, 't', 'e', 's', 't', 0 };
	metrics_transfer_start(MX_INBOUND);
	metrics_transfer_end(MX_INBOUND, w, sizeof(w), DNS_TYPE_SOA, MX_OK);
	char *t = render();
	/* presentation a"b\\c\000.test. (dname_to_text), then \" and \\ */
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "zone=\"a\\\"b\\\\\\\\c\\\\000.test.\",type=\"SOA\",outcome=\"ok\"} 1\n"));
	free(t);
	metrics_reset();
}

static void
test_counters(void)
{
	CU_ASSERT_EQUAL_FATAL(metrics_init(10), 0);
	metrics_refusal(MX_INBOUND, RSN_ACL);
	metrics_refusal(MX_INBOUND, RSN_ACL);
	metrics_refusal(MX_INBOUND, RSN_UNKNOWN_ZONE);
	metrics_refusal(MX_INBOUND, RSN_TRANSFER_RATE);          /* no series of its own: other */
	metrics_refusal(MX_OUTBOUND, RSN_FORMERR);
	metrics_refusal(MX_INBOUND, RSN_TRANSFER_LIMIT);         /* a cap, not a policy refusal */
	metrics_refusal(MX_INBOUND, RSN_QUERY_LIMIT);
	metrics_limit_hit(MX_LIM_PER_IP);
	metrics_limit_hit(MX_LIM_MAX_HANDSHAKES);
	metrics_limit_hit(MX_LIM_MAX_HANDSHAKES);
	metrics_bytes(MX_INBOUND, true, 1000);
	metrics_bytes(MX_INBOUND, true, 234);
	metrics_bytes(MX_INBOUND, false, 40);
	metrics_handshake_ok(MX_INBOUND, false);
	metrics_handshake_ok(MX_INBOUND, true);
	metrics_handshake_ok(MX_INBOUND, true);
	metrics_handshake_failed(MX_INBOUND, RSN_HS_TIMEOUT);
	metrics_handshake_failed(MX_INBOUND, RSN_HS_CLOSED);
	metrics_upstream_failed(MX_INBOUND, RSN_UP_CONNECT);
	metrics_transfer_start(MX_OUTBOUND);
	metrics_transfer_start(MX_OUTBOUND);

	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	                         .sin_port = htons(8853) };
	struct netaddr listener = { .len = sizeof(a) };
	memcpy(&listener.ss, &a, sizeof(a));
	metrics_conn_accepted(MX_INBOUND, &listener);    /* the label is the listener's address */
	metrics_conn_accepted(MX_INBOUND, &listener);
	metrics_conn_closed(MX_INBOUND);

	char *t = render();
	CU_ASSERT_EQUAL(value_of(t, "xotproxy_refusals_total{direction=\"inbound\",reason=\"acl\"}"), 2);
	CU_ASSERT_EQUAL(value_of(t, "xotproxy_refusals_total{direction=\"inbound\",reason=\"unknown_zone\"}"), 1);
	CU_ASSERT_EQUAL(value_of(t, "xotproxy_refusals_total{direction=\"inbound\",reason=\"other\"}"), 1);
	CU_ASSERT_EQUAL(value_of(t, "xotproxy_refusals_total{direction=\"outbound\",reason=\"formerr\"}"), 1);
	CU_ASSERT_EQUAL(value_of(t, "xotproxy_limit_hits_total{limit=\"transfer_limit\"}"), 1);
	CU_ASSERT_EQUAL(value_of(t, "xotproxy_limit_hits_total{limit=\"query_limit\"}"), 1);
	CU_ASSERT_EQUAL(value_of(t, "xotproxy_limit_hits_total{limit=\"max_clients_per_ip\"}"), 1);
	CU_ASSERT_EQUAL(value_of(t, "xotproxy_limit_hits_total{limit=\"max_handshakes\"}"), 2);
	CU_ASSERT_EQUAL(value_of(t, "xotproxy_limit_hits_total{limit=\"accept_allow\"}"), 0);
	CU_ASSERT_EQUAL(value_of(t, "xotproxy_relayed_bytes_total{direction=\"inbound\",flow=\"to_client\"}"), 1234);
	CU_ASSERT_EQUAL(value_of(t, "xotproxy_relayed_bytes_total{direction=\"inbound\",flow=\"to_upstream\"}"), 40);
	CU_ASSERT_EQUAL(value_of(t, "xotproxy_tls_handshakes_total{direction=\"inbound\",resumed=\"true\"}"), 2);
	CU_ASSERT_EQUAL(value_of(t, "xotproxy_tls_handshakes_total{direction=\"inbound\",resumed=\"false\"}"), 1);
	CU_ASSERT_EQUAL(value_of(t, "xotproxy_tls_handshake_failures_total{direction=\"inbound\",reason=\"timeout\"}"), 1);
	CU_ASSERT_EQUAL(value_of(t, "xotproxy_tls_handshake_failures_total{direction=\"inbound\",reason=\"closed\"}"), 1);
	CU_ASSERT_EQUAL(value_of(t, "xotproxy_upstream_failures_total{direction=\"inbound\",reason=\"connect\"}"), 1);
	CU_ASSERT_EQUAL(value_of(t, "xotproxy_transfers_in_progress{direction=\"outbound\"}"), 2);
	CU_ASSERT_EQUAL(value_of(t, "xotproxy_connections_open{direction=\"inbound\"}"), 1);
	char series[160];
	snprintf(series, sizeof(series),
	         "xotproxy_connections_accepted_total{direction=\"inbound\",listener=\"127.0.0.1:%u\"}",
	         ntohs(a.sin_port));
	CU_ASSERT_EQUAL(value_of(t, series), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "xotproxy_build_info{version=\""));
	CU_ASSERT(value_of(t, "xotproxy_log_lines_dropped_total") >= 0);
	free(t);
	metrics_reset();
}

static void
test_reason_classes(void)
{
	/* codes, not texts: each counts under its series (reason.c's table) */
	CU_ASSERT_STRING_EQUAL(reason_metric(RSN_HS_TIMEOUT), "timeout");
	CU_ASSERT_STRING_EQUAL(reason_metric(RSN_HS_VERSION), "version");
	CU_ASSERT_STRING_EQUAL(reason_metric(RSN_QTYPE), "qtype");
	CU_ASSERT_STRING_EQUAL(reason_metric(RSN_OPCODE), "opcode");
	CU_ASSERT_STRING_EQUAL(reason_metric(RSN_ID_IN_FLIGHT), "id_in_flight");
	CU_ASSERT_STRING_EQUAL(reason_metric(RSN_TSIG_BADSIG), "other");
	CU_ASSERT_EQUAL(reason_upstream(RSN_HS_CERTIFICATE), RSN_UP_TLS);
	CU_ASSERT_EQUAL(reason_upstream(RSN_UP_TIMEOUT), RSN_UP_TIMEOUT);
	CU_ASSERT_STRING_EQUAL(reason_metric(reason_upstream(RSN_HS_OTHER)), "tls");
}

/* The exposition: HELP then TYPE, once per family, before its samples;
 * every other line a well-formed sample of that family. */
static void
test_exposition_format(void)
{
	CU_ASSERT_EQUAL_FATAL(metrics_init(10), 0);
	end_xfr("x.test", DNS_TYPE_AXFR, MX_OK, MX_INBOUND);
	metrics_refusal(MX_INBOUND, RSN_ACL);
	char *t = render();
	regex_t sample, help, type;
	CU_ASSERT_FATAL(regcomp(&sample, "^(xotproxy_[a-z_]+)(\\{([a-z_]+=\"([^\"\\\\]|\\\\[\"\\\\n])*\",?)*\\})? -?[0-9]+(\\.[0-9]+)?$",
	                        REG_EXTENDED) == 0);
	CU_ASSERT_FATAL(regcomp(&help, "^# HELP (xotproxy_[a-z_]+) [^\n]+$", REG_EXTENDED) == 0);
	CU_ASSERT_FATAL(regcomp(&type, "^# TYPE (xotproxy_[a-z_]+) (counter|gauge)$", REG_EXTENDED) == 0);
	char family[64] = "", seen[4096] = " ";
	int samples = 0;
	CU_ASSERT_EQUAL(t[strlen(t) - 1], '\n');
	for (char *line = strtok(t, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		regmatch_t m[2];
		if (regexec(&help, line, 2, m, 0) == 0) {
			snprintf(family, sizeof(family), "%.*s", (int)(m[1].rm_eo - m[1].rm_so), line + m[1].rm_so);
			char key[80];
			snprintf(key, sizeof(key), " %s ", family);
			CU_ASSERT_PTR_NULL(strstr(seen, key));          /* each family once */
			strncat(seen, key + 1, sizeof(seen) - strlen(seen) - 1);
			continue;
		}
		if (regexec(&type, line, 2, m, 0) == 0) {
			CU_ASSERT_EQUAL(strncmp(line + m[1].rm_so, family, strlen(family)), 0);
			continue;
		}
		CU_ASSERT(regexec(&sample, line, 2, m, 0) == 0);
		if (regexec(&sample, line, 2, m, 0) != 0)
			fprintf(stderr, "bad line: %s\n", line);
		/* the sample belongs to the family announced last */
		CU_ASSERT_EQUAL((size_t)(m[1].rm_eo - m[1].rm_so), strlen(family));
		CU_ASSERT_EQUAL(strncmp(line, family, strlen(family)), 0);
		samples++;
	}
	CU_ASSERT(samples > 30);
	regfree(&sample);
	regfree(&help);
	regfree(&type);
	free(t);
	metrics_reset();
}

/* The four [global] keys: defaults, values, errors with their line, -t output. */
static void
test_conf_keys(void)
{
	char err[CONF_ERR_MAX];
	struct conf *c = conf_parse_string("[inbound]\ncert = a\nkey = b\n", "t.ini", err);
	CU_ASSERT_FATAL(c != NULL);
	CU_ASSERT_EQUAL(c->log_format, LOG_FORMAT_TEXT);
	CU_ASSERT_EQUAL(c->log_target, LOG_TARGET_STDERR);
	CU_ASSERT_FALSE(c->has_metrics);
	CU_ASSERT_EQUAL(c->metrics_max_zones, 1000);
	conf_free(c);
	c = conf_parse_string("[global]\nlog-format = json\nlog-target = syslog\nmetrics = 127.0.0.1\n"
	                      "metrics-max-zones = 5\n[inbound]\ncert = a\nkey = b\n", "t.ini", err);
	CU_ASSERT_FATAL(c != NULL);
	CU_ASSERT_EQUAL(c->log_format, LOG_FORMAT_JSON);
	CU_ASSERT_EQUAL(c->log_target, LOG_TARGET_SYSLOG);
	CU_ASSERT_TRUE(c->has_metrics);
	char text[NETADDR_TEXT_MAX];
	netaddr_format_hostport((const struct sockaddr *)&c->metrics.ss, text);
	CU_ASSERT_STRING_EQUAL(text, "127.0.0.1:9853");            /* the default port */
	CU_ASSERT_EQUAL(c->metrics_max_zones, 5);
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	conf_print(c, f);
	fclose(f);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "log-format = json\nlog-target = syslog\n"
	                                   "metrics = 127.0.0.1:9853\nmetrics-max-zones = 5\n"));
	struct conf *again = conf_parse_string(out, "print", err);   /* -t output reads back */
	CU_ASSERT_PTR_NOT_NULL(again);
	conf_free(again);
	free(out);
	conf_free(c);
	static const struct { const char *text, *want; } bad[] = {
		{ "[global]\nlog-format = JSON\n", "t.ini:2: log-format: \"JSON\" is not one of text, json" },
		{ "[global]\nlog-target = file\n", "t.ini:2: log-target: \"file\" is not one of stderr, syslog" },
		{ "[global]\nmetrics = localhost:9853\n", "t.ini:2: metrics: \"localhost:9853\" is not an address" },
		{ "[global]\nmetrics-max-zones = 0\n", "t.ini:2: metrics-max-zones: \"0\" is not an integer in 1..100000" },
		{ "[global]\nmetrics = 127.0.0.1\nmetrics = ::1\n", "t.ini:3: duplicate key metrics" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char t[256];
		snprintf(t, sizeof(t), "%s[inbound]\ncert = a\nkey = b\n", bad[i].text);
		c = conf_parse_string(t, "t.ini", err);
		CU_ASSERT_PTR_NULL(c);
		CU_ASSERT_EQUAL(strncmp(err, bad[i].want, strlen(bad[i].want)), 0);
		if (c == NULL && strncmp(err, bad[i].want, strlen(bad[i].want)) != 0)
			fprintf(stderr, "got: %s\n", err);
		conf_free(c);
	}
}

int
test_metrics_register(void)
{
	SUITE("metrics (registry, zone cap, exposition)");
	TEST(test_zone_cap_other);
	TEST(test_zone_table_many);
	TEST(test_label_escaping);
	TEST(test_counters);
	TEST(test_reason_classes);
	TEST(test_exposition_format);
	TEST(test_conf_keys);
	return 0;
}
