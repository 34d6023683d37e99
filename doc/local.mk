# doc: man pages in asciidoc (doc/NAME.SECTION.adoc) and design notes.
# The sources are always shipped. The man pages are built with asciidoctor into the
# build tree and installed only when configure found it; configure.ac needs:
#   AC_CHECK_PROGS([ASCIIDOCTOR], [asciidoctor])
#   AM_CONDITIONAL([HAVE_ASCIIDOCTOR], [test -n "$ASCIIDOCTOR"])
DOC_MAN3_SRC = \
	doc/sinew_auth_allow.3.adoc \
	doc/sinew_auth_curve_any.3.adoc \
	doc/sinew_auth_curve_dir.3.adoc \
	doc/sinew_auth_deny.3.adoc \
	doc/sinew_auth_destroy.3.adoc \
	doc/sinew_auth_new.3.adoc \
	doc/sinew_auth_plain_file.3.adoc \
	doc/sinew_bind.3.adoc \
	doc/sinew_cert_load.3.adoc \
	doc/sinew_cert_save.3.adoc \
	doc/sinew_close.3.adoc \
	doc/sinew_connect.3.adoc \
	doc/sinew_ctx_get.3.adoc \
	doc/sinew_ctx_new.3.adoc \
	doc/sinew_ctx_set.3.adoc \
	doc/sinew_ctx_shutdown.3.adoc \
	doc/sinew_ctx_term.3.adoc \
	doc/sinew_curve_keypair.3.adoc \
	doc/sinew_curve_public.3.adoc \
	doc/sinew_disconnect.3.adoc \
	doc/sinew_errno.3.adoc \
	doc/sinew_getsockopt.3.adoc \
	doc/sinew_getsockopt_int.3.adoc \
	doc/sinew_has.3.adoc \
	doc/sinew_msg_close.3.adoc \
	doc/sinew_msg_copy.3.adoc \
	doc/sinew_msg_data.3.adoc \
	doc/sinew_msg_get.3.adoc \
	doc/sinew_msg_gets.3.adoc \
	doc/sinew_msg_init.3.adoc \
	doc/sinew_msg_init_data.3.adoc \
	doc/sinew_msg_init_size.3.adoc \
	doc/sinew_msg_more.3.adoc \
	doc/sinew_msg_move.3.adoc \
	doc/sinew_msg_recv.3.adoc \
	doc/sinew_msg_send.3.adoc \
	doc/sinew_msg_set.3.adoc \
	doc/sinew_msg_size.3.adoc \
	doc/sinew_poll.3.adoc \
	doc/sinew_proxy.3.adoc \
	doc/sinew_proxy_steerable.3.adoc \
	doc/sinew_recv.3.adoc \
	doc/sinew_send.3.adoc \
	doc/sinew_send_const.3.adoc \
	doc/sinew_setsockopt.3.adoc \
	doc/sinew_setsockopt_int.3.adoc \
	doc/sinew_socket.3.adoc \
	doc/sinew_socket_monitor.3.adoc \
	doc/sinew_socket_peers.3.adoc \
	doc/sinew_socket_stats.3.adoc \
	doc/sinew_strerror.3.adoc \
	doc/sinew_unbind.3.adoc \
	doc/sinew_wait_peers.3.adoc \
	doc/sinew_version.3.adoc \
	doc/sinew_z85_decode.3.adoc \
	doc/sinew_z85_encode.3.adoc
DOC_MAN7_SRC = \
	doc/sinew.7.adoc \
	doc/sinew_counters.7.adoc \
	doc/sinew_dealer.7.adoc \
	doc/sinew_curve.7.adoc \
	doc/sinew_inproc.7.adoc \
	doc/sinew_ipc.7.adoc \
	doc/sinew_pair.7.adoc \
	doc/sinew_pub.7.adoc \
	doc/sinew_plain.7.adoc \
	doc/sinew_pull.7.adoc \
	doc/sinew_push.7.adoc \
	doc/sinew_rep.7.adoc \
	doc/sinew_req.7.adoc \
	doc/sinew_router.7.adoc \
	doc/sinew_security.7.adoc \
	doc/sinew_stream.7.adoc \
	doc/sinew_sub.7.adoc \
	doc/sinew_tcp.7.adoc \
	doc/sinew_xpub.7.adoc \
	doc/sinew_xsub.7.adoc \
	doc/sinew_zap.7.adoc \
	doc/zmtp.7.adoc
# The durable log engine's pages: always shipped and checked, installed only when the
# log is built (--disable-log installs no sinew_log.h either).
DOC_LOG_MAN3_SRC = \
	doc/sinew_log_append.3.adoc \
	doc/sinew_log_batch_free.3.adoc \
	doc/sinew_log_batch_get.3.adoc \
	doc/sinew_log_batch_new.3.adoc \
	doc/sinew_log_batch_next.3.adoc \
	doc/sinew_log_close.3.adoc \
	doc/sinew_log_commit.3.adoc \
	doc/sinew_log_earliest.3.adoc \
	doc/sinew_log_fetch.3.adoc \
	doc/sinew_log_next.3.adoc \
	doc/sinew_log_open.3.adoc \
	doc/sinew_log_options_init.3.adoc \
	doc/sinew_log_read.3.adoc \
	doc/sinew_log_retain.3.adoc \
	doc/sinew_log_seek_time.3.adoc \
	doc/sinew_log_set_max_files.3.adoc \
	doc/sinew_log_stat_get.3.adoc \
	doc/sinew_log_strerror.3.adoc \
	doc/sinew_log_sync.3.adoc \
	doc/sinew_log_wait.3.adoc \
	doc/sinew_log_wait_durable.3.adoc
DOC_LOG_MAN7_SRC = doc/sinew_log.7.adoc
EXTRA_DIST += $(DOC_MAN3_SRC) $(DOC_MAN7_SRC) $(DOC_LOG_MAN3_SRC) $(DOC_LOG_MAN7_SRC) \
	doc/design.adoc

if ENABLE_LOG
DOC_LOG_MANS = $(DOC_LOG_MAN3_SRC:.3.adoc=.3) $(DOC_LOG_MAN7_SRC:.7.adoc=.7)
else
DOC_LOG_MANS =
endif
DOC_MANS = $(DOC_MAN3_SRC:.3.adoc=.3) $(DOC_MAN7_SRC:.7.adoc=.7) $(DOC_LOG_MANS)
DOC_ASCIIDOCTOR_FLAGS = -b manpage -a mansource='sinew $(PACKAGE_VERSION)' \
	-a manmanual='sinew Manual'

if HAVE_ASCIIDOCTOR
man_MANS = $(DOC_MANS)
CLEANFILES += $(DOC_MANS)

doc/%.3: $(srcdir)/doc/%.3.adoc
	@$(MKDIR_P) doc
	$(AM_V_GEN)$(ASCIIDOCTOR) $(DOC_ASCIIDOCTOR_FLAGS) -o $@ $<

doc/%.7: $(srcdir)/doc/%.7.adoc
	@$(MKDIR_P) doc
	$(AM_V_GEN)$(ASCIIDOCTOR) $(DOC_ASCIIDOCTOR_FLAGS) -o $@ $<

# Renders every page and fails on any asciidoctor warning.
doc-check: $(DOC_MAN3_SRC:%=$(srcdir)/%) $(DOC_MAN7_SRC:%=$(srcdir)/%) \
		$(DOC_LOG_MAN3_SRC:%=$(srcdir)/%) $(DOC_LOG_MAN7_SRC:%=$(srcdir)/%)
	@$(MKDIR_P) doc/.check
	@for f in $^; do \
	  $(ASCIIDOCTOR) $(DOC_ASCIIDOCTOR_FLAGS) --failure-level=WARN \
	    -o doc/.check/out $$f || exit 1; \
	done; rm -rf doc/.check; echo "doc-check: all pages render cleanly"
.PHONY: doc-check
endif
