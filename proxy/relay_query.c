/* relay_query.c - query admission in the relay core: one whole frame at a
 * time from the client's buffer, parsed, judged by the direction's hook,
 * held to the per-session caps (XOT-10, TCP-02), then marked for
 * forwarding or answered locally; refusals are logged rate-limited. */
#include "relay.h"
#include "relay_int.h"

#include <stdio.h>
#include <string.h>

#include "proxy/lib/log.h"

/* A query answered locally: what (the RCODE as logged), code, and a detail
 * that stands for the code's text (a parser's complaint) when not NULL. */
static void
log_refusal(struct relay *r, const struct dns_query *q, const char *what, enum reason code,
            const char *detail)
{
	const char *reason = detail != NULL ? detail : reason_text(code);
	metrics_refusal(relay_dir(r), code);
	if (log_threshold < XP_LOG_INFO)
		return;
	char zone[DNAME_TEXT_MAX] = "-", type[16] = "-";
	if (q->has_question) {
		dname_to_text(q->qname_lower, zone);
		dns_type_name(q->qtype, type);
	}
	struct log_field fl[10];
	size_t n = relay_log_fields(r, fl);
	fl[n++] = LF_S("zone", q->has_question ? zone : NULL);
	fl[n++] = LF_S("qtype", q->has_question ? type : NULL);
	fl[n++] = LF_S("outcome", what);
	fl[n++] = LF_S("reason", reason);
	relay_log_limited(r, "refusal", fl, n, "conn %llu, remote %s, zone %s, %s, %s (%s)",
	            (unsigned long long)r->id, r->peer_text, zone, type, what, reason);
}
/* ---- queries ------------------------------------------------------------ */

static unsigned
count_transfers(const struct relay *r)
{
	unsigned n = 0;
	for (unsigned i = 0; i < r->n_inflight; i++)
		n += r->inflight[i].xfr.qtype != DNS_TYPE_SOA;
	return n;
}

enum reason
relay_cap_check(unsigned n_inflight, unsigned n_transfers, bool is_soa)
{
	if (n_inflight >= RELAY_MAX_INFLIGHT)
		return RSN_QUERY_LIMIT;
	if (!is_soa && n_transfers >= RELAY_MAX_XFR)
		return RSN_TRANSFER_LIMIT;
	return RSN_NONE;
}

/* Over the per-session caps a query is answered SERVFAIL at once (XOT-10),
 * so pipelined queries never wait unread; an SOA still passes while the
 * transfer cap is reached. */
static struct verdict
apply_caps(struct relay *r, const struct dns_query *q, struct verdict v)
{
	if (!v.forward)
		return v;
	if (relay_find_inflight(r, q->id) != NULL) {
		/* TCP-02: an ID already in flight would make answers ambiguous. */
		v.forward = false;
		v.rcode = DNS_RCODE_FORMERR;
		v.ede = DNS_EDE_NONE;
		v.reason = RSN_ID_IN_FLIGHT;
	} else if (relay_ensure_inflight(r) < 0) {
		v.forward = false;
		v.rcode = DNS_RCODE_SERVFAIL;
		v.ede = DNS_EDE_OTHER;
		v.reason = RSN_NO_MEMORY;
	} else {
		enum reason why = relay_cap_check(r->n_inflight, count_transfers(r),
		                                  q->qtype == DNS_TYPE_SOA);
		if (why != RSN_NONE) {
			v.forward = false;
			v.rcode = DNS_RCODE_SERVFAIL;
			v.ede = DNS_EDE_OTHER;
			v.reason = why;
		}
	}
	return v;
}

/* Decides one complete query frame at the head of `in` through the
 * direction's judge: an allowed one is marked for forwarding (in_fwd),
 * anything else gets a local answer. */
static void
handle_query(struct relay *r, const uint8_t *msg, size_t len)
{
	struct dns_query q;
	const char *why;
	enum dns_parse_result res = dnsmsg_parse_query(msg, len, &q, &why);
	r->last_active = ev_now(r->loop);

	if (res == DNS_PARSE_FORMERR) {
		log_refusal(r, &q, "formerr", RSN_FORMERR, why);
		q.has_opt = false;                  /* OPT may be the defect itself */
		relay_queue_answer(r, &q, DNS_RCODE_FORMERR, DNS_EDE_NONE, NULL, false, NULL);
		return;
	}
	struct verdict v = apply_caps(r, &q, r->hooks->judge(r, &q, msg, len));
	if (!v.forward) {
		log_refusal(r, &q, v.rcode == DNS_RCODE_REFUSED ? "refused" : dns_rcode_name(v.rcode),
		            v.reason, NULL);
		relay_queue_answer(r, &q, v.rcode, v.ede,
		             v.rcode == DNS_RCODE_SERVFAIL ? reason_text(v.reason) : NULL,
		             v.sign, v.token);
		if (v.token != NULL && r->hooks->xfr_done != NULL)
			r->hooks->xfr_done(r, v.token);     /* a refusal's token: signing, or a
			                                     * slot admitted then over a session cap */
		return;
	}
	if (r->n_inflight == 0)
		r->up_since = r->last_active;       /* the upstream owes an answer from now */
	struct inflight *f = &r->inflight[r->n_inflight++];
	xfr_init(&f->xfr, q.id, q.qtype, q.has_ixfr_serial, q.ixfr_serial, r->last_active);
	memcpy(f->echo.qname, q.qname, q.qname_len);
	f->echo.qname_len = q.qname_len;
	f->echo.rd = q.rd;
	f->echo.has_opt = q.has_opt;
	f->echo.has_padding = q.has_padding;
	f->echo.has_tsig = q.has_tsig;
	f->echo.sign = v.sign;
	f->token = v.token;
	f->echo.tsig_len = 0;
	if (q.has_tsig && q.qname_len + q.tsig_key_len <= sizeof(f->echo.qname)) {
		memcpy(f->echo.qname + q.qname_len, q.tsig_key, q.tsig_key_len);
		f->echo.tsig_len = (uint8_t)q.tsig_key_len;
	}
	metrics_transfer_start(relay_dir(r));
	r->in_fwd = len + 2;
	r->in_sent = 0;
}

/* A frame longer than RELAY_IN_SIZE: answered FORMERR (with whatever of
 * its header and question fits in the buffer) and its octets discarded as
 * they arrive, so the session goes on. */
static void
skip_oversized(struct relay *r, size_t flen)
{
	struct dns_query q;
	const char *why;
	dnsmsg_parse_query(r->in + 2, r->in_len - 2, &q, &why);
	q.has_opt = false;
	char detail[48];                /* "query frame over 4094 octets" */
	snprintf(detail, sizeof(detail), "query frame over %d octets", RELAY_IN_SIZE - 2);
	log_refusal(r, &q, "formerr", RSN_FORMERR, detail);
	relay_queue_answer(r, &q, DNS_RCODE_FORMERR, DNS_EDE_NONE, NULL, false, NULL);
	r->in_skip = flen + 2 - r->in_len;
	r->in_len = 0;
}

/* Takes complete frames from `in` while there is room to act on them. */
bool
relay_process_queries(struct relay *r)
{
	bool progress = false;
	while (r->state == RELAY_OPEN && r->in_fwd == 0 && r->local_len == 0 && r->in_len >= 2) {
		size_t flen = rd16(r->in);
		if (flen < DNS_HDR_LEN) {
			log_info("conn %llu, remote %s, closed: query frame of %zu octets",
			         (unsigned long long)r->id, r->peer_text, flen);
			/* no close_notify over a cut answer */
			relay_close(r, relay_idle(r), RSN_BAD_QUERY_FRAME, NULL);
			return true;
		}
		if (flen + 2 > RELAY_IN_SIZE) {
			if (r->in_len < RELAY_IN_SIZE)
				break;              /* the header and question, as far as they fit */
			skip_oversized(r, flen);
			return true;
		}
		if (r->in_len < flen + 2)
			break;
		handle_query(r, r->in + 2, flen);
		if (r->in_fwd == 0) {               /* answered locally: drop the frame */
			memmove(r->in, r->in + flen + 2, r->in_len - flen - 2);
			r->in_len -= flen + 2;
		}
		progress = true;
	}
	return progress;
}
