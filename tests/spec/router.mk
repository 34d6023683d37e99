# tests/spec/router.mk: this area's Criterion programs (included by Makefile.am).
if HAVE_CRITERION
ROUTER_TESTS = tests/spec/test_router tests/spec/test_dealer
check_PROGRAMS += $(ROUTER_TESTS)
TESTS += $(ROUTER_TESTS)
tests_spec_test_router_SOURCES = tests/spec/test_router.c tests/spec/routing.h tests/support/net.h \
	tests/support/transports.h
tests_spec_test_router_CFLAGS = $(TEST_CFLAGS)
tests_spec_test_router_LDADD = $(TEST_LIBS)
tests_spec_test_dealer_SOURCES = tests/spec/test_dealer.c tests/spec/routing.h tests/support/net.h \
	tests/support/transports.h
tests_spec_test_dealer_CFLAGS = $(TEST_CFLAGS)
tests_spec_test_dealer_LDADD = $(TEST_LIBS)
endif
