# tests/spec/stream.mk: this area's Criterion programs (included by Makefile.am).
if HAVE_CRITERION
check_PROGRAMS += tests/spec/test_stream
TESTS += tests/spec/test_stream
tests_spec_test_stream_SOURCES = tests/spec/test_stream.c tests/support/net.h tests/support/transports.h
tests_spec_test_stream_CFLAGS = $(TEST_CFLAGS)
tests_spec_test_stream_LDADD = $(TEST_LIBS)
endif
