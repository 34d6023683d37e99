# src/core: context, sockets, messages, pipes, options, polling and the public API edge.
src_libsinew_core_la_SOURCES += \
	src/core/err.c
