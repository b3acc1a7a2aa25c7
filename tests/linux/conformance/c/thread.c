/* c-thread: threads and futexes (clone through pthread_create, set_tid_address and the
 * child-tid clearing pthread_join waits on, futex WAIT/WAKE/WAIT_BITSET/REQUEUE, tgkill,
 * thread-local storage). */
#define _GNU_SOURCE
#include "conf.h"
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

/* Linux's futex operations (linux/futex.h, which musl-gcc does not ship). */
#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129
#define FUTEX_CMP_REQUEUE_PRIVATE 132
#define FUTEX_WAIT_BITSET_PRIVATE 137
#define FUTEX_BITSET_MATCH_ANY 0xffffffffu

static long futex(void *addr, int op, unsigned val, const struct timespec *t, void *addr2,
                  unsigned val3) {
    return syscall(SYS_futex, addr, op, val, t, addr2, val3);
}

static __thread int tls_value = 5;
static atomic_uint word;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;

struct info {
    long tid;
    int tls_seen;
};

static void *child(void *arg) {
    struct info *in = arg;
    in->tid = syscall(SYS_gettid);
    in->tls_seen = tls_value;
    tls_value = 99;
    return (void *)(intptr_t)42;
}

static void *adder(void *arg) {
    (void)arg;
    for (int i = 0; i < 2000; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

static void *waker(void *arg) {
    (void)arg;
    struct timespec t = {0, 20000000};
    nanosleep(&t, NULL);
    atomic_store(&word, 1);
    futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    return NULL;
}

int main(void) {
    conf_start("c-thread");
    pthread_t t;
    struct info in = {0, 0};
    void *ret = NULL;
    CHECK("pthread_create", pthread_create(&t, NULL, child, &in), 0);
    CHECK("pthread_join", pthread_join(t, &ret), 0);
    CHECK("pthread_join_returns_value", (intptr_t)ret, 42);
    CHECK("thread_tid_differs_from_pid", in.tid > 0 && in.tid != getpid(), 1);
    CHECK("thread_tls_initial_value", in.tls_seen, 5);
    CHECK("thread_tls_is_per_thread", tls_value, 5);

    pthread_t many[4];
    int made = 0;
    for (int i = 0; i < 4; i++) {
        made += pthread_create(&many[i], NULL, adder, NULL) == 0;
    }
    for (int i = 0; i < made; i++) {
        pthread_join(many[i], NULL);
    }
    CHECK("four_threads_created", made, 4);
    CHECK("mutex_counts_every_increment", counter, 8000);

    unsigned v = 7;
    CHECK_ERR("futex_wait_wrong_value_eagain", futex(&v, FUTEX_WAIT_PRIVATE, 8, NULL, NULL, 0),
              EAGAIN);
    struct timespec tmo = {0, 20000000};
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    CHECK_ERR("futex_wait_timeout_etimedout", futex(&v, FUTEX_WAIT_PRIVATE, 7, &tmo, NULL, 0),
              ETIMEDOUT);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long long waited = (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
    CHECK("futex_wait_timeout_waits", waited >= 20000000, 1);
    CHECK_RES("futex_wake_nobody", futex(&v, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0), 0);
    CHECK_ERR("futex_wait_misaligned_einval",
              futex((char *)&v + 1, FUTEX_WAIT_PRIVATE, 7, &tmo, NULL, 0), EINVAL);
    CHECK_ERR("futex_wait_bad_address_efault",
              futex((void *)4096, FUTEX_WAIT_PRIVATE, 7, &tmo, NULL, 0), EFAULT);
    CHECK_ERR("futex_unknown_op_enosys", futex(&v, 99, 0, NULL, NULL, 0), ENOSYS);
    CHECK_ERR("futex_wait_bitset_zero_mask_einval",
              futex(&v, FUTEX_WAIT_BITSET_PRIVATE, 7, NULL, NULL, 0), EINVAL);
    clock_gettime(CLOCK_MONOTONIC, &a);
    a.tv_nsec += 10000000;
    if (a.tv_nsec >= 1000000000) {
        a.tv_nsec -= 1000000000;
        a.tv_sec++;
    }
    CHECK_ERR("futex_wait_bitset_absolute_timeout",
              futex(&v, FUTEX_WAIT_BITSET_PRIVATE, 7, &a, NULL, FUTEX_BITSET_MATCH_ANY),
              ETIMEDOUT);
    struct timespec badt = {0, 1000000000};
    CHECK_ERR("futex_wait_bad_timeout_einval",
              futex(&v, FUTEX_WAIT_PRIVATE, 7, &badt, NULL, 0), EINVAL);
    unsigned w2 = 0;
    CHECK_ERR("futex_cmp_requeue_wrong_value_eagain",
              futex(&v, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)(uintptr_t)INT_MAX, &w2, 8), EAGAIN);

    atomic_store(&word, 0);
    CHECK("futex_woken_thread_created", pthread_create(&t, NULL, waker, NULL), 0);
    long r = 0;
    while (atomic_load(&word) == 0 && (r == 0 || r == -EAGAIN || r == -EINTR)) {
        r = outcome(futex(&word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0));
    }
    CHECK("futex_wait_woken_by_other_thread", atomic_load(&word), 1);
    pthread_join(t, NULL);

    CHECK_RES("tgkill_signal_zero_self", syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), 0),
              0);
    CHECK_ERR("tgkill_bad_signal_einval",
              syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), 1000), EINVAL);
    return conf_end();
}
