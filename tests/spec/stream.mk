# tests/spec/stream.mk: this area's Criterion programs (included by Makefile.am).
if HAVE_CRITERION
check_PROGRAMS += tests/spec/test_stream
TESTS += tests/spec/test_stream
tests_spec_test_stream_SOURCES = tests/spec/test_stream.c tests/support/net.h tests/support/transports.h
tests_spec_test_stream_CFLAGS = $(TEST_CFLAGS)
tests_spec_test_stream_LDADD = $(TEST_LIBS)
endif

# STREAM under threads and connection churn, plain C so CI can run it under TSan.
check_PROGRAMS += tests/tsan/stress_stream
TESTS += tests/tsan/stress_stream
tests_tsan_stress_stream_SOURCES = tests/tsan/stress_stream.c tests/tsan/check.h
tests_tsan_stress_stream_LDADD = src/libsinew_core.la $(PTHREAD_LIBS)
