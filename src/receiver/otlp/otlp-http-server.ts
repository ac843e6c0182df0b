// OTLP/HTTP: POST /v1/metrics, /v1/logs, /v1/traces with application/x-protobuf or application/json,
// optionally gzip-encoded. Errors answer with a google.rpc.Status body in the
// request's encoding, as the OTLP/HTTP spec asks: 400 for a malformed body,
// 413 when too large, 415 for another content type, 404 for another path or a
// signal no pipeline of this receiver takes, 405 for another method, 503 when
// the pipeline refused the data.

import { readFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGunzip } from 'node:zlib';
import { splitHostPort } from '../../config/host-port.ts';
import type { ServerTlsConfig } from './config.ts';
import { RequestError, type ExportHandler } from './otlp-grpc-server.ts';
import { RpcStatus, type OtlpSignal } from './otlp-schema.ts';
import { createServer, https } from '../../service/node-builtins.ts';

const PATHS: Record<string, OtlpSignal> = { '/v1/metrics': 'metrics', '/v1/logs': 'logs', '/v1/traces': 'traces' };

const GRPC_CODE: Record<number, number> = { 400: 3, 404: 12, 405: 12, 413: 8, 415: 3, 500: 13, 503: 14 };

export type RefusedHook = (reason: string, transport: 'http-proto' | 'http-json') => void;

export async function startHttpServer(endpoint: string, tls: ServerTlsConfig | undefined, maxMiB: number, handle: ExportHandler, refused: RefusedHook): Promise<{ server: Server; port: number }> {
  const limit = maxMiB * 1024 * 1024;
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const json = String(req.headers['content-type'] ?? '').split(';')[0]!.trim() === 'application/json';
    const transport = json ? 'http-json' : 'http-proto';
    const fail = (code: number, message: string, reason: string) => {
      refused(reason, transport);
      const st = { code: GRPC_CODE[code] ?? 2, message };
      if (json) res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(st));
      else res.writeHead(code, { 'content-type': 'application/x-protobuf' }).end(Buffer.from(RpcStatus.encode(RpcStatus.create(st)).finish()));
    };
    const path = (req.url ?? '').split('?')[0]!;
    const signal = PATHS[path];
    if (!signal) { req.resume(); fail(404, `unknown path ${path}: use /v1/metrics, /v1/logs or /v1/traces`, 'path'); return; }
    if (req.method !== 'POST') { req.resume(); fail(405, 'use POST', 'method'); return; }
    const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim();
    if (type !== 'application/json' && type !== 'application/x-protobuf') {
      req.resume();
      fail(415, `unsupported content type "${type}" (use application/x-protobuf or application/json)`, 'content_type');
      return;
    }
    const enc = String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
    if (enc !== 'gzip' && enc !== 'identity') { req.resume(); fail(415, `unsupported content encoding "${enc}"`, 'content_type'); return; }
    const stream = enc === 'gzip' ? req.pipe(createGunzip()) : req;
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    stream.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit && !done) {
        done = true;
        fail(413, `body larger than ${maxMiB} MiB`, 'too_large');
        req.destroy();
      } else chunks.push(c);
    });
    stream.on('error', () => { if (!done) { done = true; fail(400, 'the body is not valid gzip', 'malformed'); } });
    stream.on('end', () => {
      if (done) return;
      done = true;
      handle(Buffer.concat(chunks), transport, signal).then(
        () => {
          // An Export*ServiceResponse without a partial success: {} or zero bytes.
          if (json) res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
          else res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
        },
        (e: unknown) => {
          // Already counted by the handler; answer only.
          const status = e instanceof RequestError ? e.httpStatus : 500;
          const st = { code: GRPC_CODE[status] ?? 2, message: (e as Error).message };
          if (json) res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(st));
          else res.writeHead(status, { 'content-type': 'application/x-protobuf' }).end(Buffer.from(RpcStatus.encode(RpcStatus.create(st)).finish()));
        },
      );
    });
  };
  const server = tls
    ? https().createServer({
      cert: readFileSync(tls.cert_file), key: readFileSync(tls.key_file),
      ...(tls.client_ca_file !== undefined ? { ca: readFileSync(tls.client_ca_file), requestCert: true, rejectUnauthorized: true } : {}),
    }, handler)
    : createServer(handler);
  const { host, port } = splitHostPort(endpoint);
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(port, host, () => { server.off('error', rej); res(); });
  });
  return { server, port: (server.address() as AddressInfo).port };
}
