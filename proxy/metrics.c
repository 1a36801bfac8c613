/* metrics.c - the process's counters, the Prometheus text exposition, and
 * a small HTTP/1.x server for GET /metrics on the event loop.
 *
 * The counters are plain globals (one thread). Transfers per zone live in
 * a fixed open-addressing hash keyed by the lowercase wire name, sized once
 * at metrics_init: finding or adding a zone never allocates, and a zone
 * beyond metrics-max-zones counts under zone="_other". */
#include "metrics.h"

#include <errno.h>
#include <ev.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proxy/lib/dname.h"
#include "proxy/lib/dnsmsg.h"
#include "proxy/lib/log.h"
#include "tls/tls.h"
#include "version.h"

enum mx_qtype { MX_Q_SOA, MX_Q_AXFR, MX_Q_IXFR, MX_QTYPES };

static const char *const outcome_names[MX_OUTCOMES] = { "ok", "aborted", "error", "failed" };
static const char *const qtype_names[MX_QTYPES] = { "SOA", "AXFR", "IXFR" };
static const char *const limit_names[MX_LIM_COUNT] = {
	"max_clients_per_ip", "max_handshakes", "accept_allow", "max_clients",
	"transfer_limit", "query_limit", "outbound_connections", "outbound_udp", "max_sessions",
	"metrics_allow", "metrics_per_ip",
};

struct mx_listener {
	struct sockaddr_storage addr;   /* the local address connections arrived on */
	socklen_t len;
	enum mx_dir dir;
	char text[NETADDR_TEXT_MAX];
	uint64_t accepted;
};

struct mx_zone {
	uint8_t wire[DNAME_MAXLEN];
	uint8_t len;                    /* 0: the slot is free */
	uint64_t n[MX_DIRS][MX_QTYPES][MX_OUTCOMES];
};

static struct {
	int64_t open[MX_DIRS];
	struct mx_listener listeners[MX_MAX_LISTENERS];
	size_t n_listeners;
	uint64_t accepted_other[MX_DIRS];   /* beyond MX_MAX_LISTENERS addresses */
	uint64_t handshakes[MX_DIRS][2];    /* [resumed] */
	/* per reason code, each counted at the code of its series */
	uint64_t hs_failed[MX_DIRS][RSN_COUNT];
	uint64_t refusals[MX_DIRS][RSN_COUNT];
	uint64_t limits[MX_LIM_COUNT];
	int64_t in_progress[MX_DIRS];
	uint64_t bytes[MX_DIRS][2];         /* [to_client] */
	uint64_t upstream[MX_DIRS][RSN_COUNT];
	double start_time;

	struct mx_zone *zones;              /* max_zones entries, NULL before metrics_init */
	uint32_t *slots;                    /* hash slot -> zone index + 1, 0 empty */
	size_t n_slots, max_zones, n_zones;
	uint64_t other[MX_DIRS][MX_QTYPES][MX_OUTCOMES];
} mx;

/* ---- updates ------------------------------------------------------------- */

void
metrics_conn_accepted(enum mx_dir dir, const struct netaddr *listener)
{
	const struct sockaddr_storage *ss = &listener->ss;
	socklen_t len = listener->len;
	mx.open[dir]++;
	for (size_t i = 0; i < mx.n_listeners; i++) {
		struct mx_listener *l = &mx.listeners[i];
		if (l->dir == dir && l->len == len && memcmp(&l->addr, ss, len) == 0) {
			l->accepted++;
			return;
		}
	}
	if (mx.n_listeners == MX_MAX_LISTENERS) {
		mx.accepted_other[dir]++;
		return;
	}
	struct mx_listener *l = &mx.listeners[mx.n_listeners++];
	memcpy(&l->addr, ss, len);
	l->len = len;
	l->dir = dir;
	netaddr_format_hostport((const struct sockaddr *)ss, l->text);
	l->accepted = 1;
}

void
metrics_conn_closed(enum mx_dir dir)
{
	mx.open[dir]--;
}

void
metrics_handshake_ok(enum mx_dir dir, bool resumed)
{
	mx.handshakes[dir][resumed]++;
}

void
metrics_handshake_failed(enum mx_dir dir, enum reason why)
{
	mx.hs_failed[dir][reason_family(why) == RF_HANDSHAKE ? why : RSN_HS_OTHER]++;
}

void
metrics_refusal(enum mx_dir dir, enum reason why)
{
	if (why == RSN_TRANSFER_LIMIT)
		metrics_limit_hit(MX_LIM_TRANSFER);
	else if (why == RSN_QUERY_LIMIT)
		metrics_limit_hit(MX_LIM_QUERY);
	else
		mx.refusals[dir][reason_family(why) == RF_REFUSAL ? reason_series(why)
		                                                   : RSN_REFUSED_OTHER]++;
}

void
metrics_limit_hit(enum mx_limit which)
{
	mx.limits[which]++;
}

void
metrics_transfer_start(enum mx_dir dir)
{
	mx.in_progress[dir]++;
}

static int
qtype_index(uint16_t qtype)
{
	switch (qtype) {
	case DNS_TYPE_SOA: return MX_Q_SOA;
	case DNS_TYPE_AXFR: return MX_Q_AXFR;
	case DNS_TYPE_IXFR: return MX_Q_IXFR;
	default: return -1;
	}
}

/* FNV-1a of the wire name. */
static uint32_t
zone_hash(const uint8_t *wire, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ wire[i]) * 16777619u;
	return h;
}

/* The zone's entry, added if there is room; NULL: count under _other. */
static struct mx_zone *
zone_find(const uint8_t *wire, size_t len, bool add)
{
	if (mx.zones == NULL || len == 0 || len > DNAME_MAXLEN)
		return NULL;
	size_t mask = mx.n_slots - 1;
	for (size_t i = zone_hash(wire, len) & mask;; i = (i + 1) & mask) {
		uint32_t s = mx.slots[i];
		if (s == 0) {
			if (!add || mx.n_zones == mx.max_zones)
				return NULL;
			struct mx_zone *z = &mx.zones[mx.n_zones++];
			memcpy(z->wire, wire, len);
			z->len = (uint8_t)len;
			mx.slots[i] = (uint32_t)mx.n_zones;
			return z;
		}
		struct mx_zone *z = &mx.zones[s - 1];
		if (z->len == len && memcmp(z->wire, wire, len) == 0)
			return z;
	}
}

void
metrics_transfer_end(enum mx_dir dir, const uint8_t *zone, size_t zone_len, uint16_t qtype,
                     enum mx_outcome outcome)
{
	mx.in_progress[dir]--;
	int q = qtype_index(qtype);
	if (q < 0 || mx.zones == NULL)
		return;
	struct mx_zone *z = zone_find(zone, zone_len, true);
	if (z != NULL)
		z->n[dir][q][outcome]++;
	else
		mx.other[dir][q][outcome]++;
}

uint64_t
metrics_zone_transfers(const uint8_t *zone, size_t zone_len, enum mx_dir dir, uint16_t qtype,
                       enum mx_outcome outcome)
{
	int q = qtype_index(qtype);
	if (q < 0)
		return 0;
	if (zone == NULL)
		return mx.other[dir][q][outcome];
	struct mx_zone *z = zone_find(zone, zone_len, false);
	return z != NULL ? z->n[dir][q][outcome] : 0;
}

void
metrics_bytes(enum mx_dir dir, bool to_client, uint64_t n)
{
	mx.bytes[dir][to_client] += n;
}

void
metrics_upstream_failed(enum mx_dir dir, enum reason why)
{
	mx.upstream[dir][reason_upstream(why)]++;
}

/* ---- registry --------------------------------------------------------------- */

int
metrics_init(unsigned max_zones)
{
	metrics_reset();
	size_t n_slots = 16;
	while (n_slots < 2 * (size_t)max_zones)
		n_slots *= 2;
	mx.zones = calloc(max_zones > 0 ? max_zones : 1, sizeof(*mx.zones));
	mx.slots = calloc(n_slots, sizeof(*mx.slots));
	if (mx.zones == NULL || mx.slots == NULL) {
		metrics_reset();
		errno = ENOMEM;
		return -1;
	}
	mx.n_slots = n_slots;
	mx.max_zones = max_zones;
	return 0;
}

void
metrics_reset(void)
{
	free(mx.zones);
	free(mx.slots);
	memset(&mx, 0, sizeof(mx));
	mx.start_time = (double)time(NULL);
}

size_t
metrics_escape_label(const char *s, char *out, size_t cap)
{
	size_t o = 0;
	for (; *s != '\0'; s++) {
		const char *e = NULL;
		char c[2] = { *s, '\0' };
		if (*s == '\\')
			e = "\\\\";
		else if (*s == '"')
			e = "\\\"";
		else if (*s == '\n')
			e = "\\n";
		else
			e = c;
		size_t k = strlen(e);
		if (o + k + 1 > cap)
			return (size_t)-1;
		memcpy(out + o, e, k);
		o += k;
	}
	if (o + 1 > cap)
		return (size_t)-1;
	out[o] = '\0';
	return o;
}

/* ---- exposition ---------------------------------------------------------- */

struct mbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void __attribute__((format(printf, 2, 3)))
mb_printf(struct mbuf *b, const char *fmt, ...)
{
	for (int i = 0; i < 2 && !b->oom; i++) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap * 2 + (size_t)n + 1;
		char *p = realloc(b->p, cap);
		if (p == NULL) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
}

static void
family(struct mbuf *b, const char *name, const char *type, const char *help)
{
	mb_printf(b, "# HELP xotproxy_%s %s\n# TYPE xotproxy_%s %s\n", name, help, name, type);
}

static void
render_connections(struct mbuf *b)
{
	family(b, "connections_open", "gauge", "Client connections open now.");
	for (int d = 0; d < MX_DIRS; d++)
		mb_printf(b, "xotproxy_connections_open{direction=\"%s\"} %lld\n", dir_text((enum xp_dir)d),
		          (long long)mx.open[d]);
	family(b, "connections_accepted_total", "counter",
	       "Client connections accepted, by the address of the listener that accepted them.");
	for (size_t i = 0; i < mx.n_listeners; i++) {
		char esc[2 * NETADDR_TEXT_MAX];
		metrics_escape_label(mx.listeners[i].text, esc, sizeof(esc));
		mb_printf(b, "xotproxy_connections_accepted_total{direction=\"%s\",listener=\"%s\"} %llu\n",
		          dir_text((enum xp_dir)mx.listeners[i].dir), esc,
		          (unsigned long long)mx.listeners[i].accepted);
	}
	for (int d = 0; d < MX_DIRS; d++)
		if (mx.accepted_other[d] > 0)
			mb_printf(b, "xotproxy_connections_accepted_total{direction=\"%s\",listener=\"_other\"} %llu\n",
			          dir_text((enum xp_dir)d), (unsigned long long)mx.accepted_other[d]);
}

static void
render_tls(struct mbuf *b)
{
	family(b, "tls_handshakes_total", "counter", "TLS handshakes completed (resumed: with a session ticket).");
	for (int d = 0; d < MX_DIRS; d++)
		for (int r = 0; r < 2; r++)
			mb_printf(b, "xotproxy_tls_handshakes_total{direction=\"%s\",resumed=\"%s\"} %llu\n",
			          dir_text((enum xp_dir)d), r ? "true" : "false",
			          (unsigned long long)mx.handshakes[d][r]);
	family(b, "tls_handshake_failures_total", "counter", "TLS handshakes that failed, by reason.");
	for (int d = 0; d < MX_DIRS; d++)
		for (enum reason r = 0; r < RSN_COUNT; r++)
			if (reason_family(r) == RF_HANDSHAKE && reason_series(r) == r)
				mb_printf(b, "xotproxy_tls_handshake_failures_total{direction=\"%s\",reason=\"%s\"} %llu\n",
				          dir_text((enum xp_dir)d), reason_metric(r),
				          (unsigned long long)mx.hs_failed[d][r]);
}

static void
render_policy(struct mbuf *b)
{
	family(b, "refusals_total", "counter", "Queries and sessions refused by policy, by reason.");
	for (int d = 0; d < MX_DIRS; d++)
		for (enum reason r = 0; r < RSN_COUNT; r++)
			if (reason_family(r) == RF_REFUSAL && reason_series(r) == r)
				mb_printf(b, "xotproxy_refusals_total{direction=\"%s\",reason=\"%s\"} %llu\n",
				          dir_text((enum xp_dir)d), reason_metric(r),
				          (unsigned long long)mx.refusals[d][r]);
	family(b, "limit_hits_total", "counter",
	       "Caps and rate limits that refused, evicted or paused something, by limit.");
	for (int l = 0; l < MX_LIM_COUNT; l++)
		mb_printf(b, "xotproxy_limit_hits_total{limit=\"%s\"} %llu\n", limit_names[l],
		          (unsigned long long)mx.limits[l]);
	family(b, "upstream_failures_total", "counter",
	       "Failures of the backend (inbound) or of a primary (outbound), by kind.");
	for (int d = 0; d < MX_DIRS; d++)
		for (enum reason u = 0; u < RSN_COUNT; u++)
			if (reason_family(u) == RF_UPSTREAM)
				mb_printf(b, "xotproxy_upstream_failures_total{direction=\"%s\",reason=\"%s\"} %llu\n",
				          dir_text((enum xp_dir)d), reason_metric(u),
				          (unsigned long long)mx.upstream[d][u]);
}

static void
render_zone(struct mbuf *b, const char *zone_label, uint64_t n[MX_DIRS][MX_QTYPES][MX_OUTCOMES])
{
	for (int d = 0; d < MX_DIRS; d++)
		for (int q = 0; q < MX_QTYPES; q++)
			for (int o = 0; o < MX_OUTCOMES; o++)
				if (n[d][q][o] > 0)
					mb_printf(b, "xotproxy_transfers_total{direction=\"%s\",zone=\"%s\","
					          "type=\"%s\",outcome=\"%s\"} %llu\n", dir_text((enum xp_dir)d), zone_label,
					          qtype_names[q], outcome_names[o], (unsigned long long)n[d][q][o]);
}

static void
render_transfers(struct mbuf *b)
{
	family(b, "transfers_in_progress", "gauge", "Queries forwarded whose answer stream has not ended.");
	for (int d = 0; d < MX_DIRS; d++)
		mb_printf(b, "xotproxy_transfers_in_progress{direction=\"%s\"} %lld\n", dir_text((enum xp_dir)d),
		          (long long)mx.in_progress[d]);
	family(b, "transfers_total", "counter",
	       "Answer streams ended (SOA, AXFR, IXFR), by zone, type and outcome; zones past "
	       "metrics-max-zones count under zone=\"_other\".");
	for (size_t i = 0; i < mx.n_zones; i++) {
		char text[DNAME_TEXT_MAX], esc[2 * DNAME_TEXT_MAX];
		dname_to_text(mx.zones[i].wire, text);
		metrics_escape_label(text, esc, sizeof(esc));
		render_zone(b, esc, mx.zones[i].n);
	}
	render_zone(b, MX_OTHER_ZONE, mx.other);
	family(b, "relayed_bytes_total", "counter",
	       "DNS message octets relayed (length prefixes included), by flow.");
	for (int d = 0; d < MX_DIRS; d++)
		for (int c = 1; c >= 0; c--)
			mb_printf(b, "xotproxy_relayed_bytes_total{direction=\"%s\",flow=\"%s\"} %llu\n",
			          dir_text((enum xp_dir)d), c ? "to_client" : "to_upstream",
			          (unsigned long long)mx.bytes[d][c]);
}

char *
metrics_render(size_t *len)
{
	struct mbuf b = { .cap = 16384 };
	b.p = malloc(b.cap);
	if (b.p == NULL)
		return NULL;
	b.p[0] = '\0';
	char ver[64];
	metrics_escape_label(wolfSSL_lib_version(), ver, sizeof(ver));
	family(&b, "build_info", "gauge", "Version of xotproxy and of the TLS library (always 1).");
	mb_printf(&b, "xotproxy_build_info{version=\"%s\",wolfssl=\"%s\"} 1\n", XOTPROXY_VERSION, ver);
	family(&b, "start_time_seconds", "gauge", "When the process started (Unix time).");
	mb_printf(&b, "xotproxy_start_time_seconds %.0f\n", mx.start_time);
	render_connections(&b);
	render_tls(&b);
	render_transfers(&b);
	render_policy(&b);
	family(&b, "log_lines_dropped_total", "counter",
	       "Log lines dropped because the log output could not take them at once.");
	mb_printf(&b, "xotproxy_log_lines_dropped_total %llu\n", (unsigned long long)log_dropped_total());
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}
