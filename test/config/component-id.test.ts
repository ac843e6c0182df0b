// Component IDs are parsed with the Collector's rules and error wording.

import t from 'tap';
import { parseComponentId } from '../../src/config/component-id.ts';

t.test('valid IDs', async (t) => {
  t.same(parseComponentId('otlp_grpc'), { type: 'otlp_grpc', name: '', id: 'otlp_grpc' });
  t.same(parseComponentId('otlp_grpc/backup-1.eu'), { type: 'otlp_grpc', name: 'backup-1.eu', id: 'otlp_grpc/backup-1.eu' });
  t.same(parseComponentId(' prom / x '), { type: 'prom', name: 'x', id: 'prom/x' }, 'surrounding spaces are trimmed');
  t.same(parseComponentId('a/b/c'), { type: 'a', name: 'b/c', id: 'a/b/c' }, 'the name is everything after the first /');
  t.equal((parseComponentId(`a${'b'.repeat(62)}`) as { id: string }).id.length, 63, 'type of 63 characters');
});

t.test('invalid IDs', async (t) => {
  t.same(parseComponentId(''), { error: 'id must not be empty' });
  t.same(parseComponentId('1otlp'), { error: 'invalid character(s) in type "1otlp"' });
  t.same(parseComponentId('otlp-grpc'), { error: 'invalid character(s) in type "otlp-grpc"' });
  t.same(parseComponentId(`a${'b'.repeat(63)}`), { error: `invalid character(s) in type "a${'b'.repeat(63)}"` });
  t.same(parseComponentId('otlp/'), { error: 'name part must be specified after / in type/name' });
  t.same(parseComponentId('otlp/  '), { error: 'name part must be specified after / in type/name' });
  t.same(parseComponentId('otlp/a b'), { error: 'invalid character(s) in name "a b"' });
  t.same(parseComponentId('otlp/a\tb'), { error: 'invalid character(s) in name "a\tb"' });
});
