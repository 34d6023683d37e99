# src/security: what guards a connection (ZMTP mechanisms' helpers, keys, Z85).
src_libsinew_core_la_SOURCES += \
	src/security/z85.c \
	src/security/plain.c \
	src/security/zap.c src/security/zap.h src/security/plain.h \
	src/security/auth.c src/security/auth.h \
	src/security/cert.c src/security/cert.h \
	src/security/keys.c src/security/curve.h
if HAVE_LIBSODIUM
src_libsinew_core_la_SOURCES += src/security/curve.c
src_libsinew_core_la_LIBADD += $(SODIUM_LIBS)
AM_CPPFLAGS += $(SODIUM_CFLAGS)
endif
