# tests: sources and tests of this area (included by Makefile.am)
if HAVE_CRITERION
check_PROGRAMS += tests/unit/test_queue tests/unit/test_msg tests/unit/test_options tests/unit/test_msgpool \
	tests/unit/test_spin
TESTS += tests/unit/test_queue tests/unit/test_msg tests/unit/test_options tests/unit/test_msgpool \
	tests/unit/test_spin
tests_unit_test_queue_SOURCES = tests/unit/test_queue.c
tests_unit_test_queue_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_queue_LDADD = $(TEST_LIBS)
tests_unit_test_msg_SOURCES = tests/unit/test_msg.c
tests_unit_test_msg_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_msg_LDADD = $(TEST_LIBS)
tests_unit_test_msgpool_SOURCES = tests/unit/test_msgpool.c
tests_unit_test_msgpool_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_msgpool_LDADD = $(TEST_LIBS)
tests_unit_test_spin_SOURCES = tests/unit/test_spin.c
tests_unit_test_spin_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_spin_LDADD = $(TEST_LIBS)
tests_unit_test_options_SOURCES = tests/unit/test_options.c tests/support/net.h
tests_unit_test_options_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_options_LDADD = $(TEST_LIBS)
SPEC_TESTS = tests/spec/test_core tests/spec/test_pipeline tests/spec/test_pair tests/spec/test_reqrep tests/spec/test_lifecycle tests/spec/test_poll tests/spec/test_bad_input tests/spec/test_threads tests/spec/test_io_sched tests/spec/test_hwm tests/spec/test_noalloc
check_PROGRAMS += $(SPEC_TESTS)
TESTS += $(SPEC_TESTS)
tests_spec_test_core_SOURCES = tests/spec/test_core.c tests/support/net.h
tests_spec_test_core_CFLAGS = $(TEST_CFLAGS)
tests_spec_test_core_LDADD = $(TEST_LIBS)
tests_spec_test_noalloc_SOURCES = tests/spec/test_noalloc.c tests/support/net.h
tests_spec_test_noalloc_CFLAGS = $(TEST_CFLAGS)
tests_spec_test_noalloc_LDADD = $(TEST_LIBS)
tests_spec_test_noalloc_LDFLAGS = -Wl,--wrap=malloc
tests_spec_test_pipeline_SOURCES = tests/spec/test_pipeline.c tests/support/net.h tests/support/transports.h
tests_spec_test_pipeline_CFLAGS = $(TEST_CFLAGS)
tests_spec_test_pipeline_LDADD = $(TEST_LIBS)
tests_spec_test_pair_SOURCES = tests/spec/test_pair.c tests/support/net.h tests/support/transports.h
tests_spec_test_pair_CFLAGS = $(TEST_CFLAGS)
tests_spec_test_pair_LDADD = $(TEST_LIBS)
tests_spec_test_reqrep_SOURCES = tests/spec/test_reqrep.c tests/spec/routing.h tests/support/net.h tests/support/transports.h
tests_spec_test_reqrep_CFLAGS = $(TEST_CFLAGS)
tests_spec_test_reqrep_LDADD = $(TEST_LIBS)
tests_spec_test_lifecycle_SOURCES = tests/spec/test_lifecycle.c tests/support/net.h tests/support/deadline.h tests/support/transports.h
tests_spec_test_lifecycle_CFLAGS = $(TEST_CFLAGS)
tests_spec_test_lifecycle_LDADD = $(TEST_LIBS)
tests_spec_test_poll_SOURCES = tests/spec/test_poll.c tests/support/net.h tests/support/transports.h
tests_spec_test_poll_CFLAGS = $(TEST_CFLAGS)
tests_spec_test_poll_LDADD = $(TEST_LIBS)
tests_spec_test_bad_input_SOURCES = tests/spec/test_bad_input.c tests/support/net.h
tests_spec_test_bad_input_CFLAGS = $(TEST_CFLAGS)
tests_spec_test_bad_input_LDADD = $(TEST_LIBS)
tests_spec_test_threads_SOURCES = tests/spec/test_threads.c tests/support/net.h tests/support/transports.h
tests_spec_test_threads_CFLAGS = $(TEST_CFLAGS)
tests_spec_test_threads_LDADD = $(TEST_LIBS)
tests_spec_test_io_sched_SOURCES = tests/spec/test_io_sched.c tests/support/net.h tests/support/io_threads.h
tests_spec_test_io_sched_CFLAGS = $(TEST_CFLAGS)
tests_spec_test_io_sched_LDADD = $(TEST_LIBS)
tests_spec_test_hwm_SOURCES = tests/spec/test_hwm.c tests/support/net.h tests/support/deadline.h \
	tests/support/thread_state.h
tests_spec_test_hwm_CFLAGS = $(TEST_CFLAGS)
tests_spec_test_hwm_LDADD = $(TEST_LIBS)
endif
if HAVE_CRITERION
check_PROGRAMS += tests/transport/test_sigpipe
TESTS += tests/transport/test_sigpipe
tests_transport_test_sigpipe_SOURCES = tests/transport/test_sigpipe.c tests/support/net.h \
	tests/support/zmtp_peer.h tests/support/deadline.h
tests_transport_test_sigpipe_CFLAGS = $(TEST_CFLAGS)
tests_transport_test_sigpipe_LDADD = $(TEST_LIBS)
endif
