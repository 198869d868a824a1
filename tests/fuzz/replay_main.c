/*
 * replay_main.c: a plain main() for a libFuzzer target (fuzz/fuzz_<name>.c), so its seed
 * corpus replays in the ordinary and the ASan+UBSan builds without libFuzzer or clang.
 * Every regular file under the given directories is fed once to LLVMFuzzerTestOneInput,
 * in name order. A crash, a sanitizer report or an empty corpus fails the test; the closing
 * line says how many inputs ran.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads a whole file; NULL on failure (reported). */
static uint8_t *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 65536;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t r = fread(buf + len, 1, cap - len, f);
        len += r;
        if (r == 0) break;
    }
    fclose(f);
    *n = len;
    return buf;
}

static int replay_dir(const char *dir, size_t *count)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "replay: %s: cannot open the corpus directory\n", dir);
        return 1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            names = realloc(names, cap * sizeof *names);
            if (!names) return 1;
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_names);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        int pl = snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        struct stat st;
        if (pl > 0 && (size_t)pl < sizeof path && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            size_t len = 0;
            uint8_t *data = read_file(path, &len);
            if (!data && st.st_size > 0) {
                fprintf(stderr, "replay: %s: cannot read\n", path);
                rc = 1;
            } else {
                LLVMFuzzerTestOneInput(data ? data : (const uint8_t *)"", len);
                (*count)++;
            }
            free(data);
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR...\n", argv[0]);
        return 2;
    }
    size_t count = 0;
    int rc = 0;
    for (int i = 1; i < argc; i++)
        rc |= replay_dir(argv[i], &count);
    if (count == 0) {
        fprintf(stderr, "replay: no inputs in the corpus: a fuzz target needs a seed corpus\n");
        return 1;
    }
    printf("%zu passed, %d failed (corpus inputs replayed)\n", count, rc ? 1 : 0);
    return rc;
}
