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
