# tests/interop: sinew against real libzmq (and raw ZMTP peers) over tcp and ipc.
if HAVE_CRITERION
if HAVE_LIBZMQ
INTEROP_TESTS = tests/interop/test_interop_data tests/interop/test_interop_robust tests/interop/test_interop_net tests/interop/test_interop_direct \
	tests/interop/test_interop_router
check_PROGRAMS += $(INTEROP_TESTS)
TESTS += $(INTEROP_TESTS)
tests_interop_test_interop_data_SOURCES = tests/interop/test_interop_data.c tests/interop/interop.h
tests_interop_test_interop_data_CFLAGS = $(TEST_CFLAGS) $(LIBZMQ_CFLAGS)
tests_interop_test_interop_data_LDADD = $(TEST_LIBS) $(LIBZMQ_LIBS)
tests_interop_test_interop_robust_SOURCES = tests/interop/test_interop_robust.c tests/interop/interop.h \
	tests/support/zmtp_peer.h tests/support/thread_state.h
tests_interop_test_interop_robust_CFLAGS = $(TEST_CFLAGS) $(LIBZMQ_CFLAGS)
tests_interop_test_interop_robust_LDADD = $(TEST_LIBS) $(LIBZMQ_LIBS)
tests_interop_test_interop_net_SOURCES = tests/interop/test_interop_net.c tests/interop/interop.h
tests_interop_test_interop_net_CFLAGS = $(TEST_CFLAGS) $(LIBZMQ_CFLAGS)
tests_interop_test_interop_net_LDADD = $(TEST_LIBS) $(LIBZMQ_LIBS)
tests_interop_test_interop_direct_SOURCES = tests/interop/test_interop_direct.c tests/interop/interop.h \
	tests/support/io_threads.h tests/support/deadline.h
tests_interop_test_interop_direct_CFLAGS = $(TEST_CFLAGS) $(LIBZMQ_CFLAGS)
tests_interop_test_interop_direct_LDADD = $(TEST_LIBS) $(LIBZMQ_LIBS)
tests_interop_test_interop_router_SOURCES = tests/interop/test_interop_router.c tests/interop/interop.h
tests_interop_test_interop_router_CFLAGS = $(TEST_CFLAGS) $(LIBZMQ_CFLAGS)
tests_interop_test_interop_router_LDADD = $(TEST_LIBS) $(LIBZMQ_LIBS)
check_PROGRAMS += tests/interop/test_interop_stream
TESTS += tests/interop/test_interop_stream
tests_interop_test_interop_stream_SOURCES = tests/interop/test_interop_stream.c tests/interop/interop.h
tests_interop_test_interop_stream_CFLAGS = $(TEST_CFLAGS) $(LIBZMQ_CFLAGS)
tests_interop_test_interop_stream_LDADD = $(TEST_LIBS) $(LIBZMQ_LIBS)
check_PROGRAMS += tests/interop/test_interop_pubsub
TESTS += tests/interop/test_interop_pubsub
tests_interop_test_interop_pubsub_SOURCES = tests/interop/test_interop_pubsub.c tests/interop/interop.h
tests_interop_test_interop_pubsub_CFLAGS = $(TEST_CFLAGS) $(LIBZMQ_CFLAGS)
tests_interop_test_interop_pubsub_LDADD = $(TEST_LIBS) $(LIBZMQ_LIBS)
endif
endif
