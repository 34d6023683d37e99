# tests/spec/router.mk: this area's Criterion programs (included by Makefile.am).
