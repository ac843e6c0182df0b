// POSTs serialized OTLP requests over HTTP(S) and tells retryable answers
// (429/502/503/504 with Retry-After, connection failures) from permanent ones.
// podflow sends itself, with the official serializers, because the SDK's HTTP
// exporter retries internally within one timeout and hides the status and the
// Retry-After of the last answer.

import type { Agent as HttpAgent } from 'node:http';
import type { Agent as HttpsAgent, AgentOptions } from 'node:https';
import { releaseLargeBuffer } from '../../../pdata/release-large-buffer.ts';
import { Agent, https, request as httpRequest } from '../../../service/node-builtins.ts';
import { classifyHttpStatus, ExportError } from '../exporterhelper/export-error.ts';
import { gzipPayload } from './gzip-payload.ts';

const MAX_BODY = 64 * 1024;

export interface HttpTransportOptions {
  url: string;
  headers: Record<string, string>;
  contentType: 'application/x-protobuf' | 'application/json';
  compression: 'gzip' | 'none';
  timeoutMs: number;
  /** TLS material for https URLs. */
  tls?: AgentOptions;
}

export class OtlpHttpTransport {
  readonly #o: HttpTransportOptions;
  readonly #url: URL;
  readonly #agent: HttpAgent | HttpsAgent;
  readonly #request: typeof httpRequest;

  constructor(o: HttpTransportOptions) {
    this.#o = o;
    this.#url = new URL(o.url);
    if (this.#url.protocol === 'https:') {
      const tls = https();
      this.#agent = new tls.Agent({ keepAlive: true, ...o.tls });
      this.#request = tls.request;
    } else {
      this.#agent = new Agent({ keepAlive: true });
      this.#request = httpRequest;
    }
  }

  /**
   * Resolves with the response body on 2xx (an OTLP partial success is in it); rejects with an ExportError that says whether to retry.
   * `owned`: the caller will not use `body` again (a retry serializes anew), so its bytes are freed as soon as
   * they are compressed (see pdata/release-large-buffer.ts). Uncompressed, they are what the socket writes, and
   * a response can come before the write is done: they are freed once the request is closed.
   */
  async send(body: Uint8Array, signal?: AbortSignal, owned = false): Promise<Buffer> {
    const compressed = this.#o.compression === 'gzip';
    // Compressed once, also for the immediate resend below.
    const payload = compressed ? await gzipPayload(body) : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    if (compressed && owned) releaseLargeBuffer(body);
    let closed: Promise<void> = Promise.resolve();
    const post = (): Promise<Buffer> => {
      const r = this.#post(payload, compressed, signal);
      closed = r.closed;
      return r.response;
    };
    try {
      return await post();
    } catch (e) {
      // A kept-alive socket the server closed while idle fails at once with
      // ECONNRESET; Node's advice is to resend on a fresh socket right away
      // rather than wait for a backoff.
      if ((e as { reusedSocket?: boolean }).reusedSocket && (e as { code?: string }).code === 'ECONNRESET') return await post();
      throw e;
    } finally {
      // The compressed bytes are this transport's own (a retry compresses
      // anew): freed once the last request is closed, i.e. its body is
      // written or abandoned (a response can end before the write does).
      // Left to the collector they wait for a full collection, having
      // lived across the round trip: ~0.4 MB per request of the pipeline
      // bench's exports, piling up export after export.
      // So are an owned body's uncompressed bytes, which the socket wrote:
      // `podflow run` with compression none kept ~5 MB per export resident
      // (the pipeline bench's child: max RSS 150 MiB against 127 with gzip).
      if (compressed) void closed.then(() => releaseLargeBuffer(payload));
      else if (owned) void closed.then(() => releaseLargeBuffer(body));
    }
  }

  /** `response` settles with the response (or the failure); `closed` once the request is done with `payload`. */
  #post(payload: Buffer, compressed: boolean, signal?: AbortSignal): { response: Promise<Buffer>; closed: Promise<void> } {
    const headers: Record<string, string | number> = {
      ...this.#o.headers,
      'content-type': this.#o.contentType,
      'content-length': payload.length,
      'user-agent': 'podflow',
    };
    if (compressed) headers['content-encoding'] = 'gzip';
    const send = this.#request;
    // Stays resolved when the request cannot even be made (send() throws): nothing writes then.
    let closed: Promise<void> = Promise.resolve();
    const response = new Promise<Buffer>((resolve, reject) => {
      const req = send(this.#url, { method: 'POST', headers, agent: this.#agent, timeout: this.#o.timeoutMs, signal }, (res) => {
        const chunks: Buffer[] = [];
        let length = 0;
        res.on('data', (c: Buffer) => {
          // A success body is a small OTLP response; only the start of an error body is logged.
          if (length < MAX_BODY) chunks.push(c);
          length += c.length;
        });
        res.on('error', reject);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve(Buffer.concat(chunks));
          const retryAfter = res.headers['retry-after'];
          const v = classifyHttpStatus(status, Array.isArray(retryAfter) ? retryAfter[0] : retryAfter);
          const text = Buffer.concat(chunks).toString('utf8').trim().slice(0, 300);
          reject(new ExportError(`HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}${text ? `: ${text}` : ''}`, v.retryable, v.retryAfterMs));
        });
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error(`request timed out after ${this.#o.timeoutMs}ms`), { code: 'ETIMEDOUT' })));
      req.on('error', (e) => reject(Object.assign(e, { reusedSocket: req.reusedSocket })));
      closed = new Promise<void>((done) => req.once('close', () => done()));
      req.end(payload);
    });
    return { response, closed };
  }

  close(): void {
    this.#agent.destroy();
  }
}
