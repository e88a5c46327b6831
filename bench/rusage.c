/*
 * rusage OUT CMD [ARG...]: runs CMD as a child, waits for it, and writes to the file OUT one
 * JSON line: wall seconds, user and system CPU seconds and peak RSS (KiB) of CMD and of every
 * descendant it waited for (wait4(2)). Exits with CMD's status (128 + signal if killed).
 *
 * Why a C program (bench/setup.sh compiles it into the cache): Linux keeps in ru_maxrss the
 * RSS high-water mark of the memory map a process had *before* exec, i.e. of the process
 * that forked it. Started straight from the benchmark's Python (~60 MiB), every client
 * would report at least that much; started from this ~1 MiB process, it reports its own.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double seconds(struct timeval t) { return (double)t.tv_sec + (double)t.tv_usec / 1e6; }

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: rusage OUT CMD [ARG...]\n");
        return 2;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) {
        perror("rusage: fork");
        return 2;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* killed with this wrapper (a timeout) */
        execvp(argv[2], argv + 2);
        perror(argv[2]);
        _exit(127);
    }
    int status;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0) {
        perror("rusage: wait4");
        return 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    FILE *out = fopen(argv[1], "w");
    if (out == NULL) {
        perror(argv[1]);
        return 2;
    }
    fprintf(out, "{\"wall\": %.6f, \"user\": %.6f, \"sys\": %.6f, \"maxrss_kib\": %ld}\n", wall,
            seconds(ru.ru_utime), seconds(ru.ru_stime), ru.ru_maxrss);
    fclose(out);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}
