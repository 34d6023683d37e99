# perf: the ZeroMQ-style perf tools (../shared/bench/README.md), linked to the installed
# form of the library (libsinew), as applications would.
noinst_PROGRAMS += perf/inproc_thr perf/inproc_lat
EXTRA_DIST += perf/perf.h
perf_inproc_thr_SOURCES = perf/inproc_thr.c
perf_inproc_thr_LDADD = src/libsinew.la $(PTHREAD_LIBS)
perf_inproc_lat_SOURCES = perf/inproc_lat.c
perf_inproc_lat_LDADD = src/libsinew.la $(PTHREAD_LIBS)
