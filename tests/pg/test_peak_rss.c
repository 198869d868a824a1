/* Unit test of dip_peak_rss_bytes (issue 12 item 7): a process that touched 256 MiB execs
 * itself; the new image must report its own peak, not the parent's. getrusage's ru_maxrss
 * survives execve, so the old implementation reported >= 256 MiB here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"

enum { PARENT_BYTES = 256u << 20, CHILD_LIMIT = 96u << 20 };

static int run_child(void)
{
    int passed = 0, failed = 0;
    uint64_t peak = dip_peak_rss_bytes();
    if (peak > 0 && peak < CHILD_LIMIT) {
        passed++;
    } else {
        fprintf(stderr, "FAIL: peak after exec is %llu bytes (parent touched %u MiB)\n",
                (unsigned long long)peak, (unsigned)(PARENT_BYTES >> 20));
        failed++;
    }
    /* The mark follows this process's own growth: touch 128 MiB and it must rise past it. */
    size_t n = 128u << 20;
    /* volatile: the compiler may not drop the writes to a block it then frees. */
    volatile unsigned char *p = malloc(n);
    if (p) {
        for (size_t i = 0; i < n; i += 4096)
            p[i] = 1;
        uint64_t after = dip_peak_rss_bytes();
        if (after >= n) {
            passed++;
        } else {
            fprintf(stderr, "FAIL: peak %llu after touching %zu bytes\n", (unsigned long long)after,
                    n);
            failed++;
        }
        free((void *)p);
    } else {
        failed++;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "child") == 0) return run_child();
    volatile unsigned char *big = malloc(PARENT_BYTES);
    if (!big) {
        fprintf(stderr, "cannot allocate the parent's block\n");
        return 1;
    }
    for (size_t i = 0; i < PARENT_BYTES; i += 4096)
        big[i] = 7;
    char *args[] = {argv[0], "child", NULL};
    execv("/proc/self/exe", args);
    perror("execv");
    return 1;
}
