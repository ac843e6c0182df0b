// The health_check extension: an HTTP endpoint for Kubernetes liveness and
// readiness probes. Like the Collector's, it answers 200 "Server available"
// while the service is ready and 503 otherwise (starting, stopping, failed),
// reading the status from the service host on every request.

import type { Server } from 'node:http';
import { createServer } from '../../service/node-builtins.ts';
import type { CreateSettings, ServiceHost } from '../../component/component.ts';
import { LifecycleComponent } from '../../component/lifecycle.ts';
import type { Logger } from '../../service/logger.ts';
import type { HealthCheckConfig } from './config.ts';
import { goDuration } from './go-duration.ts';
import { boundPort, listenHttp } from '../../service/listen-http.ts';

export class HealthCheckExtension extends LifecycleComponent {
  readonly #config: HealthCheckConfig;
  readonly #host: ServiceHost;
  readonly #logger: Logger;
  readonly #id: string;
  #server: Server | undefined;
  #upSince = new Date(0);

  constructor(settings: CreateSettings, config: HealthCheckConfig) {
    super();
    this.#config = config;
    this.#host = settings.host;
    this.#logger = settings.logger;
    this.#id = settings.id;
  }

  /** The bound port (the configured one, or the one picked for port 0). */
  get port(): number {
    return boundPort(this.#server);
  }

  protected async doStart(): Promise<void> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path !== this.#config.path) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found\n');
        return;
      }
      const ready = this.#host.status === 'ready';
      const custom = ready ? this.#config.response_body.healthy : this.#config.response_body.unhealthy;
      const body = custom !== '' ? custom : JSON.stringify(ready
        ? { status: 'Server available', upSince: this.#upSince.toISOString(), uptime: goDuration(Date.now() - this.#upSince.getTime()) }
        : { status: 'Server not available', upSince: '0001-01-01T00:00:00Z', uptime: '' });
      res.writeHead(ready ? 200 : 503, { 'content-type': custom !== '' ? 'text/plain' : 'application/json' });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
    await listenHttp(server, this.#config.endpoint, `extensions::${this.#id}::endpoint`);
    // The service becomes ready right after its extensions start: uptime counts from here.
    this.#upSince = new Date();
    this.#server = server;
    this.#logger.info('health check listening', { endpoint: this.#config.endpoint, path: this.#config.path });
  }

  protected async doShutdown(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
