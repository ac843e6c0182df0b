// A conntrack event storm without traffic: creates and deletes conntrack
// entries straight over ctnetlink (IPCTNL_MSG_CT_NEW / IPCTNL_MSG_CT_DELETE), so
// each entry yields exactly one NEW and one DESTROY event. A load generator that
// opens real connections tops out far below what conntrack's event path carries
// on a small machine (every connection costs a full TCP handshake and teardown);
// this one costs two netlink messages per entry, batched many to a send.
//
// Run it inside a test network namespace (ip netns exec NS ct-inject ...): the
// entries live in that namespace's table only, and all are deleted before exit.
//
//   ct-inject RATE SECONDS [LIFETIME_CHUNKS [KEEP]]
//     RATE     events per second to aim for (NEW + DESTROY), 0 = as fast as possible
//     SECONDS  how long to keep injecting
//     LIFETIME_CHUNKS  how many chunks of 64 entries later an entry is deleted (default 8)
//     KEEP     1 = leave the entries still alive at the end in the table (tests
//              compare them with a reader's view), 0 = delete them (default)
//   prints {"created":n,"deleted":n,"errors":n,"seconds":s}
//
// The entries look like kube-proxy DNAT of TCP connections: original tuple
// 10.213.250.2:sport → 10.96.0.10:80, reply tuple 10.213.250.18:8080 → 10.213.250.2:sport,
// ESTABLISHED and ASSURED; client ports cycle through 1024..65023 (an entry is
// always deleted long before its port comes round again).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_conntrack_tcp.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { CHUNK = 64, MAX_LIFETIME = 256, PORTS = 64000 };

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct buf {
  uint8_t data[CHUNK * 2 * 256];
  size_t len;
};

static void* put(struct buf* b, size_t n) {
  void* p = b->data + b->len;
  memset(p, 0, NLMSG_ALIGN(n));
  b->len += NLMSG_ALIGN(n);
  return p;
}

static struct nlattr* attr_begin(struct buf* b, uint16_t type) {
  struct nlattr* a = put(b, sizeof(*a));
  a->nla_type = type | NLA_F_NESTED;
  return a;
}

static void attr_end(struct buf* b, struct nlattr* a) {
  a->nla_len = (uint16_t)((b->data + b->len) - (uint8_t*)a);
}

static void attr(struct buf* b, uint16_t type, const void* v, size_t n) {
  struct nlattr* a = put(b, NLA_HDRLEN + n);
  a->nla_type = type;
  a->nla_len = (uint16_t)(NLA_HDRLEN + n);
  memcpy((uint8_t*)a + NLA_HDRLEN, v, n);
}

static void tuple(struct buf* b, uint16_t type, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport) {
  struct nlattr* t = attr_begin(b, type);
  struct nlattr* ip = attr_begin(b, CTA_TUPLE_IP);
  attr(b, CTA_IP_V4_SRC, &src, 4);
  attr(b, CTA_IP_V4_DST, &dst, 4);
  attr_end(b, ip);
  struct nlattr* pr = attr_begin(b, CTA_TUPLE_PROTO);
  uint8_t proto = IPPROTO_TCP;
  uint16_t sp = htons(sport), dp = htons(dport);
  attr(b, CTA_PROTO_NUM, &proto, 1);
  attr(b, CTA_PROTO_SRC_PORT, &sp, 2);
  attr(b, CTA_PROTO_DST_PORT, &dp, 2);
  attr_end(b, pr);
  attr_end(b, t);
}

static uint32_t client, vip, backend;
static uint32_t seq;

static void message(struct buf* b, int msg, uint16_t sport) {
  size_t start = b->len;
  struct nlmsghdr* nh = put(b, NLMSG_HDRLEN);
  nh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | msg;
  // No NLM_F_ACK: the kernel answers only failures, which are drained and counted.
  nh->nlmsg_flags = NLM_F_REQUEST | (msg == IPCTNL_MSG_CT_NEW ? NLM_F_CREATE | NLM_F_EXCL : 0);
  nh->nlmsg_seq = ++seq;
  struct nfgenmsg* nf = put(b, sizeof(*nf));
  nf->nfgen_family = AF_INET;
  nf->version = NFNETLINK_V0;
  tuple(b, CTA_TUPLE_ORIG, client, vip, sport, 80);
  if (msg == IPCTNL_MSG_CT_NEW) {
    tuple(b, CTA_TUPLE_REPLY, backend, client, 8080, sport);
    uint32_t timeout = htonl(120);
    attr(b, CTA_TIMEOUT, &timeout, 4);
    uint32_t status = htonl(IPS_SEEN_REPLY | IPS_ASSURED | IPS_CONFIRMED);
    attr(b, CTA_STATUS, &status, 4);
    struct nlattr* pi = attr_begin(b, CTA_PROTOINFO);
    struct nlattr* tcp = attr_begin(b, CTA_PROTOINFO_TCP);
    uint8_t state = TCP_CONNTRACK_ESTABLISHED;
    attr(b, CTA_PROTOINFO_TCP_STATE, &state, 1);
    attr_end(b, tcp);
    attr_end(b, pi);
  }
  nh = (struct nlmsghdr*)(b->data + start);
  nh->nlmsg_len = (uint32_t)(b->len - start);
}

static long errors;
static int first_errno;

// Error answers of earlier sends; the socket is non-blocking for reads.
static void drain(int fd) {
  uint8_t rx[65536];
  for (;;) {
    ssize_t n = recv(fd, rx, sizeof(rx), MSG_DONTWAIT);
    if (n <= 0) {
      if (n < 0 && errno == ENOBUFS) { errors++; continue; }  // answers lost: counted as errors
      return;
    }
    for (struct nlmsghdr* nh = (struct nlmsghdr*)rx; NLMSG_OK(nh, (size_t)n); nh = NLMSG_NEXT(nh, n)) {
      if (nh->nlmsg_type != NLMSG_ERROR) continue;
      struct nlmsgerr* e = NLMSG_DATA(nh);
      if (e->error != 0) {
        errors++;
        if (!first_errno) first_errno = -e->error;
      }
    }
  }
}

static int send_all(int fd, struct buf* b) {
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  if (sendto(fd, b->data, b->len, 0, (struct sockaddr*)&kernel, sizeof(kernel)) < 0) {
    fprintf(stderr, "ct-inject: send: %s\n", strerror(errno));
    return -1;
  }
  b->len = 0;
  drain(fd);
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: ct-inject RATE SECONDS [LIFETIME_CHUNKS [KEEP]]\n");
    return 2;
  }
  double rate = atof(argv[1]), seconds = atof(argv[2]);
  int lifetime = argc > 3 ? atoi(argv[3]) : 8;
  int keep = argc > 4 ? atoi(argv[4]) : 0;
  if (lifetime < 1 || lifetime > MAX_LIFETIME || seconds <= 0 || rate < 0) {
    fprintf(stderr, "ct-inject: RATE ≥ 0, SECONDS > 0, LIFETIME_CHUNKS in 1..%d\n", MAX_LIFETIME);
    return 2;
  }
  inet_pton(AF_INET, "10.213.250.2", &client);
  inet_pton(AF_INET, "10.96.0.10", &vip);
  inet_pton(AF_INET, "10.213.250.18", &backend);
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (fd < 0) { perror("ct-inject: socket"); return 1; }
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  if (bind(fd, (struct sockaddr*)&sa, sizeof(sa)) < 0) { perror("ct-inject: bind"); return 1; }
  int rcv = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv));

  static struct buf b;
  long created = 0, deleted = 0;
  double start = now(), until = start + seconds;
  // Chunk k creates ports [k*CHUNK, (k+1)*CHUNK) mod PORTS and deletes chunk k - lifetime.
  long chunk = 0;
  for (;; chunk++) {
    double t = now();
    if (t >= until) break;
    if (rate > 0) {
      double due = start + (double)created * 2 / rate;
      if (due > t) {
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)((due - t) * 1e9)};
        nanosleep(&ts, NULL);
      }
    }
    for (int k = 0; k < CHUNK; k++) message(&b, IPCTNL_MSG_CT_NEW, (uint16_t)(1024 + (chunk * CHUNK + k) % PORTS));
    created += CHUNK;
    if (chunk >= lifetime) {
      long old = chunk - lifetime;
      for (int k = 0; k < CHUNK; k++) message(&b, IPCTNL_MSG_CT_DELETE, (uint16_t)(1024 + (old * CHUNK + k) % PORTS));
      deleted += CHUNK;
    }
    if (send_all(fd, &b) < 0) return 1;
  }
  double elapsed = now() - start;
  // The entries still alive go too, so the namespace's table ends empty.
  for (long old = chunk > lifetime ? chunk - lifetime : 0; !keep && old < chunk; old++) {
    for (int k = 0; k < CHUNK; k++) message(&b, IPCTNL_MSG_CT_DELETE, (uint16_t)(1024 + (old * CHUNK + k) % PORTS));
    deleted += CHUNK;
    if (send_all(fd, &b) < 0) return 1;
  }
  usleep(20000);
  drain(fd);
  printf("{\"created\":%ld,\"deleted\":%ld,\"errors\":%ld,\"first_errno\":%d,\"seconds\":%.3f}\n", created, deleted, errors,
         first_errno, elapsed);
  return 0;
}
