# src/log: the durable log engine (issue 4), its tests and its benchmark.
if ENABLE_LOG
include_HEADERS += include/sinew_log.h
noinst_LTLIBRARIES += src/log/libsinew_log.la
src_log_libsinew_log_la_SOURCES = src/log/internal.h src/log/crc32c.c src/log/record.c \
	src/log/io.c src/log/files.c src/log/index.c src/log/segment.c src/log/recover.c \
	src/log/retention.c src/log/offsets.c src/log/log.c
src_log_libsinew_log_la_LIBADD = $(PTHREAD_LIBS)
src_libsinew_core_la_LIBADD += src/log/libsinew_log.la
# Its man pages (doc/sinew_log*.adoc) are listed, shipped and built by doc/local.mk.

if HAVE_CRITERION
LOG_TESTS = tests/log/test_record tests/log/test_roundtrip tests/log/test_damage \
	tests/log/test_crash tests/log/test_concurrency tests/log/test_errors \
	tests/log/test_files tests/log/test_full
check_PROGRAMS += $(LOG_TESTS)
TESTS += $(LOG_TESTS)
LOG_TEST_LIBS = src/log/libsinew_log.la $(CRITERION_LIBS) $(PTHREAD_LIBS)
tests_log_test_record_SOURCES = tests/log/test_record.c tests/log/helpers.h
tests_log_test_record_CFLAGS = $(TEST_CFLAGS)
tests_log_test_record_LDADD = $(LOG_TEST_LIBS)
tests_log_test_roundtrip_SOURCES = tests/log/test_roundtrip.c tests/log/helpers.h
tests_log_test_roundtrip_CFLAGS = $(TEST_CFLAGS)
tests_log_test_roundtrip_LDADD = $(LOG_TEST_LIBS)
tests_log_test_damage_SOURCES = tests/log/test_damage.c tests/log/helpers.h
tests_log_test_damage_CFLAGS = $(TEST_CFLAGS)
tests_log_test_damage_LDADD = $(LOG_TEST_LIBS)
tests_log_test_crash_SOURCES = tests/log/test_crash.c tests/log/helpers.h
tests_log_test_crash_CFLAGS = $(TEST_CFLAGS)
tests_log_test_crash_LDADD = $(LOG_TEST_LIBS)
tests_log_test_concurrency_SOURCES = tests/log/test_concurrency.c tests/log/helpers.h
tests_log_test_concurrency_CFLAGS = $(TEST_CFLAGS)
tests_log_test_concurrency_LDADD = $(LOG_TEST_LIBS)
tests_log_test_errors_SOURCES = tests/log/test_errors.c tests/log/helpers.h
tests_log_test_errors_CFLAGS = $(TEST_CFLAGS)
tests_log_test_errors_LDADD = $(LOG_TEST_LIBS)
tests_log_test_files_SOURCES = tests/log/test_files.c tests/log/helpers.h
tests_log_test_files_CFLAGS = $(TEST_CFLAGS)
tests_log_test_files_LDADD = $(LOG_TEST_LIBS)
tests_log_test_full_SOURCES = tests/log/test_full.c tests/log/helpers.h
tests_log_test_full_CFLAGS = $(TEST_CFLAGS)
tests_log_test_full_LDADD = $(LOG_TEST_LIBS)
endif
# Thread stress for ThreadSanitizer builds, where Criterion cannot run.
check_PROGRAMS += tests/log/tsan_log_stress
tests_log_tsan_log_stress_SOURCES = tests/log/tsan_log_stress.c
tests_log_tsan_log_stress_LDADD = src/log/libsinew_log.la $(PTHREAD_LIBS)

noinst_PROGRAMS += perf/log_bench
perf_log_bench_SOURCES = perf/log_bench.c
perf_log_bench_LDADD = src/log/libsinew_log.la $(PTHREAD_LIBS)
endif
