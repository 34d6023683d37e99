# tests/spec/broker.mk: this area's Criterion programs (included by Makefile.am).
