// Binds an HTTP server to a config endpoint ("host:port"). A taken port is a
// user error, not a crash: PODFLOW_PORT_IN_USE naming the config path that set it.

import type { Server } from 'node:http';
import { splitHostPort } from '../config/host-port.ts';
import { PodflowError } from '../errors/podflow-error.ts';

/** Listens on `endpoint`; `settingPath` is how the config names it (`exporters::prometheus::endpoint`). */
export async function listenHttp(server: Server, endpoint: string, settingPath: string): Promise<void> {
  const { host, port } = splitHostPort(endpoint);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      reject(e.code === 'EADDRINUSE'
        ? new PodflowError('PODFLOW_PORT_IN_USE', `${settingPath}: ${endpoint} is already in use`, { cause: e })
        : e);
    });
    server.listen(port, host, () => resolve());
  });
}

/** The port a listening server is bound to (the real one when configured as port 0). */
export function boundPort(server: Server | undefined): number {
  const a = server?.address();
  return a && typeof a === 'object' ? a.port : 0;
}
