// Parsing of "host:port" endpoints as the Collector writes them
// ("0.0.0.0:8889", "localhost:13133", "[::1]:4317", ":8888").

export interface HostPort {
  host: string;
  port: number;
}

/** Splits an endpoint; throws a TypeError with the reason when it is not host:port. */
export function splitHostPort(endpoint: string): HostPort {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(endpoint.trim());
  if (!m) throw new TypeError(`invalid endpoint "${endpoint}": expected host:port`);
  const port = Number(m[3]);
  if (port > 65535) throw new TypeError(`invalid endpoint "${endpoint}": port ${port} is out of range`);
  const host = m[1] ?? m[2] ?? '';
  return { host: host === '' ? '0.0.0.0' : host, port };
}

/** A schema `check` for host:port settings: returns the problem text or undefined. */
export function checkHostPort(endpoint: string): string | undefined {
  try {
    splitHostPort(endpoint);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
