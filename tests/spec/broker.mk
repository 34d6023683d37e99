# tests/spec/broker.mk: this area's Criterion programs (included by Makefile.am).
if HAVE_CRITERION
BROKER_TESTS = tests/spec/test_counters tests/spec/test_joiner tests/spec/test_proxy
check_PROGRAMS += $(BROKER_TESTS)
TESTS += $(BROKER_TESTS)
tests_spec_test_counters_SOURCES = tests/spec/test_counters.c tests/support/net.h tests/support/transports.h
tests_spec_test_counters_CFLAGS = $(TEST_CFLAGS)
tests_spec_test_counters_LDADD = $(TEST_LIBS)
tests_spec_test_joiner_SOURCES = tests/spec/test_joiner.c tests/support/net.h tests/support/transports.h
tests_spec_test_joiner_CFLAGS = $(TEST_CFLAGS)
tests_spec_test_joiner_LDADD = $(TEST_LIBS)
tests_spec_test_proxy_SOURCES = tests/spec/test_proxy.c tests/support/net.h tests/support/transports.h
tests_spec_test_proxy_CFLAGS = $(TEST_CFLAGS)
tests_spec_test_proxy_LDADD = $(TEST_LIBS)
endif
if HAVE_CRITERION
if HAVE_LIBZMQ
check_PROGRAMS += tests/spec/test_proxy_interop
TESTS += tests/spec/test_proxy_interop
tests_spec_test_proxy_interop_SOURCES = tests/spec/test_proxy_interop.c tests/interop/interop.h
tests_spec_test_proxy_interop_CFLAGS = $(TEST_CFLAGS) $(LIBZMQ_CFLAGS)
tests_spec_test_proxy_interop_LDADD = $(TEST_LIBS) $(LIBZMQ_LIBS)
endif
endif
