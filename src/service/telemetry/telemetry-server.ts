// Serves podflow's own metrics (service.telemetry.metrics.address, default
// 127.0.0.1:8888) in Prometheus text format at /metrics, like the Collector's
// internal telemetry endpoint.

import type { Server } from 'node:http';
import { createServer } from '../node-builtins.ts';
import type { SelfTelemetry } from './self-telemetry.ts';
import { boundPort, listenHttp } from '../listen-http.ts';

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
    const server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/metrics') {
        res.writeHead(404).end('not found; podflow serves its own metrics at /metrics\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(this.#telemetry.render(this.#constLabels));
    });
    await listenHttp(server, this.#address, 'service::telemetry::metrics::address');
    server.unref();
    this.#server = server;
  }

  /** The bound port (useful when configured as port 0). */
  get port(): number {
    return boundPort(this.#server);
  }

  async shutdown(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
