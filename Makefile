# lpvm - top-level build.
#   make          build/liblpvm.so (libLLVM inside, hidden) and build/lpvm
#   make demo     build and show what lpvm does (the README's first command)
#   make golden   regenerate golden files (review with git diff)
#   make test     build and run the Criterion suite (and the CPU-side PTX checks)
#   make gpu      build the plain C GPU runner (run it on the GPU machine)
#   make fuzz     build and run the parser/checker fuzzer (clang, libFuzzer)
#   make clean
# Sources are found by wildcard: a new .c file in a module joins the build.

CC        ?= cc
CUDA_HOME ?= /usr/local/cuda
LLVM_CONFIG ?= $(firstword $(wildcard /usr/lib/llvm-2[0-9]/bin/llvm-config /usr/lib/llvm-19/bin/llvm-config) llvm-config-19)
FLEX      ?= flex
BISON     ?= bison
B         := build
O         := .obj

# Every make invocation first makes sure the Debian packages are present.
DEPS_OK := $(shell tools/install-deps.sh --quiet >&2 && echo ok)
ifneq ($(DEPS_OK),ok)
$(error tools/install-deps.sh failed: see the message above)
endif

LLVM_INC  := $(shell $(LLVM_CONFIG) --includedir)
LLVM_LIB  := $(shell $(LLVM_CONFIG) --libdir)
LLVM_VER  := $(shell $(LLVM_CONFIG) --version | cut -d. -f1)
LLVM_COMPONENTS := nvptxcodegen nvptxdesc nvptxinfo core target analysis bitwriter transformutils passes
LLVM_STATIC := $(shell $(LLVM_CONFIG) --link-static --libs $(LLVM_COMPONENTS))

WARN   := -Wall -Wextra
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=gnu11 $(CFLAGS) $(WARN) -fPIC -fvisibility=hidden -ffunction-sections -fdata-sections \
              -I. -Iinclude -I$(O)/gen -isystem $(LLVM_INC) -DLPVM_CUDA_HOME='"$(CUDA_HOME)"' \
              -DLPVM_LLVM_VERSION=$(LLVM_VER) -MMD -MP

MODULES := layout vm lang codegen runtime stdlib
SRCS    := $(foreach m,$(MODULES),$(wildcard $(m)/*.c))
LEXERS  := $(wildcard lang/*.l)
PARSERS := $(wildcard lang/*.y)
GEN_C   := $(PARSERS:%.y=$(O)/gen/%.tab.c) $(LEXERS:%.l=$(O)/gen/%.lex.c)
GEN_H   := $(PARSERS:%.y=$(O)/gen/%.tab.h)
OBJS    := $(SRCS:%.c=$(O)/obj/%.o) $(GEN_C:$(O)/gen/%.c=$(O)/obj/gen/%.o)
STDLIB_LPK := $(wildcard stdlib/*.lpk)

TOOL_SRCS := $(wildcard tools/*.c)
TOOL_LIB_SRCS := $(filter-out tools/lpvm.c,$(TOOL_SRCS))
TEST_SRCS := $(wildcard tests/*.c)
GPU_SRCS  := $(wildcard tests/gpu/*.c)

.PHONY: all test gpu clean fuzz fuzz-smoke test-sanitize demo golden samples
.DEFAULT_GOAL := all
all: $(B)/liblpvm.so $(B)/lpvm $(B)/samples/jit

# ---- generated parser and lexer
$(O)/gen/%.tab.c $(O)/gen/%.tab.h: %.y
	@mkdir -p $(dir $@)
	$(BISON) -Wall -Werror --defines=$(O)/gen/$*.tab.h -o $(O)/gen/$*.tab.c $<
$(O)/gen/%.lex.c: %.l $(GEN_H)
	@mkdir -p $(dir $@)
	$(FLEX) -o $@ $<
$(O)/obj/gen/%.o: $(O)/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Wno-sign-compare -Wno-unused-function -c -o $@ $<

# ---- library objects
$(O)/obj/%.o: %.c | $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(O)/liblpvm.a: $(OBJS)
	@rm -f $@
	ar rcs $@ $^

# The shared library carries libLLVM statically; only lpvm_* is exported.
$(B)/liblpvm.so: $(OBJS) tools/liblpvm.map
	@mkdir -p $(dir $@)
	$(CXX) -shared -o $@ $(OBJS) -Wl,--version-script=tools/liblpvm.map -Wl,--gc-sections \
	  -Wl,--exclude-libs,ALL -L$(LLVM_LIB) -Wl,--start-group $(LLVM_STATIC) -Wl,--end-group \
	  -Wl,-Bstatic -lz -lzstd -Wl,-Bdynamic -Wl,--as-needed -ldl -lpthread -lm -static-libstdc++ -static-libgcc -Wl,-z,defs
	@strip --strip-unneeded $@

# ---- the command line: links liblpvm.so, finds it next to itself
$(B)/lpvm: $(TOOL_SRCS:%.c=$(O)/obj/%.o) $(B)/liblpvm.so
	$(CC) -o $@ $(filter %.o,$^) -L$(B) -llpvm -Wl,-rpath,'$$ORIGIN'

# ---- samples: host programs on the public API only, linked to liblpvm.so
$(B)/samples/jit: samples/jit/jit.c include/lpvm.h $(B)/liblpvm.so
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(CFLAGS) $(WARN) -Iinclude -o $@ $< -L$(B) -llpvm -Wl,-rpath,'$$ORIGIN/..' -lm
samples: $(B)/samples/jit

# ---- tests: internal symbols from the static archive, LLVM from its shared library
$(B)/tests/lpvm-tests: $(TEST_SRCS:%.c=$(O)/obj/%.o) $(TOOL_LIB_SRCS:%.c=$(O)/obj/%.o) $(O)/liblpvm.a
	@mkdir -p $(dir $@)
	$(CXX) $(LDFLAGS_EXTRA) -o $@ $(filter %.o,$^) $(O)/liblpvm.a -L$(LLVM_LIB) -lLLVM-$(LLVM_VER) -Wl,-rpath,$(LLVM_LIB) \
	  -lcriterion -ldl -lm

test: all $(B)/tests/lpvm-tests
	LPVM_ROOT=$(CURDIR) LPVM_BUILD=$(CURDIR)/$(B) $(B)/tests/lpvm-tests --jobs 2

# ---- golden files (diagnostics, TIR): regenerate, then review the diff
golden: $(B)/tests/lpvm-tests
	LPVM_ROOT=$(CURDIR) LPVM_REGEN=1 $(B)/tests/lpvm-tests --filter 'lang_golden/*'
	LPVM_ROOT=$(CURDIR) LPVM_REGEN=1 $(B)/tests/lpvm-tests --filter 'tir/*'
	git diff --stat -- tests/

# ---- the demo the README shows first
demo: all
	$(B)/lpvm dtypes
	@echo
	$(B)/lpvm layout "local(2,1) * spatial(8,4) * local(1,2)"
	@echo
	$(B)/lpvm check samples/kernels/gemv_u3.lpk
	$(B)/lpvm run samples/kernels/gemv_u3.lpk --spec wt=u3,group=128 --arg x=random:1:1024 \
	  --arg w=random:2:64x384 --arg scale=random:3:64x8 --arg y=zeros:64 --show y

# ---- GPU runner: plain C, public API only, carried to the GPU machine with build/
$(B)/lpvm-gpu-tests: $(GPU_SRCS:%.c=$(O)/obj/%.o) $(B)/liblpvm.so
	$(CC) -o $@ $(filter %.o,$^) -L$(B) -llpvm -Wl,-rpath,'$$ORIGIN' -lm
gpu: $(B)/lpvm-gpu-tests

# ---- benchmarks (bench/README.md): plain C, public API only, carried with build/
BENCH_PROGS := $(filter-out common,$(patsubst bench/%.c,%,$(wildcard bench/*.c)))
$(B)/bench/%: bench/%.c bench/common.c bench/common.h include/lpvm.h $(B)/liblpvm.so
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(CFLAGS) $(WARN) -I. -Iinclude -o $@ bench/$*.c bench/common.c -L$(B) -llpvm -Wl,-rpath,'$$ORIGIN/..' -ldl -lm
bench: $(BENCH_PROGS:%=$(B)/bench/%)
all: bench
.PHONY: bench

# ---- the whole suite under AddressSanitizer + UndefinedBehaviorSanitizer
SAN := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
test-sanitize:
	$(MAKE) B=$(O)/san O=$(O)/san CFLAGS="$(SAN)" LDFLAGS_EXTRA="$(SAN)" $(O)/san/tests/lpvm-tests
	ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	  UBSAN_OPTIONS=print_stacktrace=1 LPVM_ROOT=$(CURDIR) LPVM_BUILD=$(CURDIR)/$(B) \
	  $(O)/san/tests/lpvm-tests --jobs 2

# ---- fuzzing the parser and checker (clang + libFuzzer, ASan, UBSan)
FUZZ_SECONDS ?= 600
FUZZ_CORPUS_OUT ?= tests/fuzz/work
FUZZ_FLAGS := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
FUZZ_OBJS = $(filter $(O)/fuzz/obj/layout/% $(O)/fuzz/obj/vm/% $(O)/fuzz/obj/lang/% $(O)/fuzz/obj/gen/%,\
              $(OBJS:$(O)/%=$(O)/fuzz/%))
$(O)/fuzz/lpvm-fuzz-lang: tests/fuzz/fuzz_lang.c
	$(MAKE) CC=clang B=$(O)/fuzz O=$(O)/fuzz CFLAGS="$(FUZZ_FLAGS)" $(FUZZ_OBJS)
	clang $(subst fuzzer-no-link,fuzzer,$(FUZZ_FLAGS)) -I. -Iinclude -I$(O)/fuzz/gen -o $@ $< $(FUZZ_OBJS) -lm
fuzz: $(O)/fuzz/lpvm-fuzz-lang
	@mkdir -p $(FUZZ_CORPUS_OUT) tests/fuzz/crashes
	$< -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
	  -artifact_prefix=tests/fuzz/crashes/ -dict=tests/fuzz/lang.dict $(FUZZ_CORPUS_OUT) tests/fuzz/corpus
fuzz-smoke:
	$(MAKE) fuzz FUZZ_SECONDS=60 FUZZ_CORPUS_OUT=$(O)/fuzz/smoke-work

clean:
	rm -rf $(B) $(O)

-include $(OBJS:.o=.d) $(TEST_SRCS:%.c=$(O)/obj/%.d) $(TOOL_SRCS:%.c=$(O)/obj/%.d)
