/* hello-c: a static musl C program for issue 13 (Linux programs on Ostrog).
 *
 * Built at test time with Debian's `musl-gcc -static` (package musl-tools) and run twice:
 * natively on the host, and on Ostrog through the Linux personality. The two outputs must
 * be the same, so nothing here prints what differs between runs (addresses, times, argv[0]).
 * It exits with status 3, which both runs must report.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int by_value(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    printf("hello-c: hello from a static musl C program\n");
    printf("hello-c: %d argument(s)\n", argc - 1);
    for (int i = 1; i < argc; i++) {
        printf("hello-c: argv[%d] = \"%s\"\n", i, argv[i]);
    }
    const char *greeting = getenv("GREETING");
    printf("hello-c: GREETING = %s\n", greeting ? greeting : "(unset)");

    /* The heap: a few allocations of growing size, filled, sorted and summed. */
    long sum = 0;
    for (int round = 1; round <= 8; round++) {
        size_t n = (size_t)round * 1000;
        int *values = malloc(n * sizeof *values);
        if (!values) {
            printf("hello-c: malloc of %zu ints failed\n", n);
            return 1;
        }
        for (size_t i = 0; i < n; i++) {
            values[i] = (int)((i * 7919u + (size_t)round) % 10007u);
        }
        qsort(values, n, sizeof *values, by_value);
        sum += values[0] + values[n - 1];
        free(values);
    }
    printf("hello-c: sorted 8 arrays, sum of their ends = %ld\n", sum);

    char line[64];
    snprintf(line, sizeof line, "%s-%05d-%x", "fmt", 42, 0xbeef);
    printf("hello-c: snprintf gives %s (%zu bytes)\n", line, strlen(line));
    printf("hello-c: exiting with status 3\n");
    return 3;
}
