// A process that starts an ebpf receiver on the cgroup given as argv[2], prints
// "attached", then on a line from stdin ends the way argv[3] says: "exit"
// (process.exit without shutdown) or "throw" (an uncaught exception); "wait"
// waits to be killed.

import { defaultsOf } from '../../../src/config/schema.ts';
import { ebpfConfigSchema } from '../../../src/receiver/ebpf/config.ts';
import { EbpfReceiver } from '../../../src/receiver/ebpf/ebpf-receiver.ts';
import { CollectingConsumer } from '../../support/collecting-consumer.ts';
import { testSettings } from '../../support/test-settings.ts';

const [cgroup, how] = process.argv.slice(2);
const r = new EbpfReceiver(testSettings('ebpf'), { ...defaultsOf(ebpfConfigSchema), cgroup_path: cgroup! }, new CollectingConsumer());
await r.start();
process.stdout.write('attached\n');
setInterval(() => undefined, 1000);
// The parent checks what is attached, then writes a line: end now.
process.stdin.once('data', () => {
  if (how === 'exit') process.exit(0);
  if (how === 'throw') throw new Error('crash on purpose');
});
