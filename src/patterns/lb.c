/* Round-robin load balancer (see lb.h). A pipe at its high-water mark leaves the active
 * set until its reader reports room (ACTIVATE_WRITE). */
#include "patterns/lb.h"
#include "patterns/pattern.h"

void
sn_lb_init(sn_lb *lb, sn_socket *s, size_t slot)
{
    *lb = (sn_lb){.sock = s};
    sn_pipeset_init(&lb->set, slot);
}

void
sn_lb_fini(sn_lb *lb)
{
    sn_pipeset_fini(&lb->set);
}

int
sn_lb_attach(sn_lb *lb, sn_pipe *p)
{
    return sn_pipeset_add(&lb->set, p, true);
}

void
sn_lb_detach(sn_lb *lb, sn_pipe *p)
{
    if (lb->more_pipe == p) {
        /* Gone mid-message: the message is lost (its remaining parts are discarded as
         * they come). */
        lb->more_pipe = NULL;
        lb->dropping = true;
        sn_socket_count_drop(lb->sock, SN_DROP_CONNECTION);
    }
    sn_pipeset_remove(&lb->set, p);
}

void
sn_lb_writable(sn_lb *lb, sn_pipe *p)
{
    sn_pipeset_activate(&lb->set, p);
}

static sn_pipe *
next_writable(sn_lb *lb)
{
    while (lb->set.active > 0) {
        if (lb->cur >= lb->set.active)
            lb->cur = 0;
        sn_pipe *p = lb->set.pipes[lb->cur];
        if (sn_pipe_check_write(p))
            return p;
        sn_pipeset_deactivate(&lb->set, p);
    }
    return NULL;
}

int
sn_lb_send(sn_lb *lb, sn_msg *msg, sn_pipe **to)
{
    bool more = sn_msg_more(msg);
    if (lb->dropping) {
        /* The rest of a message whose peer left mid-way (counted at the detach). */
        sn_msg_close(msg);
        sn_msg_init(msg);
        lb->dropping = more;
        *to = NULL;
        return 0;
    }
    /* The HWM is checked on the first part only: a started message always completes. */
    sn_pipe *p = lb->more_pipe != NULL ? lb->more_pipe : next_writable(lb);
    if (p == NULL)
        return -EAGAIN;
    int rc = sn_pipe_write(p, msg);
    if (rc < 0)
        return rc;
    *to = p;
    if (more) {
        lb->more_pipe = p;
    } else {
        sn_pipe_flush(p);
        lb->more_pipe = NULL;
        if (sn_pipeset_is_active(&lb->set, p))
            lb->cur = sn_pipeset_pos(&lb->set, p) + 1;
    }
    return 0;
}

bool
sn_lb_has_out(sn_lb *lb)
{
    return lb->more_pipe != NULL || next_writable(lb) != NULL;
}
