# src/zmtp: ZMTP 3.x protocol layer, sans-I/O (greeting, framing, commands, metadata,
# handshake + NULL mechanism). Built as its own convenience library so its unit tests
# link only this code; the core library absorbs it.
noinst_LTLIBRARIES += src/zmtp/libsinew_zmtp.la
src_zmtp_libsinew_zmtp_la_SOURCES = \
	src/zmtp/zmtp.h \
	src/zmtp/greeting.c src/zmtp/greeting.h \
	src/zmtp/codec.c src/zmtp/codec.h \
	src/zmtp/command.c src/zmtp/command.h \
	src/zmtp/metadata.c src/zmtp/metadata.h \
	src/zmtp/mechanism.h src/zmtp/null.c \
	src/zmtp/handshake.c src/zmtp/handshake.h \
	src/zmtp/socktype.c src/zmtp/socktype.h
src_libsinew_core_la_LIBADD += src/zmtp/libsinew_zmtp.la

# Unit tests: link only this library (the rest of the core is written concurrently).
EXTRA_DIST += \
	tests/vectors/null_pair.hex tests/vectors/null_pub.hex tests/vectors/null_sub.hex \
	tests/vectors/null_req.hex tests/vectors/null_rep.hex tests/vectors/null_dealer.hex \
	tests/vectors/null_router.hex tests/vectors/null_pull.hex tests/vectors/null_push.hex \
	tests/vectors/null_xpub.hex tests/vectors/null_xsub.hex \
	tests/vectors/null_dealer_routing_id.hex tests/vectors/null_dealer_connects.hex \
	tests/vectors/multipart_dealer.hex tests/vectors/heartbeat_ping_pong.hex \
	tests/vectors/compat_zmtp20_peer.hex tests/vectors/sub_subscribe_zmtp31.hex \
	tests/vectors/sub_subscribe_zmtp30.hex tests/vectors/sub_subscribe_long_topic_bug.hex \
	tests/vectors/xsub_send_subscribe_zmtp31.hex tests/vectors/pub_filtering.hex \
	tests/vectors/req_envelope.hex tests/vectors/rep_envelope.hex \
	tests/vectors/plain_server_zap_400.hex \
	tests/zmtp/zmtp_test.h

if HAVE_CRITERION
ZMTP_TEST_CFLAGS = $(TEST_CFLAGS) -DSN_VECTORS_DIR=\"$(abs_top_srcdir)/tests/vectors\"
ZMTP_TEST_LIBS = src/zmtp/libsinew_zmtp.la $(CRITERION_LIBS)
ZMTP_TEST_SUPPORT = tests/support/vectors.c tests/support/vectors.h

check_PROGRAMS += tests/zmtp/test_handshake
TESTS += tests/zmtp/test_handshake
tests_zmtp_test_handshake_SOURCES = tests/zmtp/test_handshake.c $(ZMTP_TEST_SUPPORT)
tests_zmtp_test_handshake_CFLAGS = $(ZMTP_TEST_CFLAGS)
tests_zmtp_test_handshake_LDADD = $(ZMTP_TEST_LIBS)

check_PROGRAMS += tests/zmtp/test_codec
TESTS += tests/zmtp/test_codec
tests_zmtp_test_codec_SOURCES = tests/zmtp/test_codec.c $(ZMTP_TEST_SUPPORT)
tests_zmtp_test_codec_CFLAGS = $(ZMTP_TEST_CFLAGS)
tests_zmtp_test_codec_LDADD = $(ZMTP_TEST_LIBS)

check_PROGRAMS += tests/zmtp/test_command
TESTS += tests/zmtp/test_command
tests_zmtp_test_command_SOURCES = tests/zmtp/test_command.c $(ZMTP_TEST_SUPPORT)
tests_zmtp_test_command_CFLAGS = $(ZMTP_TEST_CFLAGS)
tests_zmtp_test_command_LDADD = $(ZMTP_TEST_LIBS)

check_PROGRAMS += tests/zmtp/test_greeting
TESTS += tests/zmtp/test_greeting
tests_zmtp_test_greeting_SOURCES = tests/zmtp/test_greeting.c $(ZMTP_TEST_SUPPORT)
tests_zmtp_test_greeting_CFLAGS = $(ZMTP_TEST_CFLAGS)
tests_zmtp_test_greeting_LDADD = $(ZMTP_TEST_LIBS)
endif

# The engine needs the core (pipes, reactor): its test links the whole core library.
if HAVE_CRITERION
check_PROGRAMS += tests/zmtp/test_engine
TESTS += tests/zmtp/test_engine
tests_zmtp_test_engine_SOURCES = tests/zmtp/test_engine.c
tests_zmtp_test_engine_CFLAGS = $(TEST_CFLAGS)
tests_zmtp_test_engine_LDADD = $(TEST_LIBS)
endif
