// The receiver's in-code OTLP schema agrees with the official .proto files
// (../shared/reference/otlp-proto): every field it declares has the official
// number, type and label.

import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import protobuf from 'protobufjs';
import { otlpRoot } from '../../../src/receiver/otlp/otlp-schema.ts';

const PROTO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..', '..', 'shared/reference/otlp-proto');

t.test('every declared field matches opentelemetry-proto', async (t) => {
  const official = new protobuf.Root();
  official.resolvePath = (_o, target) => join(PROTO_ROOT, target);
  for (const f of ['metrics/v1/metrics_service', 'logs/v1/logs_service', 'trace/v1/trace_service']) official.loadSync(`opentelemetry/proto/collector/${f}.proto`, { keepCase: false });
  official.resolveAll();
  otlpRoot.resolveAll();
  let checked = 0;
  const visit = (ns: protobuf.NamespaceBase) => {
    for (const o of ns.nestedArray) {
      if (o instanceof protobuf.Type) {
        if (o.fullName.startsWith('.google.')) continue;
        const ref = official.lookupType(o.fullName);
        for (const f of o.fieldsArray) {
          const g = ref.fields[f.name];
          t.ok(g, `${o.fullName}.${f.name} exists`);
          if (!g) continue;
          t.same([f.id, f.resolvedType?.fullName ?? f.type, f.repeated], [g.id, g.resolvedType?.fullName ?? g.type, g.repeated], `${o.fullName}.${f.name}`);
          checked++;
        }
      } else if (o instanceof protobuf.Enum) {
        const ref = official.lookupEnum(o.fullName);
        t.same(o.values, Object.fromEntries(Object.entries(ref.values).filter(([k]) => k in o.values)), o.fullName);
      }
      if (o instanceof protobuf.Namespace) visit(o);
    }
  };
  visit(otlpRoot);
  t.ok(checked >= 30, `${checked} fields checked`);
});
