// @grpc/grpc-js, loaded where a gRPC client or server is made rather than at
// import: a config without a gRPC endpoint (the DaemonSet's Prometheus-only
// default, an otlp_http exporter) never pays for grpc-js and the node:http2 it
// loads, ~5 MiB of RSS. grpc-js is CommonJS only, so require() loads the same
// single copy synchronously, inside a factory's create(). Types come from
// `import type ... from '@grpc/grpc-js'`.

import { createRequire } from 'node:module';
import type * as Grpc from '@grpc/grpc-js';

const require = createRequire(import.meta.url);
let grpc: typeof Grpc | undefined;

export function grpcJs(): typeof Grpc {
  return (grpc ??= require('@grpc/grpc-js') as typeof Grpc);
}
