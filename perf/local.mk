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
PATTERN_BENCHES = perf/proxy_thr
if HAVE_LIBZMQ
PATTERN_BENCHES_ZMQ = perf/proxy_thr_zmq
endif
bench: $(PATTERN_BENCHES) $(PATTERN_BENCHES_ZMQ)
	cd perf && $(abs_top_srcdir)/perf/bench.sh
.PHONY: bench
noinst_PROGRAMS += $(PATTERN_BENCHES) $(PATTERN_BENCHES_ZMQ)
perf_proxy_thr_SOURCES = perf/proxy_thr.c
perf_proxy_thr_LDADD = src/libsinew.la $(PTHREAD_LIBS)
perf_proxy_thr_zmq_SOURCES = perf/proxy_thr.c
perf_proxy_thr_zmq_CFLAGS = $(AM_CFLAGS) -DBENCH_LIBZMQ $(LIBZMQ_CFLAGS)
perf_proxy_thr_zmq_LDADD = $(LIBZMQ_LIBS) $(PTHREAD_LIBS)
