# tests/fuzz: libFuzzer targets, built with clang straight from the sources by
# run-fuzz.sh (not by automake: they need -fsanitize=fuzzer). make check runs each for a
# few seconds through check-fuzz.sh (skipped without clang), CI for a minute each.
TESTS += tests/fuzz/check-fuzz.sh
EXTRA_DIST += \
	tests/fuzz/check-fuzz.sh tests/fuzz/run-fuzz.sh tests/fuzz/make-seeds.sh \
	tests/fuzz/fuzz.h tests/fuzz/fuzz_zmtp.c tests/fuzz/fuzz_handshake.c \
	tests/fuzz/fuzz_endpoint.c tests/fuzz/fuzz_curve.c tests/fuzz/fuzz_z85.c \
	tests/fuzz/fuzz_plain.c tests/fuzz/fuzz_cert.c \
	tests/fuzz/fuzz_log_recover.c tests/fuzz/make-log-seeds.sh \
	tests/fuzz/endpoint.dict \
	tests/fuzz/corpus/zmtp tests/fuzz/corpus/handshake tests/fuzz/corpus/endpoint \
	tests/fuzz/corpus/curve tests/fuzz/corpus/z85 tests/fuzz/corpus/log_recover \
	tests/fuzz/corpus/plain tests/fuzz/corpus/cert
