// The logs or traces instance of otlp_grpc: otlp-signal-exporters.ts's
// component, sent with OtlpGrpcTransport. In a file of its own so that only
// otlp_grpc loads grpc-js.

import type { ConsumerComponent, CreateSettings } from '../../../component/component.ts';
import { classifyGrpcError } from '../exporterhelper/export-error.ts';
import { resolveCommon } from '../otlp/otlp-common-config.ts';
import { grpcChannelCredentials, OtlpGrpcTransport } from '../otlp/otlp-grpc-transport.ts';
import { insecureSetting } from '../otlp/tls-settings.ts';
import { parseGrpcEndpoint } from '../otlp/otlp-endpoint.ts';
import { otlpEnv, type Env } from '../otlp/otlp-env.ts';
import { component, type CommonKeys } from './otlp-signal-exporters.ts';
import { signalEnv } from './signal-env.ts';

export function createGrpcSignalExporter(settings: CreateSettings, c: CommonKeys & { endpoint?: string | undefined }): ConsumerComponent {
  const env = signalEnv(settings.signal);
  const raw = c.endpoint ?? otlpEnv('ENDPOINT', env)?.value ?? 'http://localhost:4317';
  const target = parseGrpcEndpoint(raw);
  const insecure = target.tls === undefined ? insecureSetting(c.tls, env) : !target.tls;
  const url = insecure ? target.url.replace(/^https:/, 'http:') : target.url;
  const common = resolveCommon(c, env);
  return component(settings, c, url, 'proto', () => {
    const transport = new OtlpGrpcTransport(settings.signal === 'logs' ? 'logs' : 'traces', {
      address: url.replace(/^https?:\/\//, ''),
      credentials: grpcChannelCredentials(insecure, c.tls, env),
      headers: common.headers,
      compression: common.compression,
      timeoutMs: common.timeoutMs,
    });
    return { send: (body, signal) => transport.send(body, signal), classify: classifyGrpcError, close: () => transport.close() };
  });
}
