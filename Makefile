# xotproxy - DNS zone transfer over TLS (RFC 9103) sidecar proxy.
# Targets: all (./xotproxy), test, unit, integ, asan, run, deps, fuzz, bench, clean.

SHELL   := /bin/bash
CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
           -Wmissing-prototypes -Wno-unused-parameter
# Every include is by path from the top of the tree (proxy/lib/dname.h, conf/conf.h).
CPPFLAGS += -D_GNU_SOURCE -MMD -MP -I.
BUILD   ?= build/default

PKGS      := libev inih
DEP_LIBS  := $(shell pkg-config --libs inih 2>/dev/null || echo -linih) -lev
# wolfSSL: a project-local static build with AES-NI/SP asm by default
# (WOLFSSL=system for Debian's library); see mk/wolfssl.mk.
include mk/wolfssl.mk

# Two static libraries, in layers (docs/architecture.md): libxotwire.a is
# proxy/lib/ (DNS wire code and small data structures, no daemon includes);
# libxotd.a is conf/, tls/ and the daemon's proxy/*.c except main.c. The
# daemon, the unit tests and the fuzzers link both.
WIRE_SRCS := $(wildcard proxy/lib/*.c)
DAEMON_SRCS := $(filter-out proxy/main.c,$(wildcard proxy/*.c tls/*.c conf/*.c))
LIB_SRCS  := $(WIRE_SRCS) $(DAEMON_SRCS)
MAIN_SRC  := proxy/main.c
UNIT_SRCS := $(wildcard tests/unit/*.c)

WIRE_OBJS := $(WIRE_SRCS:%.c=$(BUILD)/%.o)
DAEMON_OBJS := $(DAEMON_SRCS:%.c=$(BUILD)/%.o)
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIBS_A    := $(BUILD)/libxotd.a $(BUILD)/libxotwire.a
MAIN_OBJ  := $(MAIN_SRC:%.c=$(BUILD)/%.o)
UNIT_OBJS := $(UNIT_SRCS:%.c=$(BUILD)/%.o)

ALL_CFLAGS = $(CFLAGS) $(WARN) $(WOLF_CFLAGS)
LDLIBS_ALL = $(WOLF_LIBS) $(DEP_LIBS)

.PHONY: check-layers all test unit integ integ-part-a integ-part-b integ-asan integ-valgrind asan-unit run deps clean distclean fuzz bench check-deps check-build-deps

all: xotproxy

xotproxy: $(BUILD)/xotproxy
	cp $< $@.tmp && mv -f $@.tmp $@

$(BUILD)/libxotwire.a: $(WIRE_OBJS)
	rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/libxotd.a: $(DAEMON_OBJS)
	rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/xotproxy: $(MAIN_OBJ) $(LIBS_A)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/unit_tests: $(UNIT_OBJS) $(LIBS_A)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL) -lcunit

$(BUILD)/%.o: %.c $(WOLF_DEP)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

# Installs missing Debian packages (needs root); a no-op when all are present.
deps:
	@scripts/deps.sh

check-deps:
	@scripts/deps.sh --check >/dev/null 2>&1 || scripts/deps.sh

# make unit needs only the build packages: no named, Knot, PowerDNS or Prometheus.
check-build-deps:
	@scripts/deps.sh --build --check >/dev/null 2>&1 || scripts/deps.sh --build

unit: check-build-deps $(BUILD)/unit_tests
	$(BUILD)/unit_tests

integ: check-deps xotproxy
	tests/integ/run.sh ./xotproxy

# make test's two halves of the integration suite (make integ runs all of it).
INTEG_PART_a := ^t([0-3]|5)
INTEG_PART_b := ^t(4|[6-9])
integ-part-a integ-part-b: check-deps xotproxy
	tests/integ/run.sh ./xotproxy '$(INTEG_PART_$(@:integ-part-%=%))'

# AddressSanitizer + UBSan build of the unit tests and the binary.
ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
asan-unit: check-deps
	$(MAKE) --no-print-directory BUILD=build/asan CFLAGS="$(ASAN_FLAGS)" build/asan/unit_tests build/asan/xotproxy
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 build/asan/unit_tests

# The inbound scenarios (t0x, t1x, t32-t34, t36), the outbound ones whose
# failure paths the others do not reach (t39, t45-t47) and the policy ones
# with TSIG and caps (t61, t62), answers that must not reach the wrong
# requester (t70, t80) and the outbound failover and reload ones (t74-t76)
# against the ASan+UBSan binary: any report fails the run (reports go to
# files, which must not exist afterwards). The abuse and timing tests (t2x,
# t30, t31, t35) run on the normal binary, where their RSS and latency bounds hold.
integ-asan: asan-unit
	rm -rf build/asan/reports && mkdir -p build/asan/reports
	ASAN_OPTIONS=detect_leaks=1:log_path=$(CURDIR)/build/asan/reports/asan \
	UBSAN_OPTIONS=print_stacktrace=1:log_path=$(CURDIR)/build/asan/reports/ubsan \
	  tests/integ/run.sh build/asan/xotproxy '^t([01]|3[2346]|39|4[5-7]|6[12]|7[0-6]|79|8[0-3])'
	@if ls build/asan/reports/* >/dev/null 2>&1; then \
	  echo "sanitizer reports:"; cat build/asan/reports/*; exit 1; fi; echo "sanitizers: 0 reports"

# One scenario (AXFR/IXFR/SOA of the 100k zone) under valgrind memcheck.
integ-valgrind: check-deps xotproxy
	XOT_WRAP="valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=1" \
	  tests/integ/run.sh ./xotproxy t01_

# The integration suite (in two halves of about equal time) and its ASan pass
# run side by side, each with its own shared fixtures and named primary, which
# keeps make test under 20 minutes on two cores.
test: check-deps
	scripts/check-requirements.sh
	$(MAKE) --no-print-directory check-layers
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory xotproxy
	$(MAKE) --no-print-directory -j3 --output-sync=target integ-part-a integ-part-b integ-asan
	$(MAKE) --no-print-directory integ-valgrind
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=15
	$(MAKE) --no-print-directory install-test

# Layers, module include cycles and file length (docs/architecture.md).
check-layers:
	CC="$(CC)" WOLF_CFLAGS="$(WOLF_CFLAGS)" scripts/check-layers.py

run: check-deps xotproxy
	scripts/demo.sh ./xotproxy

# Benchmark vs direct TCP, haproxy, dnsdist and BIND's native XoT (issue 3):
# about 5-6 min; BENCH_QUICK=1 for a ~30 s smoke run. Writes bench/results/latest.{tsv,md}.
bench: check-deps xotproxy
	bench/run.sh ./xotproxy

# libFuzzer targets, FUZZ_SECONDS each (clang). Seeds: tests/fuzz/corpus/NAME.
FUZZ_SECONDS ?= 30
FUZZ_TARGETS := dnsmsg respscan conf relay tsig epudp pool
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined
# The fuzzers link the same two libraries, built with the fuzzer's flags.
FUZZ_BUILD := build/fuzzlib
fuzz: check-deps
	@mkdir -p build/fuzz tests/fuzz/artifacts
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=clang CFLAGS="$(FUZZ_FLAGS)" \
	  $(FUZZ_BUILD)/libxotd.a $(FUZZ_BUILD)/libxotwire.a
	@set -e; for t in $(FUZZ_TARGETS); do \
	  clang $(FUZZ_FLAGS) $(CPPFLAGS) $(WOLF_CFLAGS) -o build/fuzz/fuzz_$$t tests/fuzz/fuzz_$$t.c \
	    $(FUZZ_BUILD)/libxotd.a $(FUZZ_BUILD)/libxotwire.a $(WOLF_LIBS) $(DEP_LIBS); \
	  cp -r tests/fuzz/corpus/$$t build/fuzz/corpus-$$t 2>/dev/null || mkdir -p build/fuzz/corpus-$$t; \
	  echo "fuzz_$$t: $(FUZZ_SECONDS) s"; \
	  build/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=tests/fuzz/artifacts/$$t- build/fuzz/corpus-$$t tests/fuzz/corpus/$$t 2>&1 \
	    | grep -E '^(stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY)' ; \
	  test $${PIPESTATUS[0]:-0} = 0; \
	done

clean:
	rm -rf $(filter-out $(WOLF_PRESERVE),$(wildcard build/*)) xotproxy

distclean: clean wolfssl-distclean

# Packaging and the container image (issue 10), each in its own file.
-include mk/install.mk mk/container.mk

-include $(LIB_OBJS:.o=.d) $(MAIN_OBJ:.o=.d) $(UNIT_OBJS:.o=.d)
