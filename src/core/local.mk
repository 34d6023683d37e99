# src/core: context, sockets, messages, pipes, options, polling and the public API edge.
src_libsinew_core_la_SOURCES += \
	src/core/api.c \
	src/core/ctx.c src/core/ctx.h \
	src/core/err.c \
	src/core/inproc.c src/core/inproc.h \
	src/core/mailbox.c src/core/mailbox.h \
	src/core/msg.c src/core/msg.h \
	src/core/msgpool.c src/core/msgpool.h \
	src/core/options.c src/core/options.h \
	src/core/pipe.c src/core/pipe.h \
	src/core/poll.c \
	src/core/proxy.c \
	src/core/queue.c src/core/queue.h \
	src/core/registry.c src/core/registry.h \
	src/core/socket.c src/core/socket.h src/core/spin.h \
	src/core/monitor.c src/core/monitor.h \
	src/core/net.h src/core/session.c src/core/session.h src/core/listener.c \
	src/core/connecter.c src/core/connecter.h src/core/stats.h \
	src/zmtp/engine.c src/zmtp/engine.h src/zmtp/engine_impl.h \
	src/zmtp/wire.c src/zmtp/direct.c
