/* stdin-c: reads standard input with fgets and scanf, as a musl C program, and prints what
 * it read; compared with the same program on the host fed the same input (a pipe there, the
 * serial console on Ostrog, where Ctrl-D stands for the pipe's end). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
    char line[256];
    printf("stdin-c: what is your name?\n");
    fflush(stdout);
    if (!fgets(line, sizeof line, stdin)) {
        printf("stdin-c: no name\n");
        return 1;
    }
    line[strcspn(line, "\n")] = 0;
    printf("stdin-c: hello, %s (%zu bytes)\n", line, strlen(line));
    printf("stdin-c: three numbers?\n");
    fflush(stdout);
    int a = 0, b = 0, c = 0;
    int n = scanf("%d %d %d", &a, &b, &c);
    printf("stdin-c: scanf read %d numbers: sum %d, product %d\n", n, a + b + c, a * b * c);
    printf("stdin-c: more lines, then Ctrl-D\n");
    fflush(stdout);
    int lines = 0;
    size_t bytes = 0;
    while (fgets(line, sizeof line, stdin)) {
        lines++;
        bytes += strlen(line);
        line[strcspn(line, "\n")] = 0;
        printf("stdin-c: line %d: [%s]\n", lines, line);
    }
    printf("stdin-c: %d lines, %zu bytes, then end of file (feof %d, ferror %d)\n", lines, bytes,
           feof(stdin) != 0, ferror(stdin) != 0);
    /* End of file is not sticky on a terminal, nor on a pipe's end: read once more. */
    ssize_t r = read(0, line, sizeof line);
    printf("stdin-c: read after the end: %zd\n", r);
    return 0;
}
