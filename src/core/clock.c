/*
 * clock.c: clocks (monotonic seconds for durations, wall-clock microseconds for
 * timestamps) and the sleep that a stop request cuts short.
 */
#include "core/core.h"

#include <time.h>

bool dip_sleep_interruptible(double seconds)
{
    double end = dip_now_s() + seconds;
    while (!dip_stop_requested()) {
        double left = end - dip_now_s();
        if (left <= 0) return true;
        if (left > 0.1) left = 0.1;
        struct timespec ts = {(time_t)left, (long)((left - (double)(time_t)left) * 1e9)};
        nanosleep(&ts, NULL);
    }
    return false;
}

double dip_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t dip_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
