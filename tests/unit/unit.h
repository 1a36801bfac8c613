/* unit.h - suite registration functions and helpers shared by unit tests. */
#ifndef XP_UNIT_H
#define XP_UNIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

int test_ring_register(void);
int test_respscan_register(void);
int test_dnsmsg_register(void);
int test_xfr_register(void);
int test_policy_register(void);
int test_netaddr_register(void);
int test_conf_register(void);
int test_confschema_register(void);
int test_ipcount_register(void);
int test_log_register(void);
int test_jsonlog_register(void);
int test_metrics_register(void);
int test_tls_client_register(void);
int test_tsig_register(void);
int test_tls_server_auth_register(void);
int test_listen_register(void);
int test_clienttab_register(void);
int test_proxyv2_register(void);
int test_limits_register(void);
int test_pool_register(void);
int test_relay_rules_register(void);
int test_epudp_register(void);
int test_privdrop_register(void);
int test_reason_register(void);

/* "192.0.2.1" or "2001:db8::1" (with a port) as a socket address; the
 * text must parse (asserted). SA() passes one as a struct sockaddr *. */
struct sockaddr_storage ut_addr(const char *text);
struct sockaddr_storage ut_addr_port(const char *text, uint16_t port);
#define SA(ss) ((const struct sockaddr *)&(ss))

/* A tiny DNS message builder for test input (no bounds checks: tests only). */
struct mb {
	uint8_t buf[70000];
	size_t len;
};
void mb_header(struct mb *m, uint16_t id, uint8_t flags2, uint8_t flags3,
               uint16_t qd, uint16_t an, uint16_t ns, uint16_t ar);
void mb_bytes(struct mb *m, const void *p, size_t n);
void mb_u16(struct mb *m, uint16_t v);
void mb_u32(struct mb *m, uint32_t v);
void mb_name(struct mb *m, const char *text);          /* uncompressed */
void mb_question(struct mb *m, const char *name, uint16_t type, uint16_t cls);
void mb_soa(struct mb *m, const char *owner, uint32_t serial);
void mb_a(struct mb *m, const char *owner);
void mb_opt(struct mb *m, uint8_t version, const uint8_t *opts, uint16_t optlen);
void mb_tsig(struct mb *m, const char *key);
/* Wraps the message with a 2-byte length prefix into out; returns length. */
size_t mb_frame(const struct mb *m, uint8_t *out);

#define SUITE(name) CU_pSuite s = CU_add_suite(name, NULL, NULL); if (s == NULL) return -1
#define TEST(fn) if (CU_add_test(s, #fn, fn) == NULL) return -1

#endif
