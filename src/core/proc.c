/*
 * proc.c: facts about this process that dip reports (peak resident memory, a tested
 * figure: DESIGN.md "Bounded memory").
 */
#include "core/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The process's own high-water mark, VmHWM in /proc/self/status. getrusage's ru_maxrss is
 * kept across execve, so a dip started by a large process (a 1.5 GB Python job) would report
 * its parent's peak; VmHWM starts fresh with the new address space. 0 when unreadable. */
uint64_t dip_peak_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    if (!f) return 0;
    char line[256];
    uint64_t kib = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmHWM:", 6) != 0) continue;
        char *end = NULL;
        unsigned long long v = strtoull(line + 6, &end, 10);
        if (end != line + 6) kib = (uint64_t)v;
        break;
    }
    fclose(f);
    return kib * 1024u;
}
