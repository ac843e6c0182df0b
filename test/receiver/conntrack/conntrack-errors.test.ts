// errno → PodflowError mapping for conntrack socket steps: privilege, missing
// kernel support, and a bad netns setting each get their own code and path.

import t from 'tap';
import { conntrackError } from '../../../src/native/conntrack-errors.ts';

t.test('privilege', async (t) => {
  for (const errno of [1, 13]) {
    const e = conntrackError(errno, 'join conntrack multicast groups', 'receivers::conntrack');
    t.equal(e.code, 'PODFLOW_CONNTRACK_PERMISSION');
    t.match(e.message, /^receivers::conntrack: join conntrack multicast groups: permission denied: .*CAP_NET_ADMIN/);
  }
});

t.test('no conntrack netlink in the kernel', async (t) => {
  for (const errno of [93, 97, 95, 2]) {
    const e = conntrackError(errno, 'socket(AF_NETLINK, NETLINK_NETFILTER)', 'receivers::conntrack/x');
    t.equal(e.code, 'PODFLOW_CONNTRACK_UNSUPPORTED', `errno ${errno}`);
    t.match(e.message, /modprobe nf_conntrack nf_conntrack_netlink/);
  }
});

t.test('a namespace that cannot be joined names the netns setting', async (t) => {
  const e = conntrackError(2, 'open netns /var/run/netns/nope', 'receivers::conntrack');
  t.equal(e.code, 'PODFLOW_COMPONENT_START');
  t.equal(e.message, 'receivers::conntrack::netns: open netns /var/run/netns/nope: no such file or directory (errno 2)');
  t.equal(conntrackError(1, 'setns /x', 'receivers::conntrack').code, 'PODFLOW_CONNTRACK_PERMISSION', 'setns without CAP_SYS_ADMIN is a privilege problem');
});
