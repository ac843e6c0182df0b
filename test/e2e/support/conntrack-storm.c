// Load for the conntrack storm test and benchmark: many short TCP connections,
// faster than Node could open them. Built by the test into a temporary dir.
//   conntrack-storm server PORT               accept and close, forever
//   conntrack-storm client HOST PORT SECONDS INFLIGHT [PORTS_FILE]
//       connect / close (graceful FIN) as fast as possible with INFLIGHT
//       connections outstanding; prints {"connections":n,"failed":n,"seconds":s}
//       and, given PORTS_FILE, writes there one "port count" line per local
//       port its connections used (so a test can tell a connection counted
//       twice from one counted once that reused a port)
//   conntrack-storm udp HOST SECONDS MAX
//       one datagram per new (source port, destination port) pair, i.e. one new
//       conntrack entry each, up to MAX; prints {"datagrams":n,"seconds":s}
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int server(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = INADDR_ANY};
  if (bind(fd, (struct sockaddr*)&sa, sizeof(sa)) < 0 || listen(fd, 4096) < 0) { perror("listen"); return 1; }
  printf("{\"listening\":true}\n");
  fflush(stdout);
  // Close only after the client did, so the client holds TIME_WAIT and never
  // reuses a 4-tuple whose conntrack entry still lives (which would replace it).
  int ep = epoll_create1(0);
  struct epoll_event lev = {.events = EPOLLIN, .data.fd = fd};
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &lev);
  struct epoll_event evs[256];
  char buf[512];
  for (;;) {
    int n = epoll_wait(ep, evs, 256, -1);
    for (int i = 0; i < n; i++) {
      int s = evs[i].data.fd;
      if (s == fd) {
        int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK);
        if (c < 0) continue;
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = c};
        epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
        continue;
      }
      ssize_t r = read(s, buf, sizeof(buf));
      if (r == 0 || (r < 0 && errno != EAGAIN)) {
        epoll_ctl(ep, EPOLL_CTL_DEL, s, NULL);
        close(s);
      }
    }
  }
}

static unsigned port_uses[65536];

static int client(const char* host, int port, double seconds, int inflight, const char* ports_file) {
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, host, &sa.sin_addr);
  int ep = epoll_create1(0);
  long connections = 0, failed = 0;
  int open_now = 0;
  double start = now(), until = start + seconds;
  struct epoll_event evs[256];
  for (;;) {
    double t = now();
    while (t < until && open_now < inflight) {
      int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      if (fd < 0) break;
      int r = connect(fd, (struct sockaddr*)&sa, sizeof(sa));
      if (r < 0 && errno != EINPROGRESS) { failed++; close(fd); break; }
      struct epoll_event ev = {.events = EPOLLOUT, .data.fd = fd};
      epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
      open_now++;
    }
    if (open_now == 0 && now() >= until) break;
    int n = epoll_wait(ep, evs, 256, 100);
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      int err = 0;
      socklen_t l = sizeof(err);
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l);
      if (err == 0) {
        connections++;
        struct sockaddr_in me;
        socklen_t ml = sizeof(me);
        if (getsockname(fd, (struct sockaddr*)&me, &ml) == 0) port_uses[ntohs(me.sin_port)]++;
      } else {
        failed++;
      }
      epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
      close(fd);
      open_now--;
    }
  }
  double took = now() - start;
  if (ports_file) {
    FILE* f = fopen(ports_file, "w");
    if (!f) { perror(ports_file); return 1; }
    for (int p = 0; p < 65536; p++)
      if (port_uses[p]) fprintf(f, "%d %u\n", p, port_uses[p]);
    fclose(f);
  }
  printf("{\"connections\":%ld,\"failed\":%ld,\"seconds\":%.3f}\n", connections, failed, took);
  return 0;
}

static int udp(const char* host, double seconds, long max) {
  enum { SOCKS = 16 };
  int fds[SOCKS];
  for (int i = 0; i < SOCKS; i++) {
    fds[i] = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in me = {.sin_family = AF_INET, .sin_port = htons(20000 + i)};
    if (bind(fds[i], (struct sockaddr*)&me, sizeof(me)) < 0) { perror("bind"); return 1; }
  }
  struct sockaddr_in sa = {.sin_family = AF_INET};
  inet_pton(AF_INET, host, &sa.sin_addr);
  long sent = 0;
  double start = now(), until = start + seconds;
  char byte = 'x';
  for (int port = 1; port < 65536 && sent < max; port++) {
    sa.sin_port = htons(port);
    for (int i = 0; i < SOCKS && sent < max; i++)
      if (sendto(fds[i], &byte, 1, 0, (struct sockaddr*)&sa, sizeof(sa)) == 1) sent++;
    if ((port & 63) == 0 && now() >= until) break;
  }
  printf("{\"datagrams\":%ld,\"seconds\":%.3f}\n", sent, now() - start);
  return 0;
}

int main(int argc, char** argv) {
  if (argc >= 5 && strcmp(argv[1], "udp") == 0) return udp(argv[2], atof(argv[3]), atol(argv[4]));
  if (argc >= 3 && strcmp(argv[1], "server") == 0) return server(atoi(argv[2]));
  if (argc >= 6 && strcmp(argv[1], "client") == 0) return client(argv[2], atoi(argv[3]), atof(argv[4]), atoi(argv[5]), argc >= 7 ? argv[6] : NULL);
  fprintf(stderr, "usage: conntrack-storm server PORT | client HOST PORT SECONDS INFLIGHT [PORTS_FILE] | udp HOST SECONDS MAX\n");
  return 2;
}
