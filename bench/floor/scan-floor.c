/*
 * The syscall floor of a folder scan, for bench/scan.ts: per file only what a scan cannot do
 * without (open O_RDONLY|O_NOFOLLOW|O_NONBLOCK, pread of the header, fstat, the xattrs diskchain
 * reads: security.selinux and trusted.libvirt.security.*), single-threaded, no parsing.
 * Usage: scan-floor LIST   (LIST: one path a line, the files the scan lists)
 * Prints {"files":N,"ms":T} with T the time of the per-file loop alone.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define HEAD 4096
#define PREFIX "trusted.libvirt.security."

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: scan-floor LIST\n");
    return 2;
  }
  FILE *list = fopen(argv[1], "r");
  if (!list) {
    perror(argv[1]);
    return 1;
  }
  /* The whole list is read before timing: the scan's listing is not part of the floor. */
  size_t cap = 1024, n = 0;
  char **paths = malloc(cap * sizeof *paths);
  char *line = NULL;
  size_t len = 0;
  ssize_t got;
  while ((got = getline(&line, &len, list)) > 0) {
    if (line[got - 1] == '\n') line[got - 1] = 0;
    if (n == cap) paths = realloc(paths, (cap *= 2) * sizeof *paths);
    paths[n++] = strdup(line);
  }
  fclose(list);

  static char head[HEAD], names[65536], value[4096];
  unsigned long sum = 0, opened = 0;
  double t0 = now_ms();
  for (size_t i = 0; i < n; i++) {
    int fd = open(paths[i], O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) continue;
    opened++;
    struct stat st;
    if (fstat(fd, &st) == 0) sum += st.st_size;
    ssize_t r = pread(fd, head, HEAD, 0);
    if (r > 0) sum += (unsigned char)head[0];
    ssize_t l = flistxattr(fd, names, sizeof names);
    for (ssize_t at = 0; l > 0 && at < l; at += strlen(names + at) + 1) {
      const char *name = names + at;
      if (strcmp(name, "security.selinux") == 0 || strncmp(name, PREFIX, sizeof PREFIX - 1) == 0) {
        ssize_t v = fgetxattr(fd, name, value, sizeof value);
        if (v > 0) sum += v;
      }
    }
    close(fd);
  }
  double ms = now_ms() - t0;
  printf("{\"files\":%lu,\"ms\":%.3f,\"check\":%lu}\n", opened, ms, sum);
  return 0;
}
