# tests: sources and tests of this area (included by Makefile.am)
if HAVE_CRITERION
check_PROGRAMS += tests/unit/test_queue tests/unit/test_msg tests/unit/test_options
TESTS += tests/unit/test_queue tests/unit/test_msg tests/unit/test_options
tests_unit_test_queue_SOURCES = tests/unit/test_queue.c
tests_unit_test_queue_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_queue_LDADD = $(TEST_LIBS)
tests_unit_test_msg_SOURCES = tests/unit/test_msg.c
tests_unit_test_msg_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_msg_LDADD = $(TEST_LIBS)
tests_unit_test_options_SOURCES = tests/unit/test_options.c tests/support/net.h
tests_unit_test_options_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_options_LDADD = $(TEST_LIBS)
endif
