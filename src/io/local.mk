# src/io: the I/O thread (epoll reactor, task mailbox, timers) and the eventfd signaler.
noinst_LTLIBRARIES += src/io/libsinew_io.la
src_io_libsinew_io_la_SOURCES = \
	src/io/clock.h \
	src/io/reactor.c src/io/reactor.h \
	src/io/signaler.c src/io/signaler.h \
	src/io/timers.c src/io/timers.h
src_io_libsinew_io_la_LIBADD = $(PTHREAD_LIBS)
src_libsinew_core_la_LIBADD += src/io/libsinew_io.la

if HAVE_CRITERION
IO_TESTS = tests/io/test_reactor tests/io/test_timers tests/io/test_signaler
check_PROGRAMS += $(IO_TESTS)
TESTS += $(IO_TESTS)
tests_io_test_reactor_SOURCES = tests/io/test_reactor.c tests/io/waiter.h tests/support/deadline.h
tests_io_test_reactor_CFLAGS = $(TEST_CFLAGS)
tests_io_test_reactor_LDADD = src/io/libsinew_io.la $(CRITERION_LIBS) $(PTHREAD_LIBS)
tests_io_test_timers_SOURCES = tests/io/test_timers.c
tests_io_test_timers_CFLAGS = $(TEST_CFLAGS)
tests_io_test_timers_LDADD = src/io/libsinew_io.la $(CRITERION_LIBS) $(PTHREAD_LIBS)
tests_io_test_signaler_SOURCES = tests/io/test_signaler.c
tests_io_test_signaler_CFLAGS = $(TEST_CFLAGS)
tests_io_test_signaler_LDADD = src/io/libsinew_io.la $(CRITERION_LIBS) $(PTHREAD_LIBS)
endif
