// The record layouts shared by C and TypeScript: the addon reports what the C
// compiler laid out for bpf/include/pf_types.h; the TypeScript table must match.

import t from 'tap';
import { PF_CONN, PF_CONSTANTS, PF_UDP_KEY, PF_UDP_VALUE } from '../../../src/native/ebpf-layout.ts';
import { nativeLayout } from '../../../src/native/ebpf.ts';

const native = nativeLayout();

t.same(native.pf_conn, PF_CONN, 'struct pf_conn: size and every offset');
t.same(native.pf_udp_key, PF_UDP_KEY, 'struct pf_udp_key: size and every offset');
t.same(native.pf_udp_value, PF_UDP_VALUE, 'struct pf_udp_value: size and every offset');
t.same(native.constants, PF_CONSTANTS, 'flags, directions and stat indexes');
