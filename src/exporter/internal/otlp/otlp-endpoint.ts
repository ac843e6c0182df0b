// Endpoint rules of the Collector's OTLP exporters, checked at config time.
//
// gRPC: "host:port" (TLS unless tls.insecure), "http://host:port" (plaintext) or
// "https://host:port" (TLS). HTTP: a base URL to which /v1/metrics is appended,
// or metrics_endpoint as the full URL.

export interface GrpcTarget {
  /** http(s)://host:port as the SDK's gRPC exporter takes it. */
  url: string;
  /** True when the scheme asks for TLS, undefined when there is no scheme. */
  tls: boolean | undefined;
}

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/;

/** Throws a TypeError whose message is the problem, e.g. `invalid endpoint "http//x": ...`. */
export function parseGrpcEndpoint(endpoint: string): GrpcTarget {
  const text = endpoint.trim();
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(text);
  const bad = (why: string) => new TypeError(`invalid endpoint "${endpoint}": ${why}`);
  if (scheme) {
    const proto = scheme[1]!.toLowerCase();
    if (proto !== 'http' && proto !== 'https') throw bad(`unsupported scheme "${scheme[1]}" (use host:port, http://host:port or https://host:port)`);
    let u: URL;
    try {
      u = new URL(text);
    } catch {
      throw bad('not a valid URL');
    }
    if (!u.hostname) throw bad('missing host');
    if (u.pathname !== '/' && u.pathname !== '') throw bad(`a gRPC endpoint takes no path (got "${u.pathname}")`);
    const port = u.port || (proto === 'https' ? '443' : '80');
    return { url: `${proto}://${u.hostname}:${port}`, tls: proto === 'https' };
  }
  const m = HOST_PORT.exec(text);
  if (!m) throw bad('expected host:port, http://host:port or https://host:port');
  if (Number(m[2]) > 65535) throw bad(`port ${m[2]} is out of range`);
  return { url: `https://${text}`, tls: undefined };
}

/** Checks an http(s) URL; throws a TypeError whose message is the problem. */
export function parseHttpUrl(endpoint: string): URL {
  let u: URL;
  try {
    u = new URL(endpoint.trim());
  } catch {
    throw new TypeError(`invalid endpoint "${endpoint}": expected an http:// or https:// URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new TypeError(`invalid endpoint "${endpoint}": unsupported scheme "${u.protocol.slice(0, -1)}" (use http:// or https://)`);
  }
  return u;
}

/** The base URL with the signal path appended, as the Collector's otlphttp exporter does. */
export function appendMetricsPath(base: string): string {
  return `${base.trim().replace(/\/+$/, '')}/v1/metrics`;
}
