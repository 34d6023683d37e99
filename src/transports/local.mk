# src/transports: endpoint parsing and the transport table; tcp and ipc socket plumbing
# producing connected non-blocking fds for the ZMTP engine.
noinst_LTLIBRARIES += src/transports/libsinew_transports.la
src_transports_libsinew_transports_la_SOURCES = \
	src/transports/endpoint.c src/transports/endpoint.h \
	src/transports/ipc.c src/transports/ipc.h \
	src/transports/tcp.c src/transports/tcp.h \
	src/transports/transport.h
src_libsinew_core_la_LIBADD += src/transports/libsinew_transports.la

if HAVE_CRITERION
TRANSPORT_TESTS = tests/transport/test_endpoint tests/transport/test_tcp \
	tests/transport/test_ipc tests/transport/test_reactor_net
check_PROGRAMS += $(TRANSPORT_TESTS)
TESTS += $(TRANSPORT_TESTS)
tests_transport_test_endpoint_SOURCES = tests/transport/test_endpoint.c
tests_transport_test_endpoint_CFLAGS = $(TEST_CFLAGS)
tests_transport_test_endpoint_LDADD = src/transports/libsinew_transports.la $(CRITERION_LIBS)
tests_transport_test_tcp_SOURCES = tests/transport/test_tcp.c tests/transport/tnet.h
tests_transport_test_tcp_CFLAGS = $(TEST_CFLAGS)
tests_transport_test_tcp_LDADD = src/transports/libsinew_transports.la $(CRITERION_LIBS)
tests_transport_test_ipc_SOURCES = tests/transport/test_ipc.c tests/transport/tnet.h
tests_transport_test_ipc_CFLAGS = $(TEST_CFLAGS)
tests_transport_test_ipc_LDADD = src/transports/libsinew_transports.la $(CRITERION_LIBS)
tests_transport_test_reactor_net_SOURCES = tests/transport/test_reactor_net.c tests/io/waiter.h tests/support/deadline.h
tests_transport_test_reactor_net_CFLAGS = $(TEST_CFLAGS)
tests_transport_test_reactor_net_LDADD = src/transports/libsinew_transports.la \
	src/io/libsinew_io.la $(CRITERION_LIBS) $(PTHREAD_LIBS)
endif
