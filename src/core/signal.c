/*
 * signal.c: stop requests. SIGINT and SIGTERM only set a flag; long loops, the retry
 * waits and the HTTP progress callback poll it, so dip stops between units of work and
 * never leaves half a batch behind (DESIGN.md: safe to kill at any instant).
 */
#include "core/core.h"

#include <signal.h>

static volatile sig_atomic_t g_stop_signal = 0;

static void on_stop_signal(int sig)
{
    g_stop_signal = sig;
}

void dip_install_signal_handlers(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: blocking calls return EINTR so loops notice */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

bool dip_stop_requested(void)
{
    return g_stop_signal != 0;
}

int dip_stop_signal(void)
{
    return (int)g_stop_signal;
}

void dip_request_stop(int sig)
{
    g_stop_signal = sig ? sig : SIGTERM;
}
