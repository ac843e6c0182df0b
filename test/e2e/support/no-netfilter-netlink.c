// LD_PRELOAD fault injector: socket(AF_NETLINK, *, NETLINK_NETFILTER) fails with
// EPROTONOSUPPORT, exactly what a kernel built without nfnetlink returns, so a
// test can show the receiver's "no conntrack support" path on a kernel that has it.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <linux/netlink.h>
#include <sys/socket.h>

int socket(int domain, int type, int protocol) {
  static int (*real)(int, int, int);
  if (!real) real = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");
  if (domain == AF_NETLINK && protocol == NETLINK_NETFILTER) {
    errno = EPROTONOSUPPORT;
    return -1;
  }
  return real(domain, type, protocol);
}
