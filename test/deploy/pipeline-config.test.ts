// The pipeline config in every rendered ConfigMap passes `podflow validate`,
// with the environment the DaemonSet gives the container; every variable the
// config expands is one the DaemonSet sets; and every port the config listens
// on is a declared container port (and the probes hit health_check's).

import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { REPO, ofKind, renderAll, type K8sObject } from './helpers/kustomize.ts';

const run = promisify(execFile);

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: { name: string; key: string }; configMapKeyRef?: { name: string; key: string } };
}
interface Container {
  name: string;
  env?: EnvVar[];
  ports?: Array<{ name?: string; containerPort: number }>;
  livenessProbe?: { httpGet?: { path: string; port: number | string } };
  readinessProbe?: { httpGet?: { path: string; port: number | string } };
  volumeMounts?: Array<{ name: string; mountPath: string }>;
  args?: string[];
}
type DaemonSet = K8sObject & {
  spec: { template: { spec: { containers: Container[]; volumes?: Array<{ name: string; configMap?: { name: string } }> } } };
};
interface PodflowConfig {
  exporters?: Record<string, { endpoint?: string } | null>;
  extensions?: Record<string, { endpoint?: string } | null>;
  service?: { extensions?: string[]; telemetry?: { metrics?: { address?: string } } };
}

// What the kubelet would put in each downward-API variable: loopback values,
// since validation binds nothing and this machine is no node.
const FIELD_VALUES: Record<string, string> = {
  'spec.nodeName': 'pf-deploy-node',
  'status.podIP': '127.0.0.1',
  'status.hostIP': '127.0.0.1',
  'metadata.name': 'podflow-abcde',
  'metadata.namespace': 'podflow',
};

/**
 * The container's environment as the kubelet would resolve it: a ConfigMap of
 * the rendering gives its real value (a reference to one it lacks throws);
 * Secrets, and ConfigMaps the user creates, get a stand-in value.
 */
function containerEnv(c: Container, objects: K8sObject[] = []): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.fieldRef) {
      const v = FIELD_VALUES[e.valueFrom.fieldRef.fieldPath];
      if (v === undefined) throw new Error(`${e.name}: no test value for fieldRef ${e.valueFrom.fieldRef.fieldPath}`);
      env[e.name] = v;
    } else if (e.valueFrom?.configMapKeyRef && renderedConfigMap(objects, e.valueFrom.configMapKeyRef.name)) {
      const { name, key } = e.valueFrom.configMapKeyRef;
      const v = renderedConfigMap(objects, name)!.data?.[key];
      if (v === undefined) throw new Error(`${e.name}: ConfigMap ${name} has no key ${key}`);
      env[e.name] = v;
    } else if (e.valueFrom?.secretKeyRef || e.valueFrom?.configMapKeyRef) {
      const ref = e.valueFrom.secretKeyRef ?? e.valueFrom.configMapKeyRef!;
      env[e.name] = e.name.endsWith('ENDPOINT') ? 'https://otlp.invalid:443' : `from-${ref.name}-${ref.key}`;
    }
  }
  return env;
}

function renderedConfigMap(objects: K8sObject[], name: string): (K8sObject & { data?: Record<string, string> }) | undefined {
  return ofKind<K8sObject & { data?: Record<string, string> }>(objects, 'ConfigMap').find((o) => o.metadata.name === name);
}

/** ${env:NAME} / ${NAME} references without a :- default, as the Collector expands them ($$ escapes). */
function requiredVariables(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.replaceAll('$$', '').matchAll(/\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}/g)) {
    if (m[2] === undefined) out.add(m[1]!);
  }
  return [...out];
}

function portOf(endpoint: string): number {
  const m = /:(\d+)$/.exec(endpoint);
  if (!m) throw new Error(`endpoint "${endpoint}" has no port`);
  return Number(m[1]);
}

interface Validation { code: number; stdout: string; stderr: string }
const validations = new Map<string, Promise<Validation>>();

/**
 * bin/podflow validate on a config, with only the container's variables (and
 * PATH/HOME for the launcher) so a variable set on this machine cannot hide
 * one the DaemonSet lacks. Started once per rendering, all at once: each run
 * is a whole Node start-up.
 */
function validate(name: string, text: string, env: Record<string, string>): Promise<Validation> {
  let p = validations.get(name);
  if (!p) {
    const file = join(tmp, `${name.replace(/[^a-z0-9]+/gi, '-')}.yaml`);
    writeFileSync(file, text);
    p = run(join(REPO, 'bin/podflow'), ['validate', '-c', file], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } })
      .then(({ stdout, stderr }) => ({ code: 0, stdout, stderr }))
      .catch((e: { code?: number; stdout?: string; stderr?: string; message: string }) => ({
        code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr || e.message,
      }));
    validations.set(name, p);
  }
  return p;
}

const tmp = mkdtempSync(join(tmpdir(), 'pf-deploy-config-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
const renderings = renderAll(tmp);

interface Deployed { ds: DaemonSet; c: Container; configPath: string; source: string; text: string | undefined }

/** The DaemonSet's container and the config file it is given, read from the ConfigMap it mounts. */
function deployedConfig(objects: K8sObject[]): Deployed | undefined {
  const [ds] = ofKind<DaemonSet>(objects, 'DaemonSet');
  if (!ds) return undefined;
  const c = ds.spec.template.spec.containers[0]!;
  const configIndex = c.args?.findIndex((a) => a === '--config' || a === '-c') ?? -1;
  const configPath = configIndex >= 0 ? c.args![configIndex + 1]! : '';
  const mount = c.volumeMounts?.find((m) => configPath.startsWith(`${m.mountPath}/`));
  const volume = ds.spec.template.spec.volumes?.find((v) => v.name === mount?.name);
  const cm = ofKind<K8sObject & { data: Record<string, string> }>(objects, 'ConfigMap')
    .find((o) => o.metadata.name === volume?.configMap?.name);
  const key = configPath.slice(mount ? mount.mountPath.length + 1 : 0);
  return { ds, c, configPath, source: `ConfigMap ${cm?.metadata.name} key ${key}`, text: cm?.data[key] };
}

const deployed = new Map(renderings.map((r) => [r.name, deployedConfig(r.objects)]));
const objectsOf = new Map(renderings.map((r) => [r.name, r.objects]));
for (const [name, d] of deployed) if (d?.text) void validate(name, d.text, containerEnv(d.c, objectsOf.get(name)));

for (const r of renderings) {
  t.test(r.name, async (t) => {
    const d = deployed.get(r.name);
    t.ok(d, 'has the DaemonSet');
    if (!d) return;
    const { c, configPath, source, text } = d;
    t.ok(configPath, 'podflow is given --config');
    t.ok(text, `${configPath} comes from ${source}`);
    if (!text) return;

    const env = containerEnv(c, r.objects);
    t.test('every variable the config expands is set on the container', async (t) => {
      const required = requiredVariables(text);
      t.ok(required.length > 0, 'the config uses the container environment');
      for (const v of required) t.ok(v in env, `${v} is in the DaemonSet's env`);
    });

    t.test('podflow validate accepts it', async (t) => {
      const res = await validate(r.name, text, env);
      t.equal(res.code, 0, `podflow validate exits 0${res.code ? `:\n${res.stderr || res.stdout}` : ''}`);
      t.match(res.stdout, /config is valid/);
    });

    t.test('the ports the config listens on are the declared ports; probes hit health_check', async (t) => {
      const cfg = parse(text.replaceAll(/\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}/g, (_, n: string) => env[n] ?? '')) as PodflowConfig;
      const listening = new Map<string, number>();
      for (const [id, e] of Object.entries(cfg.exporters ?? {})) {
        if (id.split('/')[0] === 'prometheus') listening.set(`exporters::${id}`, portOf(e?.endpoint ?? '0.0.0.0:8889'));
      }
      const healthId = cfg.service?.extensions?.find((id) => id.split('/')[0] === 'health_check');
      t.ok(healthId, 'service.extensions enables health_check');
      const health = portOf(cfg.extensions?.[healthId!]?.endpoint ?? '0.0.0.0:13133');
      listening.set(`extensions::${healthId}`, health);
      const telemetry = cfg.service?.telemetry?.metrics?.address;
      if (telemetry) listening.set('service::telemetry::metrics', portOf(telemetry));
      const declared = (c.ports ?? []).map((p) => p.containerPort).sort();
      t.same(declared, [...listening.values()].sort(), `container ports = ${[...listening].map(([k, p]) => `${k}:${p}`).join(', ')}`);

      const healthPortName = c.ports?.find((p) => p.containerPort === health)?.name;
      for (const probe of [c.livenessProbe, c.readinessProbe]) {
        t.ok(probe?.httpGet && [health, healthPortName].includes(probe.httpGet.port), `probe on health_check's port (${health})`);
        t.equal(probe?.httpGet?.path, '/', 'probe path /');
      }
    });
  });
}
