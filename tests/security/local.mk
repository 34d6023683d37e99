# tests/security: Z85, mechanisms, ZAP, keys (included by Makefile.am).
if HAVE_CRITERION
check_PROGRAMS += tests/security/test_z85
TESTS += tests/security/test_z85
tests_security_test_z85_SOURCES = tests/security/test_z85.c
tests_security_test_z85_CFLAGS = $(TEST_CFLAGS) -DSN_SHARED_VECTORS=\"$(abs_top_srcdir)/tests/vectors\"
tests_security_test_z85_LDADD = $(TEST_LIBS)
endif
EXTRA_DIST += tests/vectors/README.md tests/vectors/z85_vectors.txt tests/vectors/probes.json \
	tests/vectors/curve_client.hex tests/vectors/curve_deterministic.hex \
	tests/vectors/curve_keypair.txt tests/vectors/curve_server.hex \
	tests/vectors/curve_server_zap_400.hex tests/vectors/curve_sub_commands.hex \
	tests/vectors/null_zap.hex tests/vectors/plain_client.hex tests/vectors/plain_server.hex \
	tests/vectors/plain_server_zap_300.hex tests/vectors/router_identity.hex \
	tests/vectors/xpub_subscription_messages.hex
if HAVE_CRITERION
if HAVE_LIBZMQ
check_PROGRAMS += tests/security/test_plain
TESTS += tests/security/test_plain
tests_security_test_plain_SOURCES = tests/security/test_plain.c tests/security/zap_handler.h \
	tests/interop/interop.h
tests_security_test_plain_CFLAGS = $(TEST_CFLAGS) $(LIBZMQ_CFLAGS) -I$(top_srcdir)/tests
tests_security_test_plain_LDADD = $(TEST_LIBS) $(LIBZMQ_LIBS)
endif
endif
if HAVE_CRITERION
check_PROGRAMS += tests/security/test_plain_wire
TESTS += tests/security/test_plain_wire
tests_security_test_plain_wire_SOURCES = tests/security/test_plain_wire.c \
	tests/support/vectors.c tests/support/vectors.h
tests_security_test_plain_wire_CFLAGS = $(TEST_CFLAGS) -DSN_VECTORS_DIR=\"$(abs_top_srcdir)/tests/vectors\"
tests_security_test_plain_wire_LDADD = $(TEST_LIBS)
endif
if HAVE_CRITERION
if HAVE_LIBSODIUM
if HAVE_LIBZMQ
check_PROGRAMS += tests/security/test_curve_interop
TESTS += tests/security/test_curve_interop
tests_security_test_curve_interop_SOURCES = tests/security/test_curve_interop.c \
	tests/interop/interop.h
tests_security_test_curve_interop_CFLAGS = $(TEST_CFLAGS) $(LIBZMQ_CFLAGS)
tests_security_test_curve_interop_LDADD = $(TEST_LIBS) $(LIBZMQ_LIBS)
check_PROGRAMS += tests/security/test_curve_zap
TESTS += tests/security/test_curve_zap
tests_security_test_curve_zap_SOURCES = tests/security/test_curve_zap.c \
	tests/security/zap_handler.h tests/interop/interop.h
tests_security_test_curve_zap_CFLAGS = $(TEST_CFLAGS) $(LIBZMQ_CFLAGS)
tests_security_test_curve_zap_LDADD = $(TEST_LIBS) $(LIBZMQ_LIBS)
endif
endif
endif
if HAVE_CRITERION
if HAVE_LIBSODIUM
check_PROGRAMS += tests/security/test_curve
TESTS += tests/security/test_curve
tests_security_test_curve_SOURCES = tests/security/test_curve.c \
	tests/support/vectors.c tests/support/vectors.h
tests_security_test_curve_CFLAGS = $(TEST_CFLAGS) $(SODIUM_CFLAGS) \
	-DSN_VECTORS_DIR=\"$(abs_top_srcdir)/tests/vectors\"
tests_security_test_curve_LDADD = $(TEST_LIBS) $(SODIUM_LIBS)
endif
endif
if HAVE_CRITERION
if HAVE_LIBSODIUM
check_PROGRAMS += tests/security/test_curve_raw
TESTS += tests/security/test_curve_raw
tests_security_test_curve_raw_SOURCES = tests/security/test_curve_raw.c \
	tests/support/transports.h tests/support/net.h tests/support/zmtp_peer.h
tests_security_test_curve_raw_CFLAGS = $(TEST_CFLAGS) $(SODIUM_CFLAGS)
tests_security_test_curve_raw_LDADD = $(TEST_LIBS) $(SODIUM_LIBS)
endif
endif
# CURVE under threads, plain C (also run under TSan by hand: Criterion cannot be).
if HAVE_LIBSODIUM
check_PROGRAMS += tests/security/stress_curve
TESTS += tests/security/stress_curve
tests_security_stress_curve_SOURCES = tests/security/stress_curve.c tests/tsan/check.h
tests_security_stress_curve_CFLAGS = $(AM_CFLAGS) $(SODIUM_CFLAGS)
tests_security_stress_curve_LDADD = src/libsinew_core.la $(SODIUM_LIBS) $(PTHREAD_LIBS)
endif
if HAVE_CRITERION
if !HAVE_LIBSODIUM
check_PROGRAMS += tests/security/test_curve_absent
TESTS += tests/security/test_curve_absent
tests_security_test_curve_absent_SOURCES = tests/security/test_curve_absent.c
tests_security_test_curve_absent_CFLAGS = $(TEST_CFLAGS)
tests_security_test_curve_absent_LDADD = $(TEST_LIBS)
endif
endif
if HAVE_CRITERION
check_PROGRAMS += tests/security/test_auth
TESTS += tests/security/test_auth
tests_security_test_auth_SOURCES = tests/security/test_auth.c \
	tests/support/transports.h tests/support/net.h
tests_security_test_auth_CFLAGS = $(TEST_CFLAGS)
tests_security_test_auth_LDADD = $(TEST_LIBS)
endif
