# tests/spec/stream.mk: this area's Criterion programs (included by Makefile.am).
