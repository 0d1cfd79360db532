# SPDX-License-Identifier: MIT
# bufshim — make builds the library and the command; make check tests them.

CC       ?= cc
CFLAGS   ?= -O2 -g
# make CROSS=aarch64-linux-gnu-: everything built for another processor with
# Debian's cross compiler, into build-aarch64 (make check-aarch64 tests it
# under qemu-aarch64). CC, STRIP and pkg-config's directory follow CROSS.
CROSS    ?=
ifneq ($(CROSS),)
ifeq ($(origin CC),default)
CC       := $(CROSS)gcc
endif
CROSS_TRIPLET := $(patsubst %-,%,$(CROSS))
CROSS_DIR := -$(firstword $(subst -, ,$(CROSS)))
PKG_CONFIG_ENV := PKG_CONFIG_LIBDIR=/usr/lib/$(CROSS_TRIPLET)/pkgconfig:/usr/share/pkgconfig
endif
# make check SAN=address,undefined: everything built with these sanitizers
SAN      ?=
# (and with the re-entry guard checked at every leave, as GUARD_DEBUG=1)
ifneq ($(SAN),)
CFLAGS   += -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all -DBS_GUARD_DEBUG
B        := build$(CROSS_DIR)-san
endif
WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
BASE     := -std=gnu11 $(WARN)
PKG_CHECK = $(shell $(PKG_CONFIG_ENV) pkg-config --cflags --libs check 2>/dev/null)

# make GUARD_DEBUG=1: the re-entry guard checks every leave against an enter
ifneq ($(GUARD_DEBUG),)
CFLAGS   += -DBS_GUARD_DEBUG
B        := build$(CROSS_DIR)-guard
endif

B ?= build$(CROSS_DIR)

CORE_SRC := core/bs_buffer.c core/bs_config.c core/bs_str.c core/bs_stats.c core/bs_local.c
SHIM_SRC := shim/sys.c shim/init.c shim/files.c shim/stats.c shim/signals.c shim/process.c shim/hooks.c shim/hooks_proc.c shim/hooks_wait.c shim/timer.c shim/stdio.c shim/locals.c shim/async.c
CORE_HDR := $(wildcard core/*.h)
SHIM_HDR := $(wildcard shim/*.h shim/arch/*.h)

# Each source is compiled once, position-independent, into $(B)/obj: the
# library, the command and the unit tests link the same objects, and make -j
# compiles them side by side (one compiler run over every source took 7 s).
CORE_OBJ := $(patsubst %.c,$(B)/obj/%.o,$(CORE_SRC))
SHIM_OBJ := $(patsubst %.c,$(B)/obj/%.o,$(SHIM_SRC))

LIB := $(B)/libbufshim.so
CMD := $(B)/bufshim

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
LIBDIR  ?= $(PREFIX)/lib/bufshim
MANDIR  ?= $(PREFIX)/share/man/man1
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
VERSION := 0.1.0
# make install strips the command and the library it installs. A packager
# whose tools strip and keep the debug symbols (Debian's dh_strip) sets
# STRIP_ON_INSTALL=0; DEB_BUILD_OPTIONS=nostrip makes 0 the default.
STRIP   ?= $(CROSS)strip
STRIP_ON_INSTALL ?= $(if $(filter nostrip,$(DEB_BUILD_OPTIONS)),0,1)

.PHONY: all check deps demo-deps unit integration demo bench bench-smoke install uninstall clean \
	tsan lint fuzz valgrind guard-check check-extra check-all check-build check-aarch64 FORCE
all: $(LIB) $(CMD)

# Bound lazily: binding our ~50 imports at load cost every process 27000
# instructions (callgrind, /bin/true), most of its start-up price.
# Without the C runtime's start files (-nostartfiles): their _init, _fini,
# frame_dummy and __do_global_dtors_aux do nothing a library that is never
# unloaded needs, and ran at every start and end on pages of our code that
# nothing else touched, a page fault each; our constructor and destructor
# are plain .init_array and .fini_array entries. process.c defines the
# __dso_handle they would have.
$(LIB): $(CORE_OBJ) $(SHIM_OBJ) $(B)/libbufshim.map
	$(CC) $(BASE) $(CFLAGS) -shared -nostartfiles \
		-Wl,--version-script=$(B)/libbufshim.map \
		-o $@ $(CORE_OBJ) $(SHIM_OBJ) -ldl -lpthread

$(B)/obj/%.o: %.c $(CORE_HDR) $(SHIM_HDR) | $(B)
	@mkdir -p $(@D)
	$(CC) $(BASE) $(CFLAGS) -fPIC -fvisibility=hidden -c -o $@ $<

# The command has the install paths built in (it looks for the library in
# LIBDIR, and at LIBDIR's place relative to BINDIR so that a DESTDIR staging
# tree works): it is rebuilt whenever they change, so make install
# LIBDIR=... never installs a command that looks in the old place.
CMD_PATHS  = BINDIR=$(BINDIR) LIBDIR=$(LIBDIR) VERSION=$(VERSION)
LIBDIR_REL = $(shell realpath -ms --relative-to='$(BINDIR)' '$(LIBDIR)')

$(B)/cmd-paths: FORCE | $(B)
	@[ "$$(cat $@ 2>/dev/null)" = '$(CMD_PATHS)' ] || echo '$(CMD_PATHS)' >$@
FORCE:

$(CMD): cmd/bufshim.c $(CORE_OBJ) $(CORE_HDR) $(B)/cmd-paths | $(B)
	$(CC) $(BASE) $(CFLAGS) -DBUFSHIM_VERSION='"$(VERSION)"' \
		-DBUFSHIM_LIBDIR='"$(LIBDIR)"' -DBUFSHIM_LIBDIR_REL='"$(LIBDIR_REL)"' \
		-o $@ cmd/bufshim.c $(CORE_OBJ) -lpthread

$(B)/libbufshim.map: shim/libbufshim.map.in shim/real_funcs.h | $(B)
	$(CC) -E -P -x c shim/libbufshim.map.in -o $@

$(B):
	mkdir -p $@

# ---- tests ---------------------------------------------------------------------

UNIT_TESTS := $(B)/test_buffer $(B)/test_config $(B)/test_local $(B)/test_async
NPROC := $(shell nproc 2>/dev/null || echo 1)
TEST_PROGS := $(patsubst tests/progs/%.c,$(B)/progs/%,$(wildcard tests/progs/*.c)) \
	$(patsubst tests/preload/%.c,$(B)/progs/lib%.so,$(wildcard tests/preload/*.c))

# never sanitized: a static program is what it stands for
$(B)/progs/static_hello: tests/progs/static_hello.c | $(B)
	@mkdir -p $(B)/progs
	$(CC) $(BASE) -O2 -static -o $@ $<

$(B)/test_%: tests/unit/test_%.c tests/unit/fake_sink.h $(CORE_OBJ) $(CORE_HDR) | $(B)
	@test -n "$(PKG_CHECK)" || { echo "Check is missing: run scripts/install-deps.sh (Debian: apt-get install check pkg-config)"; exit 1; }
	$(CC) $(BASE) $(CFLAGS) -o $@ $< $(CORE_OBJ) $(PKG_CHECK) -lpthread

# other preload libraries, for tests of how ours goes along with them
$(B)/progs/lib%.so: tests/preload/%.c | $(B)
	@mkdir -p $(B)/progs
	$(CC) $(BASE) $(CFLAGS) -fPIC -shared -o $@ $< -ldl

# signals and held fault on purpose (a division by zero, a null store): a
# sanitizer in the program itself would report the fault and exit by a raw
# syscall no library sees, where the program is meant to die of the signal
$(B)/progs/signals $(B)/progs/held: CFLAGS := $(filter-out -fsanitize=% -fno-sanitize-recover=%,$(CFLAGS))

$(B)/progs/%: tests/progs/%.c $(wildcard tests/progs/*.h) | $(B)
	@mkdir -p $(B)/progs
	$(CC) $(BASE) $(CFLAGS) -o $@ $< -lpthread

unit: $(UNIT_TESTS) $(LIB)
	@for t in $(UNIT_TESTS); do $$t || exit 1; done
	@tests/plt_check.sh $(LIB)
	@tests/spdx_check.sh

# A sanitized library runs inside unsanitized programs: their runtimes go
# first in LD_PRELOAD.
SAN_PRELOAD = $(if $(SAN),$(foreach r,$(if $(findstring address,$(SAN)),asan) \
	$(if $(findstring undefined,$(SAN)),ubsan),$(shell $(CC) -print-file-name=lib$(r).so):),)

empty :=
space := $(empty) $(empty)
TEST_ENV = BUFSHIM_BUILD=$(B) PRELOAD_FIRST="$(subst $(space),,$(strip $(SAN_PRELOAD)))"

# make integration TESTS="signals waits": only those files or tests
integration: all $(TEST_PROGS) $(B)/bench_write
	$(TEST_ENV) tests/integration/run.sh $(TESTS)

# The re-entry guard checked at every leave (a library built with
# GUARD_DEBUG exits 99 naming the section when one is unbalanced), on the
# tests that cross it most: signals, terminals, waits, process boundaries.
guard-check:
	$(MAKE) --no-print-directory GUARD_DEBUG=1 integration \
		TESTS="signals terminals waits boundaries"

# ThreadSanitizer on the engine's tests, the per-thread buffers' and
# asynchronous delivery's (the thread hammers among them).
tsan: | $(B)
	@test -n "$(PKG_CHECK)" || { echo "Check is missing: run scripts/install-deps.sh"; exit 1; }
	$(CC) $(BASE) -O1 -g -fsanitize=thread -o $(B)/test_buffer_tsan tests/unit/test_buffer.c \
		$(CORE_SRC) $(PKG_CHECK) -lpthread
	$(CC) $(BASE) -O1 -g -fsanitize=thread -o $(B)/test_local_tsan tests/unit/test_local.c \
		$(CORE_SRC) $(PKG_CHECK) -lpthread
	$(CC) $(BASE) -O1 -g -fsanitize=thread -o $(B)/test_async_tsan tests/unit/test_async.c \
		$(CORE_SRC) $(PKG_CHECK) -lpthread
	CK_FORK=no TSAN_OPTIONS=halt_on_error=1 $(B)/test_buffer_tsan
	CK_FORK=no TSAN_OPTIONS=halt_on_error=1 $(B)/test_local_tsan
	CK_FORK=no TSAN_OPTIONS=halt_on_error=1 $(B)/test_async_tsan

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
		--inline-suppr --suppress=missingIncludeSystem -I core -I shim core shim cmd
	@# one file per clang-tidy, NPROC at a time
	printf '%s\n' $(CORE_SRC) $(SHIM_SRC) cmd/bufshim.c | \
		xargs -P$(NPROC) -I{} clang-tidy --quiet {} -- -std=gnu11 -I core -I shim

FUZZ_SECONDS ?= 20
fuzz: | $(B)
	clang -g -O1 -fsanitize=fuzzer,address,undefined -o $(B)/fuzz_config \
		tests/fuzz/fuzz_config.c core/bs_config.c core/bs_str.c
	mkdir -p $(B)/fuzz-corpus && cp tests/fuzz/corpus/* $(B)/fuzz-corpus/
	$(B)/fuzz_config -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $(B)/fuzz-corpus

# memcheck on real programs with the library preloaded: these integration
# tests, each preloaded program run under valgrind (the writer in every mode
# and with writev, threads, stdio mixed with write(2), fork, seek and
# pwrite, the latency timer, a program looking at its own file)
VALGRIND_TESTS := c_writer_bytes_in_every_mode threads_tear_no_record \
	stdio_and_raw_writes_keep_order_everywhere fork_doubles_nothing \
	seek_pwrite_ftruncate_see_earlier_writes flush_ms_timer_delivers_each_byte_once \
	looking_at_its_own_file_sees_every_byte
valgrind: all $(TEST_PROGS)
	@command -v valgrind >/dev/null || { echo "valgrind is missing (Debian: apt-get install valgrind)"; exit 1; }
	$(TEST_ENV) TEST_PREFIX="valgrind -q --trace-children=yes --error-exitcode=99" tests/integration/run.sh $(VALGRIND_TESTS)

# What CI runs after make check: the same under sanitizers, TSan, lint,
# fuzz, memcheck and the benchmark's smoke pass.
check-extra:
	@scripts/install-deps.sh --all
	$(MAKE) --no-print-directory check SAN=address,undefined
	@# two at a time, each one's output kept together: the fuzz run's fixed
	@# seconds and the smoke pass's waits overlap the others (139 s to 105 s)
	$(MAKE) --no-print-directory -j2 --output-sync=target tsan lint fuzz bench-smoke valgrind

check-all: check check-extra

# Everything built in parallel; then the unit tests run alongside the
# integration tests' parallel batch (the runner waits for them before its
# timed tests).
check: deps
	@$(MAKE) --no-print-directory $(if $(findstring jobserver,$(MAKEFLAGS)),,-j$(NPROC)) \
		all $(UNIT_TESTS) $(TEST_PROGS) $(B)/bench_write
	$(TEST_ENV) tests/integration/run.sh --alongside "$(MAKE) --no-print-directory unit"

deps:
	@scripts/install-deps.sh --if-missing

# What the tests run: the library, the command, the unit tests, the test
# programs and preload libraries, the benchmark's writer.
check-build: all $(UNIT_TESTS) $(TEST_PROGS) $(B)/bench_write

# The aarch64 build, warnings as errors, tested under qemu-aarch64: the unit
# tests and the integration tests whose programs are ours
# (tests/aarch64/run.sh). Installs the cross compiler, qemu-user and Check
# for arm64 when they are missing.
AARCH64_CROSS := aarch64-linux-gnu-
check-aarch64:
	@scripts/install-deps.sh --aarch64 --if-missing
	@$(MAKE) --no-print-directory CROSS=$(AARCH64_CROSS) CFLAGS='$(CFLAGS) -Werror' \
		$(if $(findstring jobserver,$(MAKEFLAGS)),,-j$(NPROC)) check-build
	CROSS=$(AARCH64_CROSS) BUFSHIM_BUILD=build-aarch64 tests/aarch64/run.sh

# make demo needs no test-only packages (Check): a compiler, make, strace,
# dash and perl. The build starts after they are installed.
demo-deps:
	@scripts/install-deps.sh --demo --if-missing

demo: demo-deps
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh

$(B)/bench_write: tests/bench/bench_write.c | $(B)
	$(CC) $(BASE) -O2 -o $@ $< -lpthread

# The full benchmark (several minutes): the per-write matrix, whole programs,
# process start, a terminal, the hooks, threads and memory; BENCHMARKS.md and
# its chart are rewritten. --bench adds gnuplot, mawk and valgrind
# (instruction counts).
bench: deps all $(B)/bench_write $(B)/progs/memory
	@scripts/install-deps.sh --bench --if-missing
	@scripts/bench.sh --out BENCHMARKS.md

bench-smoke: all $(B)/bench_write $(B)/progs/memory
	@scripts/bench.sh --smoke >/dev/null && echo "bench smoke: ran"


# DESTDIR stages an install: the command finds the library at LIBDIR's place
# relative to itself, so a staged tree works as it is. STRIP_ON_INSTALL: above.
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(MANDIR) \
		$(DESTDIR)$(BASHCOMPDIR)
	install -m 755 $(CMD) scripts/bufshim-compare $(DESTDIR)$(BINDIR)/
	install -m 644 $(LIB) $(DESTDIR)$(LIBDIR)/
	install -m 644 doc/bufshim.1 doc/bufshim-compare.1 $(DESTDIR)$(MANDIR)/
	install -m 644 scripts/bash-completion/bufshim $(DESTDIR)$(BASHCOMPDIR)/bufshim
ifeq ($(STRIP_ON_INSTALL),1)
	$(STRIP) $(DESTDIR)$(BINDIR)/bufshim
	$(STRIP) --strip-unneeded $(DESTDIR)$(LIBDIR)/libbufshim.so
endif

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/bufshim $(DESTDIR)$(BINDIR)/bufshim-compare \
		$(DESTDIR)$(LIBDIR)/libbufshim.so \
		$(DESTDIR)$(MANDIR)/bufshim.1 $(DESTDIR)$(MANDIR)/bufshim-compare.1 \
		$(DESTDIR)$(BASHCOMPDIR)/bufshim
	rmdir $(DESTDIR)$(LIBDIR) 2>/dev/null || true

clean:
	rm -rf $(B)
