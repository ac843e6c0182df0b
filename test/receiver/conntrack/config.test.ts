// conntrack receiver config: defaults, and every problem reported at once with its path.

import t from 'tap';
import { conntrackReceiverFactory } from '../../../src/receiver/conntrack/factory.ts';
import { defaultsOf, formatProblem, type Problem } from '../../../src/config/schema.ts';

t.test('defaults', async (t) => {
  t.same(defaultsOf(conntrackReceiverFactory.configSchema), {
    collection_interval: 10_000, dump_interval: 10_000, socket_buffer_size: 16 << 20, batch_size: 4096,
    set_acct_sysctl: true, attributes: ['zone'],
  });
});

t.test('all problems with paths', async (t) => {
  const problems: Problem[] = [];
  conntrackReceiverFactory.configSchema.decode({
    collection_interval: '10', dump_interval: '50ms', socket_buffer_size: 100, batch_size: 'many', attributes: ['zone', 'labels'], bogus: true,
  }, ['receivers', 'conntrack'], problems);
  t.same(problems.map(formatProblem).sort(), [
    'receivers::conntrack: has invalid keys: bogus (valid keys: collection_interval, dump_interval, socket_buffer_size, batch_size, set_acct_sysctl, netns, attributes)',
    'receivers::conntrack::attributes::1: invalid value "labels" (valid values: [zone, mark, tcp_state])',
    'receivers::conntrack::batch_size: expected an integer, got "many"',
    'receivers::conntrack::collection_interval: expected a duration such as "5s" or "250ms", got "10"',
    'receivers::conntrack::dump_interval: duration 50ms is below the minimum 100ms',
    'receivers::conntrack::socket_buffer_size: value 100 is below the minimum 4096',
  ]);
  const cfg = conntrackReceiverFactory.configSchema.decode({ attributes: ['mark', 'mark'] }, [], [])!;
  t.same(conntrackReceiverFactory.validate!(cfg).map(formatProblem), ['attributes: lists an attribute twice: [mark, mark]']);
});
