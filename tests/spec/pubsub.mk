# tests/spec/pubsub.mk: this area's Criterion programs (included by Makefile.am).
