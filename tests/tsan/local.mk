# tests/tsan: plain-C thread stress (runs in make check, and under TSan in CI).
check_PROGRAMS += tests/tsan/stress_threads
TESTS += tests/tsan/stress_threads
tests_tsan_stress_threads_SOURCES = tests/tsan/stress_threads.c
tests_tsan_stress_threads_LDADD = src/libsinew_core.la $(PTHREAD_LIBS)
