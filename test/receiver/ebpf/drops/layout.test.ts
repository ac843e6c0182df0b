// The pf_drops record layouts shared by C and TypeScript: the addon reports
// what the C compiler laid out for bpf/include/pf_drop_types.h; the TypeScript
// table must match.

import t from 'tap';
import { nativeDropLayout, PF_DROP_CONSTANTS, PF_DROP_KEY, PF_DROP_VALUE } from '../../../../src/native/ebpf-drops.ts';

const native = nativeDropLayout();

t.same(native.pf_drop_key, PF_DROP_KEY, 'struct pf_drop_key: size and every offset');
t.same(native.pf_drop_value, PF_DROP_VALUE, 'struct pf_drop_value: size and every offset');
t.same(native.constants, PF_DROP_CONSTANTS, 'reason sentinel, TCP flags and stat indexes');
