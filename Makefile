# bufshim — make builds the library and the command; make check tests them.

CC       ?= cc
CFLAGS   ?= -O2 -g
WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
BASE     := -std=gnu11 $(WARN)
PKG_CHECK = $(shell pkg-config --cflags --libs check 2>/dev/null)

B := build

CORE_SRC := core/bs_buffer.c core/bs_config.c core/bs_str.c core/bs_stats.c
SHIM_SRC := shim/init.c shim/files.c shim/hooks.c shim/hooks_proc.c shim/hooks_wait.c shim/timer.c shim/stdio.c
CORE_HDR := $(wildcard core/*.h)
SHIM_HDR := $(wildcard shim/*.h)

LIB := $(B)/libbufshim.so
CMD := $(B)/bufshim

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
LIBDIR  ?= $(PREFIX)/lib/bufshim
MANDIR  ?= $(PREFIX)/share/man/man1
VERSION := 0.1.0

.PHONY: all check deps unit integration demo install uninstall clean
all: $(LIB) $(CMD)

$(LIB): $(CORE_SRC) $(SHIM_SRC) $(CORE_HDR) $(SHIM_HDR) $(B)/libbufshim.map | $(B)
	$(CC) $(BASE) $(CFLAGS) -fPIC -shared -fvisibility=hidden \
		-Wl,--version-script=$(B)/libbufshim.map -Wl,-z,now \
		-o $@ $(CORE_SRC) $(SHIM_SRC) -ldl -lpthread

$(CMD): cmd/bufshim.c $(CORE_SRC) $(CORE_HDR) | $(B)
	$(CC) $(BASE) $(CFLAGS) -DBUFSHIM_VERSION='"$(VERSION)"' \
		-DBUFSHIM_LIBDIR='"$(LIBDIR)"' -o $@ cmd/bufshim.c $(CORE_SRC) -lpthread

$(B)/libbufshim.map: shim/libbufshim.map.in shim/real_funcs.h | $(B)
	$(CC) -E -P -x c shim/libbufshim.map.in -o $@

$(B):
	mkdir -p $@

# ---- tests ---------------------------------------------------------------------

UNIT_TESTS := $(B)/test_buffer $(B)/test_config
TEST_PROGS := $(patsubst tests/progs/%.c,$(B)/progs/%,$(wildcard tests/progs/*.c))

$(B)/progs/static_hello: tests/progs/static_hello.c | $(B)
	@mkdir -p $(B)/progs
	$(CC) $(BASE) $(CFLAGS) -static -o $@ $<

$(B)/test_%: tests/unit/test_%.c tests/unit/fake_sink.h $(CORE_SRC) $(CORE_HDR) | $(B)
	@test -n "$(PKG_CHECK)" || { echo "Check is missing: run scripts/install-deps.sh (Debian: apt-get install check pkg-config)"; exit 1; }
	$(CC) $(BASE) $(CFLAGS) -o $@ $< $(CORE_SRC) $(PKG_CHECK) -lpthread

$(B)/progs/%: tests/progs/%.c | $(B)
	@mkdir -p $(B)/progs
	$(CC) $(BASE) $(CFLAGS) -o $@ $< -lpthread

unit: $(UNIT_TESTS)
	@for t in $(UNIT_TESTS); do $$t || exit 1; done

integration: all $(TEST_PROGS)
	tests/integration/run.sh

check: deps
	$(MAKE) --no-print-directory unit integration

deps:
	@scripts/install-deps.sh --if-missing

demo: deps all
	@scripts/demo.sh

# The command finds the library in ../lib/bufshim beside itself, so a
# DESTDIR staging tree works as it is.
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(MANDIR)
	install -m 755 $(CMD) scripts/bufshim-compare $(DESTDIR)$(BINDIR)/
	install -m 755 $(LIB) $(DESTDIR)$(LIBDIR)/
	install -m 644 doc/bufshim.1 $(DESTDIR)$(MANDIR)/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/bufshim $(DESTDIR)$(BINDIR)/bufshim-compare \
		$(DESTDIR)$(LIBDIR)/libbufshim.so $(DESTDIR)$(MANDIR)/bufshim.1
	-rmdir $(DESTDIR)$(LIBDIR)

clean:
	rm -rf $(B)
