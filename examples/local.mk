# examples: the README's demo.
noinst_PROGRAMS += examples/demo
examples_demo_SOURCES = examples/demo.c
examples_demo_LDADD = src/libsinew.la $(PTHREAD_LIBS)
