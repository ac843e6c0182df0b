// Env expansion follows the Collector: the four forms, typing of whole-value
// references, $$ escapes, and a problem with its path for each malformed reference.

import t from 'tap';
import { expandEnv } from '../../src/config/env-expand.ts';
import type { Problem } from '../../src/config/schema.ts';

const env = { ZEROS: '007', VERSION: '1.10', HEX: '0x1F', TITLE: 'True', NEG: '-12', HOST: 'db.local', PORT: '4317', EMPTY: '', FLAG: 'true', RATIO: '0.5', LIST: '[a, b]', TEXT: 'hello: world: x' };

function expand(v: unknown): { value: unknown; problems: Problem[] } {
  const problems: Problem[] = [];
  return { value: expandEnv(v, env, problems), problems };
}

t.test('reference forms', async (t) => {
  t.same(expand('${env:HOST}').value, 'db.local');
  t.same(expand('${HOST}').value, 'db.local');
  t.same(expand('${env:NOPE:-fallback}').value, 'fallback');
  t.same(expand('${NOPE:-fallback}').value, 'fallback');
  t.same(expand('${env:HOST:-fallback}').value, 'db.local', 'a set variable wins over the default');
  t.same(expand('${env:EMPTY:-fallback}').value, '', 'the default applies only when unset, as in the Collector');
  t.same(expand('${env:NOPE}').value, '', 'an unset variable expands to empty');
  t.same(expand('${env:NOPE:-a:-b}').value, 'a:-b', 'the default is everything after the first :-');
});

t.test('embedded references stay text; whole references take their YAML type', async (t) => {
  t.same(expand('${env:HOST}:${env:PORT}').value, 'db.local:4317');
  t.equal(expand('${env:PORT}').value, 4317);
  t.equal(expand('${env:FLAG}').value, true);
  t.equal(expand('${env:RATIO}').value, 0.5);
  t.same(expand('${env:LIST}').value, ['a', 'b']);
  t.equal(expand('${env:TEXT}').value, 'hello: world: x', 'text that is not valid YAML stays text');
  t.equal(expand('port ${env:PORT}').value, 'port 4317');
  t.equal(expand('${NEG}').value, -12);
  t.equal(expand('${TITLE}').value, true);
  t.equal(expand('${ZEROS}').value, '007', 'a number that would print differently stays text');
  t.equal(expand('${VERSION}').value, '1.10');
  t.equal(expand('${HEX}').value, '0x1F');
});

t.test('dollar escapes', async (t) => {
  t.equal(expand('$${env:HOST}').value, '${env:HOST}');
  t.equal(expand('a$$b').value, 'a$b');
  t.equal(expand('cost $5 and $HOME').value, 'cost $5 and $HOME', 'a bare $ is kept');
  t.equal(expand('$$$${HOST}').value, '$${HOST}');
});

t.test('walks maps and lists; keys are not expanded; non-strings pass through', async (t) => {
  const r = expand({ '${HOST}': 1, a: ['${env:PORT}', { b: 'x${HOST}' }], n: 5, z: null });
  t.same(r.value, { '${HOST}': 1, a: [4317, { b: 'xdb.local' }], n: 5, z: null });
  t.same(r.problems, []);
});

t.test('malformed references are problems with their path', async (t) => {
  const r = expand({ a: { b: '${env:HOST' }, l: ['ok', '${env:BAD NAME}'], s: '${file:/etc/passwd}', e: 'x${}', n: '${env:${HOST}}' });
  t.same(r.problems, [
    { path: ['a', 'b'], message: 'invalid reference "${env:HOST": missing closing "}"' },
    { path: ['l', '1'], message: 'environment variable "BAD NAME" has invalid name: must match regex ^[a-zA-Z_][a-zA-Z0-9_]*$' },
    { path: ['s'], message: 'scheme "file" is not supported for uri "file:/etc/passwd" (supported: env)' },
    { path: ['e'], message: 'invalid reference "${}": the variable name is empty' },
    { path: ['n'], message: 'invalid reference "${env:${HOST}": nested references are not supported' },
  ]);
});
