# tests/spec/pubsub.mk: this area's Criterion programs (included by Makefile.am).
if HAVE_CRITERION
PUBSUB_TESTS = tests/spec/test_pubsub tests/spec/test_xpubsub tests/unit/test_subtrie
check_PROGRAMS += $(PUBSUB_TESTS)
TESTS += $(PUBSUB_TESTS)
tests_spec_test_pubsub_SOURCES = tests/spec/test_pubsub.c tests/spec/pubsub.h \
	tests/support/net.h tests/support/transports.h
tests_spec_test_pubsub_CFLAGS = $(TEST_CFLAGS)
tests_spec_test_pubsub_LDADD = $(TEST_LIBS)
tests_spec_test_xpubsub_SOURCES = tests/spec/test_xpubsub.c tests/spec/pubsub.h \
	tests/support/net.h tests/support/transports.h
tests_spec_test_xpubsub_CFLAGS = $(TEST_CFLAGS)
tests_spec_test_xpubsub_LDADD = $(TEST_LIBS)
tests_unit_test_subtrie_SOURCES = tests/unit/test_subtrie.c
tests_unit_test_subtrie_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_subtrie_LDADD = $(TEST_LIBS)
endif
