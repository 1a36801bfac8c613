# mk/wolfssl.mk - which wolfSSL xotproxy compiles and links against.
#
#   make                  project-local static wolfSSL 5.5.4 (Debian source + patches, AES-NI,
#                         intelasm, SP-math asm, TLS 1.3 only), built once into build/wolfssl
#                         by scripts/build-wolfssl.sh (about 30 s, log: build/wolfssl.log)
#   make WOLFSSL=system   Debian's libwolfssl-dev (shared)
#
# If the local build cannot be made, a warning is printed and the system library is used.
#
# Provides:
#   WOLF_CFLAGS  compile flags (-I..., and -DXOT_LOCAL_WOLFSSL in local mode)
#   WOLF_LIBS    link flags (static archive + -lm -lpthread, or -lwolfssl)
#   WOLF_DEP     files every object using wolfSSL must depend on (normal prerequisites,
#                after the .c): they change when the mode/flags change or the local
#                library is rebuilt, so objects never mix headers of one build with the
#                library of another
#   WOLF_MODE    local | system (what is actually used, after any fallback)
#   WOLF_PRESERVE  paths `make clean` should keep (the local build is expensive)
#   targets: wolfssl (build now / retry after a failure), wolfssl-distclean
#
# Main Makefile usage (see the end of this file for an example).
#   include mk/wolfssl.mk            (anywhere; it does not change the default goal)
#   ALL_CFLAGS = ... $(WOLF_CFLAGS)
#   LDLIBS_ALL = $(WOLF_LIBS) ...
#   $(BUILD)/%.o: %.c $(WOLF_DEP)    (recipe keeps using $<)
#   clean: rm -rf $(filter-out $(WOLF_PRESERVE),$(wildcard build/*)) xotproxy
#   distclean: clean wolfssl-distclean
#
# The local build is made at parse time (when a goal may compile), so that its success
# decides the flags before any object is built. Goals that never compile do not trigger
# it: see WOLF_NOBUILD_GOALS. Every source using wolfSSL includes proxy/lib/wolfssl_check.h first.

WOLF_SAVED_DEFAULT_GOAL := $(.DEFAULT_GOAL)

WOLFSSL      ?= local
WOLF_PREFIX  ?= build/wolfssl
WOLF_SCRIPT  ?= scripts/build-wolfssl.sh
WOLF_LOG     := $(WOLF_PREFIX).log
WOLF_STAMP   := $(WOLF_PREFIX)/.xot-wolfssl-stamp
WOLF_MODE_FILE := $(dir $(WOLF_PREFIX))wolfssl.mode
WOLF_PRESERVE  := $(WOLF_PREFIX) $(WOLF_PREFIX).log $(WOLF_PREFIX).lock $(WOLF_PREFIX).failed
WOLF_NOBUILD_GOALS ?= clean distclean deps check-deps check-build-deps check-layers wolfssl wolfssl-distclean help uninstall container-test

ifeq ($(filter local system,$(WOLFSSL)),)
  $(error WOLFSSL must be 'local' or 'system', not '$(WOLFSSL)')
endif

# Empty when every goal on the command line is one that never compiles.
WOLF_NEEDED := $(if $(MAKECMDGOALS),$(filter-out $(WOLF_NOBUILD_GOALS),$(MAKECMDGOALS)),default)

WOLF_MODE := system
ifeq ($(WOLFSSL),local)
  ifneq ($(WOLF_NEEDED),)
    # No-op (a few ms) once built. Progress and errors go to the terminal (stderr).
    WOLF_BUILD_OK := $(shell $(WOLF_SCRIPT) $(WOLF_PREFIX) >&2 && echo ok)
    ifeq ($(WOLF_BUILD_OK),ok)
      # pitfall 4: PKG_CONFIG_LIBDIR (fails if the .pc is missing; PKG_CONFIG_PATH would
      # silently fall back to the system wolfssl.pc) and --define-prefix (relocatable).
      WOLF_PKG := PKG_CONFIG_LIBDIR=$(abspath $(WOLF_PREFIX))/lib/pkgconfig pkg-config --define-prefix
      WOLF_PC_CFLAGS := $(shell $(WOLF_PKG) --cflags wolfssl 2>/dev/null || echo FAIL)
      WOLF_PC_LIBS   := $(shell $(WOLF_PKG) --static --libs wolfssl 2>/dev/null || echo FAIL)
      # Headers and library must come from the prefix (never from /usr).
      ifneq ($(filter FAIL,$(WOLF_PC_CFLAGS) $(WOLF_PC_LIBS)),)
        WOLF_BUILD_OK := pkg-config
      else ifeq ($(filter -I$(abspath $(WOLF_PREFIX))/include,$(WOLF_PC_CFLAGS)),)
        WOLF_BUILD_OK := pkg-config
      else ifeq ($(filter -L$(abspath $(WOLF_PREFIX))/lib,$(WOLF_PC_LIBS)),)
        WOLF_BUILD_OK := pkg-config
      else
        WOLF_MODE   := local
        WOLF_CFLAGS := -DXOT_LOCAL_WOLFSSL $(WOLF_PC_CFLAGS)
        # -lwolfssl -> the archive's path: an -L/usr/... in LDFLAGS cannot redirect it to
        # Debian's .so. pitfall 3: the .pc has no Libs.private; add libm and pthread.
        WOLF_LIBS   := $(patsubst -lwolfssl,$(abspath $(WOLF_PREFIX))/lib/libwolfssl.a,$(WOLF_PC_LIBS)) -lm -lpthread
        WOLF_DEP    := $(WOLF_MODE_FILE) $(WOLF_STAMP)
      endif
    endif
    ifneq ($(WOLF_MODE),local)
      $(warning wolfSSL local build failed, falling back to the system library (see $(WOLF_LOG)))
      ifeq ($(WOLF_BUILD_OK),pkg-config)
        $(warning pkg-config could not use $(WOLF_PREFIX)/lib/pkgconfig/wolfssl.pc; run 'make wolfssl-distclean' and rebuild)
      endif
    endif
  endif
endif

ifeq ($(WOLF_MODE),system)
  WOLF_CFLAGS := $(shell pkg-config --cflags wolfssl 2>/dev/null)
  WOLF_LIBS   := $(shell pkg-config --libs wolfssl 2>/dev/null || echo -lwolfssl)
  WOLF_DEP    := $(WOLF_MODE_FILE)
  ifneq ($(WOLF_NEEDED),)
    ifeq ($(wildcard /usr/include/wolfssl/options.h),)
      $(warning system wolfSSL headers not found: install libwolfssl-dev (make deps))
    endif
  endif
endif

# Record mode and flags; the file is rewritten only when they change, which makes every
# object depending on $(WOLF_DEP) rebuild (switching local <-> system is safe).
WOLF_MODE_LINE := $(strip $(WOLF_MODE) $(WOLF_CFLAGS) $(WOLF_LIBS))
ifneq ($(WOLF_NEEDED),)
  ifneq ($(WOLF_MODE_LINE),$(strip $(shell cat $(WOLF_MODE_FILE) 2>/dev/null)))
    $(shell mkdir -p $(dir $(WOLF_MODE_FILE)) && printf '%s\n' '$(WOLF_MODE_LINE)' >$(WOLF_MODE_FILE))
  endif
endif

$(WOLF_MODE_FILE):
	@mkdir -p $(@D)
	@printf '%s\n' '$(WOLF_MODE_LINE)' >$@

# Normally already made at parse time; only runs if the stamp vanished meanwhile.
$(WOLF_STAMP):
	$(WOLF_SCRIPT) $(WOLF_PREFIX)

.PHONY: wolfssl wolfssl-distclean
# Build the local wolfSSL now; also retries after a failed build.
wolfssl:
	$(WOLF_SCRIPT) --retry $(WOLF_PREFIX)

# Removes the local wolfSSL build (next `make` rebuilds it, about 30 s).
wolfssl-distclean:
	rm -rf $(WOLF_PRESERVE) $(WOLF_PREFIX).stage $(WOLF_PREFIX).new $(WOLF_MODE_FILE)

.DEFAULT_GOAL := $(WOLF_SAVED_DEFAULT_GOAL)

# Example (main Makefile):
#
#   include mk/wolfssl.mk
#   ALL_CFLAGS = $(CFLAGS) $(WARN) $(WOLF_CFLAGS)
#   LDLIBS_ALL = $(WOLF_LIBS) $(DEP_LIBS)
#   $(BUILD)/%.o: %.c $(WOLF_DEP)
#   	@mkdir -p $(dir $@)
#   	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<
#   clean:
#   	rm -rf $(filter-out $(WOLF_PRESERVE),$(wildcard build/*)) xotproxy
#   distclean: clean wolfssl-distclean
