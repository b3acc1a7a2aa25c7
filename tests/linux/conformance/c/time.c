/* c-time: clocks and sleeping (clock_gettime, clock_getres, gettimeofday, time, nanosleep,
 * clock_nanosleep). Durations are checked as lower bounds, never exact values. */
#include "conf.h"
#include <sys/time.h>
#include <time.h>

static long long ns_of(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

static long long mono(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return ns_of(t);
}

int main(void) {
    conf_start("c-time");
    struct timespec a, b;
    CHECK_RES("clock_gettime_monotonic", clock_gettime(CLOCK_MONOTONIC, &a), 0);
    CHECK("clock_gettime_nsec_in_range", a.tv_nsec >= 0 && a.tv_nsec < 1000000000, 1);
    int ordered = 1;
    for (int i = 0; i < 1000; i++) {
        clock_gettime(CLOCK_MONOTONIC, &b);
        ordered &= ns_of(b) >= ns_of(a);
        a = b;
    }
    CHECK("clock_gettime_monotonic_non_decreasing", ordered, 1);
    CHECK_RES("clock_gettime_realtime", clock_gettime(CLOCK_REALTIME, &a), 0);
    CHECK_RES("clock_gettime_boottime", clock_gettime(CLOCK_BOOTTIME, &a), 0);
    CHECK_RES("clock_gettime_monotonic_raw", clock_gettime(CLOCK_MONOTONIC_RAW, &a), 0);
    CHECK_ERR("clock_gettime_bad_clock_einval", syscall(SYS_clock_gettime, 77, &a), EINVAL);
    CHECK_ERR("clock_gettime_bad_pointer_efault",
              syscall(SYS_clock_gettime, CLOCK_MONOTONIC, (void *)16), EFAULT);
    CHECK_RES("clock_getres_monotonic", clock_getres(CLOCK_MONOTONIC, &a), 0);
    CHECK("clock_getres_at_most_10ms", a.tv_sec == 0 && a.tv_nsec > 0 && a.tv_nsec <= 10000000, 1);
    CHECK_ERR("clock_getres_bad_clock_einval", clock_getres(77, &a), EINVAL);
    CHECK_RES("clock_getres_null_result", clock_getres(CLOCK_MONOTONIC, NULL), 0);

    struct timeval tv;
    CHECK_RES("gettimeofday", gettimeofday(&tv, NULL), 0);
    CHECK("gettimeofday_usec_in_range", tv.tv_usec >= 0 && tv.tv_usec < 1000000, 1);

    long long t0 = mono();
    struct timespec ten = {0, 10000000};
    CHECK_RES("nanosleep_10ms", nanosleep(&ten, NULL), 0);
    CHECK("nanosleep_10ms_advances_10ms", mono() - t0 >= 10000000, 1);
    struct timespec bad = {0, 1000000000};
    CHECK_ERR("nanosleep_bad_nsec_einval", nanosleep(&bad, NULL), EINVAL);
    struct timespec neg = {-1, 0};
    CHECK_ERR("nanosleep_negative_einval", nanosleep(&neg, NULL), EINVAL);
    CHECK_ERR("nanosleep_bad_pointer_efault", syscall(SYS_nanosleep, (void *)16, NULL), EFAULT);
    struct timespec zero = {0, 0};
    CHECK_RES("nanosleep_zero", nanosleep(&zero, NULL), 0);

    t0 = mono();
    struct timespec twenty = {0, 20000000};
    CHECK("clock_nanosleep_relative",
          clock_nanosleep(CLOCK_MONOTONIC, 0, &twenty, NULL), 0);
    CHECK("clock_nanosleep_relative_advances", mono() - t0 >= 20000000, 1);
    clock_gettime(CLOCK_MONOTONIC, &a);
    a.tv_nsec += 15000000;
    if (a.tv_nsec >= 1000000000) {
        a.tv_nsec -= 1000000000;
        a.tv_sec++;
    }
    CHECK("clock_nanosleep_absolute", clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &a, NULL), 0);
    CHECK("clock_nanosleep_absolute_reaches_deadline", mono() >= ns_of(a), 1);
    CHECK("clock_nanosleep_absolute_past_returns",
          clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &zero, NULL), 0);
    CHECK("clock_nanosleep_bad_clock_einval", clock_nanosleep(77, 0, &ten, NULL), EINVAL);
    CHECK("clock_nanosleep_bad_nsec_einval", clock_nanosleep(CLOCK_MONOTONIC, 0, &bad, NULL),
          EINVAL);
    time_t now = time(NULL);
    CHECK("time_matches_realtime", now >= 0, 1);
    return conf_end();
}
