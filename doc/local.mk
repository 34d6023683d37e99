# doc: man pages (asciidoc sources) and design notes. doc/local.mk.next has the rules
# that also build and install the man pages once configure checks for asciidoctor.
EXTRA_DIST += \
	doc/sinew_bind.3.adoc \
	doc/sinew_close.3.adoc \
	doc/sinew_connect.3.adoc \
	doc/sinew_ctx_get.3.adoc \
	doc/sinew_ctx_new.3.adoc \
	doc/sinew_ctx_set.3.adoc \
	doc/sinew_ctx_shutdown.3.adoc \
	doc/sinew_ctx_term.3.adoc \
	doc/sinew_disconnect.3.adoc \
	doc/sinew_errno.3.adoc \
	doc/sinew_getsockopt.3.adoc \
	doc/sinew_getsockopt_int.3.adoc \
	doc/sinew_msg_close.3.adoc \
	doc/sinew_msg_copy.3.adoc \
	doc/sinew_msg_data.3.adoc \
	doc/sinew_msg_get.3.adoc \
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
	doc/sinew_recv.3.adoc \
	doc/sinew_send.3.adoc \
	doc/sinew_send_const.3.adoc \
	doc/sinew_setsockopt.3.adoc \
	doc/sinew_setsockopt_int.3.adoc \
	doc/sinew_socket.3.adoc \
	doc/sinew_strerror.3.adoc \
	doc/sinew_unbind.3.adoc \
	doc/sinew_version.3.adoc \
	doc/sinew.7.adoc \
	doc/sinew_inproc.7.adoc \
	doc/sinew_pair.7.adoc \
	doc/sinew_pull.7.adoc \
	doc/sinew_push.7.adoc \
	doc/sinew_rep.7.adoc \
	doc/sinew_req.7.adoc \
	doc/design.adoc \
	doc/local.mk.next
