/*
 * retry.c: retry_run, the one retry loop of dip, with exponential backoff and full jitter
 * (the AWS architecture blog's "full jitter": sleep uniform in [0, min(cap, base * 2^n)]),
 * and the small random generator behind the jitter. Waits sleep with
 * dip_sleep_interruptible (clock.c) so a stop request (signal.c) ends them.
 */
#include "core/core.h"

#include <math.h>
#include <time.h>
#include <unistd.h>

uint64_t dip_rng_seed(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t s = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ ((uint64_t)getpid() << 40);
    return s ? s : 0x9E3779B97F4A7C15ull;
}

uint64_t dip_rng_next(uint64_t *state)
{
    /* xorshift64*: fast and good enough for jitter */
    uint64_t x = *state ? *state : 0x9E3779B97F4A7C15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

double retry_delay_s(const RetryPolicy *p, int attempt, uint64_t *rng_state)
{
    if (attempt < 1) attempt = 1;
    double ceiling = p->base_delay_s * ldexp(1.0, attempt > 60 ? 60 : attempt - 1);
    if (p->max_delay_s > 0 && ceiling > p->max_delay_s) ceiling = p->max_delay_s;
    double u = (double)(dip_rng_next(rng_state) >> 11) / 9007199254740992.0; /* [0,1) */
    double d = u * ceiling;
    double floor_s = p->base_delay_s / 10.0;
    return d < floor_s ? floor_s : d;
}

bool retry_run(const RetryPolicy *p, RetryFn fn, void *ctx, const char *what, DipError *err)
{
    uint64_t rng = dip_rng_seed();
    int max_retries = p->max_retries < 0 ? 0 : p->max_retries;
    int total = max_retries + 1;
    for (int attempt = 1;; attempt++) {
        dip_error_clear(err);
        if (fn(ctx, attempt, err)) return true;
        if (err->kind == DIP_ERR_NONE) /* a callee forgot to record why: our bug */
            dip_error_set(err, DIP_ERR_INTERNAL, "failed without a recorded error");
        if (err->kind != DIP_ERR_TRANSIENT) return false;
        if (attempt >= total) {
            /* the cause first, then the verdict: "what: HTTP 503 SlowDown (giving up after
             * 5 attempts)" reads the same in every module's logs */
            char cause[sizeof err->msg];
            dip_strlcpy(cause, err->msg, sizeof cause);
            dip_error_clear(err);
            return dip_error_set(err, DIP_ERR_TRANSIENT, "%s: %s (giving up after %d attempt%s)",
                                 what, cause, total, total == 1 ? "" : "s");
        }
        double d = retry_delay_s(p, attempt, &rng);
        dip_warn("%s: %s; retry %d of %d in %.2fs (%d left after it)", what, err->msg, attempt,
                 max_retries, d, max_retries - attempt);
        if (!dip_sleep_interruptible(d)) {
            dip_error_clear(err);
            return dip_error_set(err, DIP_ERR_INTERRUPTED,
                                 "%s: stopped by signal %d while "
                                 "waiting to retry",
                                 what, dip_stop_signal());
        }
    }
}
