# perf: the ZeroMQ-style perf tools (../shared/bench/README.md), linked to the installed
# form of the library (libsinew), as applications would.
PERF_TOOLS = perf/inproc_thr perf/inproc_lat perf/local_thr perf/remote_thr \
	perf/local_lat perf/remote_lat
noinst_PROGRAMS += $(PERF_TOOLS)
EXTRA_DIST += perf/perf.h
perf_inproc_thr_LDADD = src/libsinew.la $(PTHREAD_LIBS)
perf_inproc_lat_LDADD = src/libsinew.la $(PTHREAD_LIBS)
perf_local_thr_LDADD = src/libsinew.la
perf_remote_thr_LDADD = src/libsinew.la
perf_local_lat_LDADD = src/libsinew.la
perf_remote_lat_LDADD = src/libsinew.la

# Pattern benchmarks: each source is built twice, on sinew and (with BENCH_LIBZMQ, the
# renames in bench_api.h) on libzmq, when libzmq is there; `make bench` runs both sides
# alternately and prints the ratios (perf/bench.sh, perf/benches.txt).
EXTRA_DIST += perf/bench_api.h perf/bench.sh perf/benches.txt
EXTRA_DIST += perf/pattern_bench.h
PATTERN_BENCHES = perf/pubsub_fanout perf/sub_match
if HAVE_LIBZMQ
PATTERN_BENCHES_ZMQ = perf/pubsub_fanout_zmq perf/sub_match_zmq
endif
# PUB/SUB: fan-out to ten subscribers, and matching against many topics.
noinst_PROGRAMS += perf/pubsub_fanout perf/sub_match
perf_pubsub_fanout_LDADD = src/libsinew.la $(PTHREAD_LIBS)
perf_sub_match_LDADD = src/libsinew.la
if HAVE_LIBZMQ
noinst_PROGRAMS += perf/pubsub_fanout_zmq perf/sub_match_zmq
perf_pubsub_fanout_zmq_SOURCES = perf/pubsub_fanout.c
perf_pubsub_fanout_zmq_CFLAGS = $(AM_CFLAGS) -DBENCH_LIBZMQ $(LIBZMQ_CFLAGS)
perf_pubsub_fanout_zmq_LDADD = $(LIBZMQ_LIBS) $(PTHREAD_LIBS)
perf_sub_match_zmq_SOURCES = perf/sub_match.c
perf_sub_match_zmq_CFLAGS = $(AM_CFLAGS) -DBENCH_LIBZMQ $(LIBZMQ_CFLAGS)
perf_sub_match_zmq_LDADD = $(LIBZMQ_LIBS)
endif
# broker_thr (issue 10): asynchronous requests through a ROUTER-DEALER broker.
PATTERN_BENCHES += perf/broker_thr
noinst_PROGRAMS += perf/broker_thr
perf_broker_thr_SOURCES = perf/broker_thr.c perf/bench_api.h
perf_broker_thr_LDADD = src/libsinew.la $(PTHREAD_LIBS)
if HAVE_LIBZMQ
PATTERN_BENCHES_ZMQ += perf/broker_thr_zmq
noinst_PROGRAMS += perf/broker_thr_zmq
perf_broker_thr_zmq_SOURCES = perf/broker_thr.c perf/bench_api.h
perf_broker_thr_zmq_CFLAGS = $(AM_CFLAGS) -DBENCH_LIBZMQ $(LIBZMQ_CFLAGS)
perf_broker_thr_zmq_LDADD = $(LIBZMQ_LIBS) $(PTHREAD_LIBS)
endif
bench: $(PATTERN_BENCHES) $(PATTERN_BENCHES_ZMQ)
	cd perf && $(abs_top_srcdir)/perf/bench.sh
.PHONY: bench

# STREAM: an echo server on a STREAM socket for a plain TCP client.
PATTERN_BENCHES += perf/bench_stream
noinst_PROGRAMS += perf/bench_stream
perf_bench_stream_LDADD = src/libsinew.la $(PTHREAD_LIBS)
if HAVE_LIBZMQ
PATTERN_BENCHES_ZMQ += perf/bench_stream_zmq
noinst_PROGRAMS += perf/bench_stream_zmq
perf_bench_stream_zmq_SOURCES = perf/bench_stream.c
perf_bench_stream_zmq_CFLAGS = $(AM_CFLAGS) $(LIBZMQ_CFLAGS) -DBENCH_LIBZMQ
perf_bench_stream_zmq_LDADD = $(LIBZMQ_LIBS) $(PTHREAD_LIBS)
endif

# proxy_thr: sinew_proxy between PUSH/PULL pairs.
PATTERN_BENCHES += perf/proxy_thr
noinst_PROGRAMS += perf/proxy_thr
perf_proxy_thr_SOURCES = perf/proxy_thr.c perf/bench_api.h
perf_proxy_thr_LDADD = src/libsinew.la $(PTHREAD_LIBS)
if HAVE_LIBZMQ
PATTERN_BENCHES_ZMQ += perf/proxy_thr_zmq
noinst_PROGRAMS += perf/proxy_thr_zmq
perf_proxy_thr_zmq_SOURCES = perf/proxy_thr.c perf/bench_api.h
perf_proxy_thr_zmq_CFLAGS = $(AM_CFLAGS) -DBENCH_LIBZMQ $(LIBZMQ_CFLAGS)
perf_proxy_thr_zmq_LDADD = $(LIBZMQ_LIBS) $(PTHREAD_LIBS)
endif
