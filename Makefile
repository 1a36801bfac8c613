# xotproxy - DNS zone transfer over TLS (RFC 9103) sidecar proxy.
# Targets: all (./xotproxy), test, unit, integ, asan, run, deps, fuzz, bench, clean.

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
           -Wmissing-prototypes -Wno-unused-parameter
CPPFLAGS += -D_GNU_SOURCE -MMD -MP -Iproxy -Itls -Iconf
BUILD   ?= build/default

PKGS      := libev inih
DEP_LIBS  := $(shell pkg-config --libs inih 2>/dev/null || echo -linih) -lev
WOLF_CFLAGS := $(shell pkg-config --cflags wolfssl 2>/dev/null)
WOLF_LIBS   := $(shell pkg-config --libs wolfssl 2>/dev/null || echo -lwolfssl)

LIB_SRCS  := $(filter-out proxy/main.c,$(wildcard proxy/*.c tls/*.c conf/*.c))
MAIN_SRC  := proxy/main.c
UNIT_SRCS := $(wildcard tests/unit/*.c)

LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
MAIN_OBJ  := $(MAIN_SRC:%.c=$(BUILD)/%.o)
UNIT_OBJS := $(UNIT_SRCS:%.c=$(BUILD)/%.o)

ALL_CFLAGS = $(CFLAGS) $(WARN) $(WOLF_CFLAGS)
LDLIBS_ALL = $(WOLF_LIBS) $(DEP_LIBS)

.PHONY: all test unit integ asan asan-unit run deps clean fuzz bench check-deps

all: xotproxy

xotproxy: $(BUILD)/xotproxy
	cp $< $@

$(BUILD)/xotproxy: $(LIB_OBJS) $(MAIN_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/unit_tests: $(LIB_OBJS) $(UNIT_OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL) -lcunit

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

# Installs missing Debian packages (needs root); a no-op when all are present.
deps:
	@scripts/deps.sh

check-deps:
	@scripts/deps.sh --check >/dev/null 2>&1 || scripts/deps.sh

unit: check-deps $(BUILD)/unit_tests
	$(BUILD)/unit_tests

integ: check-deps xotproxy
	tests/integ/run.sh ./xotproxy

# AddressSanitizer + UBSan build of the unit tests and the binary.
ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
asan-unit: check-deps
	$(MAKE) --no-print-directory BUILD=build/asan CFLAGS="$(ASAN_FLAGS)" build/asan/unit_tests build/asan/xotproxy
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 build/asan/unit_tests

test: check-deps
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory integ
	$(MAKE) --no-print-directory asan-unit

run: check-deps xotproxy
	scripts/demo.sh ./xotproxy

clean:
	rm -rf build xotproxy

-include $(LIB_OBJS:.o=.d) $(MAIN_OBJ:.o=.d) $(UNIT_OBJS:.o=.d)
