# tests/tsan: plain-C thread, direct-input and connection-churn stress (run in make check
# with their default counts, and under TSan in CI).
check_PROGRAMS += tests/tsan/stress_threads
TESTS += tests/tsan/stress_threads
tests_tsan_stress_threads_SOURCES = tests/tsan/stress_threads.c tests/tsan/check.h
tests_tsan_stress_threads_LDADD = src/libsinew_core.la $(PTHREAD_LIBS)
check_PROGRAMS += tests/tsan/stress_direct
TESTS += tests/tsan/stress_direct
tests_tsan_stress_direct_SOURCES = tests/tsan/stress_direct.c tests/tsan/check.h
tests_tsan_stress_direct_LDADD = src/libsinew_core.la $(PTHREAD_LIBS)
check_PROGRAMS += tests/tsan/stress_churn
TESTS += tests/tsan/stress_churn
tests_tsan_stress_churn_SOURCES = tests/tsan/stress_churn.c tests/tsan/check.h \
	tests/support/zmtp_peer.h
tests_tsan_stress_churn_LDADD = src/libsinew_core.la $(PTHREAD_LIBS)
check_PROGRAMS += tests/tsan/stress_routing
TESTS += tests/tsan/stress_routing
tests_tsan_stress_routing_SOURCES = tests/tsan/stress_routing.c tests/tsan/check.h
tests_tsan_stress_routing_LDADD = src/libsinew_core.la $(PTHREAD_LIBS)
check_PROGRAMS += tests/tsan/stress_pubsub
TESTS += tests/tsan/stress_pubsub
tests_tsan_stress_pubsub_SOURCES = tests/tsan/stress_pubsub.c tests/tsan/check.h
tests_tsan_stress_pubsub_LDADD = src/libsinew_core.la $(PTHREAD_LIBS)
