/* run_unit.c - registers every CUnit suite and runs them. The exit status is
 * computed from the failure counters (CU_basic_run_tests returns 0 even when
 * tests fail), read before the registry is cleaned up. */
#include <CUnit/Basic.h>
#include <stdio.h>

#include "unit.h"

int
main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	int (*const suites[])(void) = {
		test_reason_register,         /* first: the other suites read its table */
		test_ring_register, test_respscan_register, test_dnsmsg_register,
		test_xfr_register, test_policy_register, test_netaddr_register,
		test_conf_register, test_confschema_register, test_ipcount_register, test_log_register,
		test_jsonlog_register, test_metrics_register,
		test_tls_server_auth_register,
		test_tls_client_register, test_listen_register,
		test_clienttab_register,
		test_proxyv2_register,
		test_tsig_register,
		test_limits_register,
		test_relay_rules_register,
		test_epudp_register,
		test_privdrop_register,
		test_pool_register,
	};
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
		if (suites[i]() != 0) {
			fprintf(stderr, "suite registration failed: %s\n", CU_get_error_msg());
			CU_cleanup_registry();
			return 2;
		}
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned tests = CU_get_number_of_tests_run();
	unsigned failed = CU_get_number_of_tests_failed();
	unsigned asserts_failed = CU_get_number_of_failures();
	unsigned suites_failed = CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	printf("\n%u passed, %u failed\n", tests - failed, failed);
	return (failed || asserts_failed || suites_failed) ? 1 : 0;
}
