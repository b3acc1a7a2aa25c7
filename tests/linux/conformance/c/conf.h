/* The conformance checks' common part: each case prints one line,
 *
 *     PROGRAM: ok NAME
 *     PROGRAM: FAIL NAME: got G expected E
 *
 * and the program ends with `PROGRAM: done N cases, F failed` and exit status 0. The same
 * executable runs on the Linux host (natively or under qemu-aarch64) and on Ostrog; the
 * test compares the lines. Nothing printed may differ between two correct runs (no
 * addresses, times or ids), so a case prints values only when it fails.
 */
#ifndef CONF_H
#define CONF_H

#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

static const char *conf_program;
static int conf_cases, conf_failed;

static void conf_start(const char *program) {
    conf_program = program;
}

/* Prints one line with a single write(2): stdio's line buffering may hand a line to the
 * kernel in two pieces (writev), between which another program's output could land. */
static void conf_line(const char *fmt, const char *name, long got, long expected) {
    char line[256];
    int n = snprintf(line, sizeof line, fmt, conf_program, name, got, expected);
    if (n > (int)sizeof line - 1) {
        n = sizeof line - 1;
        line[n - 1] = '\n';
    }
    fflush(stdout);
    if (n > 0 && write(1, line, n) != n) {
        conf_failed++;
    }
}

/* A case whose outcome is a number: the result, or the result and errno folded as
 * `-errno` by CHECK_ERR. */
static void check(const char *name, long got, long expected) {
    conf_cases++;
    if (got == expected) {
        conf_line("%s: ok %s\n", name, got, expected);
    } else {
        conf_failed++;
        conf_line("%s: FAIL %s: got %ld expected %ld\n", name, got, expected);
    }
}

/* The outcome of a libc call that returns -1 and sets errno on failure: the result when
 * it succeeds, `-errno` when it fails. */
static long outcome(long result) {
    return result == -1 ? -(long)errno : result;
}

#define CHECK(name, got, expected) check(name, (long)(got), (long)(expected))
/* `call` must fail with errno `e`. */
#define CHECK_ERR(name, call, e) check(name, outcome((long)(call)), -(long)(e))
/* `call` must succeed with a result (or errno) that is `expected`. */
#define CHECK_RES(name, call, expected) check(name, outcome((long)(call)), (long)(expected))

static int conf_end(void) {
    char line[128];
    int n = snprintf(line, sizeof line, "%s: done %d cases, %d failed\n", conf_program, conf_cases,
                     conf_failed);
    fflush(stdout);
    return write(1, line, n) == n ? 0 : 1;
}

#endif
