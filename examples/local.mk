# examples: the README's demo and the newcomer examples (examples/README.md), each run by
# examples/check-examples.sh in make check.
noinst_PROGRAMS += examples/demo examples/reqrep_echo examples/pipeline examples/broker \
	examples/lazy_pirate examples/weather
examples_demo_SOURCES = examples/demo.c
examples_demo_LDADD = src/libsinew.la $(PTHREAD_LIBS)
examples_reqrep_echo_SOURCES = examples/reqrep_echo.c
examples_reqrep_echo_LDADD = src/libsinew.la $(PTHREAD_LIBS)
examples_pipeline_SOURCES = examples/pipeline.c
examples_pipeline_LDADD = src/libsinew.la $(PTHREAD_LIBS)
examples_broker_SOURCES = examples/broker.c
examples_broker_LDADD = src/libsinew.la $(PTHREAD_LIBS)
examples_lazy_pirate_SOURCES = examples/lazy_pirate.c
examples_lazy_pirate_LDADD = src/libsinew.la $(PTHREAD_LIBS)
examples_weather_SOURCES = examples/weather.c
examples_weather_LDADD = src/libsinew.la $(PTHREAD_LIBS)
TESTS += examples/check-examples.sh
EXTRA_DIST += examples/check-examples.sh examples/README.md
