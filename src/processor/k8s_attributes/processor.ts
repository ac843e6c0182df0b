// The k8s_attributes processor: keeps the compact cache fed from the API
// (one reflector per resource it needs) and names both ends of every batch
// before passing it on.

import type { ConsumerComponent, CreateSettings } from '../../component/component.ts';
import { LifecycleComponent } from '../../component/lifecycle.ts';
import { attributesReadBy, type FlowConsumer } from '../../consumer/consumer.ts';
import { PodflowError } from '../../errors/podflow-error.ts';
import type { FlowBatch } from '../../pdata/flow-batch.ts';
import type { Counter } from '../../service/telemetry/self-telemetry.ts';
import { annotateBatch, type AnnotateContext } from './annotate.ts';
import { K8sCache, type ResourceName } from './cache.ts';
import { CidrLabels } from './cidr-labels.ts';
import type { K8sAttributesConfig } from './config.ts';
import type { ResourceClient } from './kube-client.ts';
import { Reflector } from './reflector.ts';
import { ReverseDns } from './reverse-dns.ts';
import { compileTagRules } from './tag-rules.ts';

export interface ProcessorHooks {
  /** Replaces the reverse-DNS query (tests). */
  reverse?: (ip: string) => Promise<string[]>;
  /** Replaces the API clients (tests of the cache without HTTP). */
  clients?: Record<ResourceName, ResourceClient>;
  now?: () => number;
}

export class K8sAttributesProcessor extends LifecycleComponent implements ConsumerComponent {
  readonly mutatesData = true;
  readonly #s: CreateSettings;
  readonly #c: K8sAttributesConfig;
  readonly #next: FlowConsumer;
  readonly #hooks: ProcessorHooks;
  readonly #ctx: AnnotateContext;
  readonly #reflectors: Reflector[] = [];
  readonly #misses: Counter;
  readonly #restarts: Counter;
  readonly #rejected: Counter;
  readonly #dnsSkipped: Counter;
  #purgeTimer: NodeJS.Timeout | undefined;
  #dnsSkippedSeen = 0;

  constructor(settings: CreateSettings, config: K8sAttributesConfig, next: FlowConsumer, hooks: ProcessorHooks = {}) {
    super();
    this.#s = settings;
    this.#c = config;
    this.#next = next;
    this.#hooks = hooks;
    const t = settings.telemetry;
    this.#misses = t.counter('podflow_k8s_lookup_misses_total', 'Flow ends whose address matched no pod, node or Service in the Kubernetes cache.');
    this.#restarts = t.counter('podflow_k8s_watch_restarts_total', 'Kubernetes list/watch restarts after an error, a dropped connection or 410 Gone, by resource.');
    this.#rejected = t.counter('podflow_k8s_objects_rejected_total', 'Kubernetes objects not cached because a field was malformed, by resource.');
    this.#dnsSkipped = t.counter('podflow_k8s_reverse_dns_skipped_total', 'Reverse-DNS queries not sent because max_in_flight were running (retried on a later batch).');
    const now = hooks.now ?? Date.now;
    const rd = config.reverse_dns;
    this.#ctx = {
      cache: undefined,
      cidr: new CidrLabels(config.cidr_labels),
      dns: rd.enabled
        ? new ReverseDns({
          servers: rd.servers, cacheSize: rd.cache_size, ttlMs: rd.ttl, negativeTtlMs: rd.negative_ttl,
          timeoutMs: rd.timeout, maxInFlight: rd.max_in_flight, now, ...(hooks.reverse ? { reverse: hooks.reverse } : {}),
        })
        : undefined,
      wantService: config.extract.metadata.includes('k8s.service.name'),
      wantNamespace: config.extract.metadata.includes('k8s.namespace.name'),
      bindings: new Map(),
      now,
    };
  }

  /** The cache, for tests and the benchmark. */
  get cache(): K8sCache | undefined {
    return this.#ctx.cache;
  }

  get reverseDns(): ReverseDns | undefined {
    return this.#ctx.dns;
  }

  protected async doStart(): Promise<void> {
    const c = this.#c;
    const log = this.#s.logger;
    if (c.passthrough) {
      log.info('k8s_attributes: passthrough, the Kubernetes API is not watched');
      return;
    }
    let clients = this.#hooks.clients;
    if (!clients) {
      // Loaded here, not at the top: @kubernetes/client-node is the heaviest module
      // podflow has, and every `podflow` command would otherwise pay for it.
      const { loadKubeConfig, resourceClients } = await import('./kube-client.ts');
      let kc;
      try {
        kc = loadKubeConfig(c);
      } catch (e) {
        throw new PodflowError('PODFLOW_COMPONENT_START', `processors::${this.#s.id}: cannot reach the Kubernetes API: ${(e as Error).message}`, { cause: e });
      }
      if (!kc) {
        log.warn('k8s_attributes: auth_type none and no KUBERNETES_SERVICE_HOST: Kubernetes names are off, only cidr_labels/reverse_dns apply');
        return;
      }
      clients = resourceClients(kc, { namespace: c.filter.namespace, node: this.#nodeFilter() });
    }
    const cache = new K8sCache({
      metadata: c.extract.metadata,
      tagRules: compileTagRules(c.extract),
      ...(this.#hooks.now ? { now: this.#hooks.now } : {}),
      onReject: (resource, key, problem) => {
        this.#rejected.add(1, { resource });
        log.warn('k8s_attributes: object not cached', { resource, object: key, problem });
      },
    });
    this.#ctx.cache = cache;
    this.#registerGauges(cache);
    const want = new Set(c.extract.metadata);
    const resources: ResourceName[] = ['pods', 'nodes'];
    if (want.has('k8s.service.name') || want.has('k8s.namespace.name')) resources.push('services');
    if (want.has('k8s.service.name')) resources.push('endpointslices');
    if (cache.needsTagsFrom('namespace')) resources.push('namespaces');
    if (want.has('k8s.cronjob.name') || want.has('k8s.workload.name') || want.has('k8s.workload.kind')) resources.push('jobs');
    for (const r of resources) {
      const reflector = new Reflector({
        client: clients[r],
        handler: cache.handler(r),
        logger: log,
        pageSize: c.watch.page_size,
        initialBackoffMs: c.watch.initial_backoff,
        maxBackoffMs: c.watch.max_backoff,
        watchTimeoutSeconds: Math.max(1, Math.round(c.watch.timeout / 1000)),
        onRestart: () => this.#restarts.add(1, { resource: r }),
      });
      this.#reflectors.push(reflector);
      reflector.start();
    }
    const purgeEvery = Math.max(1000, Math.min(10_000, c.deleted_pod_grace / 4));
    this.#purgeTimer = setInterval(() => this.#purge(), purgeEvery);
    this.#purgeTimer.unref();
    if (c.wait_for_metadata) await this.#waitForSync(c.wait_for_metadata_timeout);
  }

  #nodeFilter(): string {
    const f = this.#c.filter;
    if (f.node) return f.node;
    if (!f.node_from_env_var) return '';
    const v = process.env[f.node_from_env_var];
    if (!v) {
      throw new PodflowError('PODFLOW_COMPONENT_START',
        `processors::${this.#s.id}::filter::node_from_env_var: environment variable ${f.node_from_env_var} is not set`);
    }
    return v;
  }

  async #waitForSync(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const missing = this.#reflectors.filter((r) => !r.synced).map((r) => r.resource);
        reject(new PodflowError('PODFLOW_COMPONENT_START',
          `processors::${this.#s.id}: Kubernetes metadata not synced within ${timeoutMs}ms (waiting for: ${missing.join(', ')})`));
      }, timeoutMs);
    });
    try {
      await Promise.race([Promise.all(this.#reflectors.map((r) => r.waitForSync())), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves when every reflector has completed its first list. */
  waitForSync(): Promise<void> {
    return Promise.all(this.#reflectors.map((r) => r.waitForSync())).then(() => undefined);
  }

  #registerGauges(cache: K8sCache): void {
    const objects = this.#s.telemetry.gauge('podflow_k8s_cache_objects', 'Objects in the compact Kubernetes cache, by kind (deleted_pod: kept for the grace period).');
    for (const kind of Object.keys(cache.objectCounts())) objects.observe({ kind }, () => cache.objectCounts()[kind] ?? 0);
    this.#s.telemetry.gauge('podflow_k8s_cache_bytes', 'Estimated heap bytes of the compact Kubernetes cache.').observe({}, () => cache.estimateBytes());
  }

  #purge(): void {
    const cache = this.#ctx.cache;
    if (!cache) return;
    cache.purge(this.#c.deleted_pod_grace);
    const cutoff = this.#ctx.now() - this.#c.deleted_pod_grace;
    for (const [k, p] of this.#ctx.bindings) if (p.deletedAt !== 0 && p.deletedAt <= cutoff) this.#ctx.bindings.delete(k);
  }

  async consume(batch: FlowBatch): Promise<void> {
    const stats = annotateBatch(batch, this.#ctx, attributesReadBy(this.#next));
    if (stats.misses) this.#misses.add(stats.misses);
    const dns = this.#ctx.dns;
    if (dns && dns.skipped > this.#dnsSkippedSeen) {
      this.#dnsSkipped.add(dns.skipped - this.#dnsSkippedSeen);
      this.#dnsSkippedSeen = dns.skipped;
    }
    return this.#next.consume(batch);
  }

  /** Runs the deleted-pod purge now (tests). */
  purgeNow(): void {
    this.#purge();
  }

  protected async doShutdown(): Promise<void> {
    clearInterval(this.#purgeTimer);
    await Promise.all(this.#reflectors.map((r) => r.stop()));
    this.#ctx.dns?.close();
  }
}
