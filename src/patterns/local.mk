# src/patterns: socket types (RFC 28-31) over the shared lb/fq helpers.
src_libsinew_core_la_SOURCES += \
	src/patterns/pattern.h src/patterns/patterns.c \
	src/patterns/pipeset.c src/patterns/pipeset.h \
	src/patterns/lb.c src/patterns/lb.h \
	src/patterns/fq.c src/patterns/fq.h \
	src/patterns/pair.c \
	src/patterns/push.c src/patterns/pull.c \
	src/patterns/req.c src/patterns/rep.c \
	src/patterns/probe.h src/patterns/optbool.h src/patterns/dealer.c \
	src/patterns/idmap.c src/patterns/idmap.h src/patterns/router.c \
	src/patterns/dist.c src/patterns/dist.h \
	src/patterns/subtrie.c src/patterns/subtrie.h \
	src/patterns/xpub.c src/patterns/xpub.h src/patterns/pub.c \
	src/patterns/xsub.c src/patterns/xsub.h src/patterns/sub.c
# STREAM: its pattern, and the raw engine its sessions run instead of ZMTP.
src_libsinew_core_la_SOURCES += src/patterns/stream.c src/zmtp/raw.c src/zmtp/raw.h
