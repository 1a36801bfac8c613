# mk/install.mk - make install / uninstall / install-test (included by the top Makefile).
#
#   make install [PREFIX=/usr/local] [DESTDIR=] [SYSCONFDIR=...] [SYSTEMDUNITDIR=...]
#   make uninstall (same variables)
#   make install-test      tests/install/test_install.sh: install into a temp DESTDIR,
#                          check the layout, lint, -t, systemd-analyze verify, uninstall
#
# Layout (PREFIX=/usr/local by default; SYSCONFDIR is /etc when PREFIX=/usr):
#   $(SBINDIR)/xotproxy                          the binary
#   $(MANDIR)/man8/xotproxy.8, man5/xotproxy.conf.5
#   $(SYSCONFDIR)/xotproxy/xotproxy.ini          sample config, never overwritten; mode 0640,
#                                                group $(XOT_GROUP) when that group exists (it may
#                                                hold an inline TSIG secret: the service's group
#                                                reads it, nobody else)
#   $(SYSTEMDUNITDIR)/xotproxy.service           ExecStart paths substituted here
#   $(SYSUSERSDIR)/xotproxy.conf                 creates the user `xotproxy`
#
# Paths "/etc/xotproxy" in the man pages and the sample config become
# $(SYSCONFDIR)/xotproxy; @SBINDIR@ and @SYSCONFDIR@ in the unit are replaced.
# uninstall removes the config only while it is unchanged from the sample.

PREFIX         ?= /usr/local
DESTDIR        ?=
SBINDIR        ?= $(PREFIX)/sbin
MANDIR         ?= $(PREFIX)/share/man
SYSCONFDIR     ?= $(if $(filter /usr /usr/,$(PREFIX)),/etc,$(PREFIX)/etc)
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR    ?= $(PREFIX)/lib/sysusers.d
INSTALL        ?= install
# the service's group (dist/xotproxy.sysusers): it owns the installed config
XOT_GROUP      ?= xotproxy

XOT_CONFDIR := $(SYSCONFDIR)/xotproxy
XOT_CONF    := $(XOT_CONFDIR)/xotproxy.ini
# sed script applied to every installed text file
# (the /etc/xotproxy rule first, so it never sees an already substituted path)
XOT_SUBST   := -e 's|/etc/xotproxy|$(XOT_CONFDIR)|g' \
               -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g'

.PHONY: install install-bin install-man install-conf install-systemd uninstall install-test

install: install-bin install-man install-conf install-systemd

install-bin: xotproxy
	$(INSTALL) -d -m 755 $(DESTDIR)$(SBINDIR)
	$(INSTALL) -m 755 xotproxy $(DESTDIR)$(SBINDIR)/xotproxy

# $(call xot_install_subst,SRC,DEST): sed SRC into DEST (mode 644) via a temp file.
xot_install_subst = echo "sed $(1) > $(2)"; \
                    { sed $(XOT_SUBST) $(1) >$(2).tmp && chmod 644 $(2).tmp && mv -f $(2).tmp $(2); } \
                    || { rm -f $(2).tmp; exit 1; }

install-man:
	$(INSTALL) -d -m 755 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5
	@$(call xot_install_subst,man/xotproxy.8,$(DESTDIR)$(MANDIR)/man8/xotproxy.8)
	@$(call xot_install_subst,man/xotproxy.conf.5,$(DESTDIR)$(MANDIR)/man5/xotproxy.conf.5)

# The config: mode 0640, group $(XOT_GROUP) (issue 13 item 16). The group is
# set when it exists (systemd-sysusers creates it from the sysusers.d file);
# otherwise a note says how to set it once it does: until then only root reads
# the file, and the service (user xotproxy) cannot start.
install-conf:
	$(INSTALL) -d -m 755 $(DESTDIR)$(XOT_CONFDIR)
	@if [ -e $(DESTDIR)$(XOT_CONF) ]; then \
	  echo "keeping existing $(DESTDIR)$(XOT_CONF)"; \
	else \
	  $(call xot_install_subst,dist/xotproxy.ini,$(DESTDIR)$(XOT_CONF)) && \
	  chmod 640 $(DESTDIR)$(XOT_CONF) && \
	  if getent group $(XOT_GROUP) >/dev/null 2>&1; then \
	    echo "chgrp $(XOT_GROUP) $(DESTDIR)$(XOT_CONF)"; \
	    chgrp $(XOT_GROUP) $(DESTDIR)$(XOT_CONF) || \
	      echo "note: run as root: chgrp $(XOT_GROUP) $(XOT_CONF)"; \
	  else \
	    echo "note: group $(XOT_GROUP) does not exist yet: after systemd-sysusers, run" \
	         "chgrp $(XOT_GROUP) $(XOT_CONF)"; \
	  fi; \
	fi

install-systemd:
	$(INSTALL) -d -m 755 $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSUSERSDIR)
	@$(call xot_install_subst,dist/xotproxy.service,$(DESTDIR)$(SYSTEMDUNITDIR)/xotproxy.service)
	$(INSTALL) -m 644 dist/xotproxy.sysusers $(DESTDIR)$(SYSUSERSDIR)/xotproxy.conf

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/xotproxy
	rm -f $(DESTDIR)$(MANDIR)/man8/xotproxy.8 $(DESTDIR)$(MANDIR)/man5/xotproxy.conf.5
	rm -f $(DESTDIR)$(SYSTEMDUNITDIR)/xotproxy.service $(DESTDIR)$(SYSUSERSDIR)/xotproxy.conf
	@if [ -e $(DESTDIR)$(XOT_CONF) ]; then \
	  if sed $(XOT_SUBST) dist/xotproxy.ini | cmp -s - $(DESTDIR)$(XOT_CONF); then \
	    echo "rm -f $(DESTDIR)$(XOT_CONF)"; rm -f $(DESTDIR)$(XOT_CONF); \
	  else \
	    echo "keeping $(DESTDIR)$(XOT_CONF) (changed from the sample)"; \
	  fi; \
	fi
	-@rmdir $(DESTDIR)$(XOT_CONFDIR) 2>/dev/null || true

install-test:
	tests/install/test_install.sh
