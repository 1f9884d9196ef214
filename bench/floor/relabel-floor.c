/*
 * The syscall floor of a relabel or restore: what any tool must do per file, and nothing else.
 * Reads a spec on stdin, one block per file:
 *   F uid gid path
 *   S name hexvalue      (set an xattr)
 *   R name               (remove an xattr)
 *   (blank line)
 * and, as diskchain's engine does, journals each batch of files (one line each, fsync) before
 * changing any of them; then per file: open without following links, fstat, the xattr removals,
 * fchown, the xattr sets. Prints the files changed. Usage: relabel-floor JOURNAL < spec
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define BATCH 256
#define MAX_OPS 16
#define MAX_VALUE 4096

struct op {
  int set;
  char name[256];
  unsigned char value[MAX_VALUE];
  size_t len;
};

struct file {
  unsigned uid, gid;
  char path[4096];
  int nops;
  struct op ops[MAX_OPS];
};

static void die(const char *what, const char *path) {
  fprintf(stderr, "relabel-floor: %s %s: %s\n", what, path, strerror(errno));
  exit(1);
}

static size_t unhex(const char *hex, unsigned char *out) {
  size_t n = 0;
  for (; hex[0] && hex[1] && n < MAX_VALUE; hex += 2) {
    unsigned v;
    if (sscanf(hex, "%2x", &v) != 1) break;
    out[n++] = (unsigned char)v;
  }
  return n;
}

/* One block of the spec; 0 at the end of the input. */
static int read_file(struct file *f) {
  static char line[16384];
  int have = 0;
  f->nops = 0;
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\n")] = 0;
    if (!line[0]) {
      if (have) return 1;
      continue;
    }
    if (line[0] == 'F') {
      if (sscanf(line, "F %u %u %4095[^\n]", &f->uid, &f->gid, f->path) != 3) die("bad spec line", line);
      have = 1;
    } else if ((line[0] == 'S' || line[0] == 'R') && have && f->nops < MAX_OPS) {
      struct op *o = &f->ops[f->nops++];
      char hex[2 * MAX_VALUE + 1] = "";
      o->set = line[0] == 'S';
      if (sscanf(line + 2, "%255s %8192s", o->name, hex) < 1) die("bad spec line", line);
      o->len = o->set ? unhex(hex, o->value) : 0;
    }
  }
  return have;
}

static void change(const struct file *f, int fd) {
  struct stat st;
  if (fstat(fd, &st) < 0) die("fstat", f->path);
  for (int i = 0; i < f->nops; i++)
    if (!f->ops[i].set && fremovexattr(fd, f->ops[i].name) < 0 && errno != ENODATA) die("fremovexattr", f->path);
  if ((st.st_uid != f->uid || st.st_gid != f->gid) && fchown(fd, f->uid, f->gid) < 0) die("fchown", f->path);
  for (int i = 0; i < f->nops; i++)
    if (f->ops[i].set && fsetxattr(fd, f->ops[i].name, f->ops[i].value, f->ops[i].len, 0) < 0) die("fsetxattr", f->path);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: relabel-floor JOURNAL < spec\n");
    return 2;
  }
  FILE *journal = fopen(argv[1], "w");
  if (!journal) die("open", argv[1]);
  static struct file batch[BATCH];
  int fds[BATCH];
  long changed = 0;
  for (;;) {
    int n = 0;
    while (n < BATCH && read_file(&batch[n])) n++;
    if (!n) break;
    for (int i = 0; i < n; i++) {
      fds[i] = open(batch[i].path, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
      if (fds[i] < 0) die("open", batch[i].path);
      fprintf(journal, "{\"path\":\"%s\",\"uid\":%u,\"gid\":%u}\n", batch[i].path, batch[i].uid, batch[i].gid);
    }
    if (fflush(journal) || fsync(fileno(journal))) die("fsync", argv[1]);
    for (int i = 0; i < n; i++) {
      change(&batch[i], fds[i]);
      close(fds[i]);
      changed++;
    }
  }
  fprintf(journal, "{\"t\":\"commit\"}\n");
  if (fclose(journal)) die("close", argv[1]);
  printf("%ld\n", changed);
  return 0;
}
