# src/security: what guards a connection (ZMTP mechanisms' helpers, keys, Z85).
src_libsinew_core_la_SOURCES += \
	src/security/z85.c \
	src/security/plain.c \
	src/security/zap.c
