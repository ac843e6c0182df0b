// Serves podflow's own metrics (service.telemetry.metrics.address, default
// 127.0.0.1:8888) in Prometheus text format at /metrics, like the Collector's
// internal telemetry endpoint.

import { createServer, type Server } from 'node:http';
import { PodflowError } from '../../errors/podflow-error.ts';
import { splitHostPort } from '../../config/host-port.ts';
import type { SelfTelemetry } from './self-telemetry.ts';

export class TelemetryServer {
  #server: Server | undefined;
  readonly #telemetry: SelfTelemetry;
  readonly #address: string;
  readonly #constLabels: Record<string, string>;

  constructor(telemetry: SelfTelemetry, address: string, constLabels: Record<string, string> = {}) {
    this.#telemetry = telemetry;
    this.#address = address;
    this.#constLabels = constLabels;
  }

  async start(): Promise<void> {
    const { host, port } = splitHostPort(this.#address);
    const server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/metrics') {
        res.writeHead(404).end('not found; podflow serves its own metrics at /metrics\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(this.#telemetry.render(this.#constLabels));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(e.code === 'EADDRINUSE'
          ? new PodflowError('PODFLOW_PORT_IN_USE', `service::telemetry::metrics::address: ${this.#address} is already in use`)
          : e));
      server.listen(port, host, () => resolve());
    });
    server.unref();
    this.#server = server;
  }

  /** The bound port (useful when configured as port 0). */
  get port(): number {
    const a = this.#server?.address();
    return a && typeof a === 'object' ? a.port : 0;
  }

  async shutdown(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
