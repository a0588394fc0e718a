/* replay.c - runs a fuzz target over every file of the given directories,
 * without libFuzzer, so any compiler and any sanitizer build can replay the
 * committed corpora.
 *
 * Usage: replay NAME DIR...  Each input runs in a forked child, so a crash
 * fails that input alone. Prints one summary line
 *     NAME: Checks: N, Failures: F, Errors: 0
 * (N inputs, F of them failed) and exits non-zero when F > 0.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || st.st_size < 0) {
        fclose(f);
        return -1;
    }
    size_t len = (size_t)st.st_size;
    uint8_t *buf = malloc(len == 0 ? 1 : len);
    size_t got = buf == NULL ? 0 : fread(buf, 1, len, f);
    fclose(f);
    if (buf == NULL || got != len) {
        free(buf);
        return -1;
    }
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 0;
}

/* Runs one input in a child; true if it passed. */
static int replay_one(const char *path)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return 0;
    if (pid == 0)
        _exit(run_file(path) == 0 ? 0 : 2);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        ;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 1;
    if (WIFSIGNALED(status))
        fprintf(stderr, "FAIL %s: signal %d\n", path, WTERMSIG(status));
    else
        fprintf(stderr, "FAIL %s: exit %d\n", path, WEXITSTATUS(status));
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s NAME DIR...\n", argv[0]);
        return 2;
    }
    unsigned inputs = 0, failures = 0;
    for (int d = 2; d < argc; d++) {
        DIR *dir = opendir(argv[d]);
        if (dir == NULL) {
            fprintf(stderr, "FAIL cannot open %s\n", argv[d]);
            failures++;
            continue;
        }
        for (struct dirent *e; (e = readdir(dir)) != NULL;) {
            if (e->d_name[0] == '.')
                continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[d], e->d_name);
            inputs++;
            failures += !replay_one(path);
        }
        closedir(dir);
    }
    printf("%s: Checks: %u, Failures: %u, Errors: 0\n", argv[1], inputs, failures);
    return failures == 0 && inputs > 0 ? 0 : 1;
}
