// Which end of a flow edge holds the server's port. The client's port is
// ephemeral (one value per connection), so only the server's port may become an
// attribute or a grouping key; reading the wrong one gives a series per
// connection.
//
// - FLAG_SOURCE_IS_CLIENT set: the destination is the server (client → server edge).
// - TCP without it: the reply edge (server → client), so the source is the server;
//   every receiver marks TCP client → server edges.
// - UDP without it: receivers often cannot know who spoke first, so the lower
//   port is taken as the server's (53, 123, 8125 against 32768+ ephemeral ports).

import { FLAG_SOURCE_IS_CLIENT, PROTO_TCP } from './flow-batch.ts';

export function serverPortIsDestination(protocol: number, flags: number, srcPort: number, dstPort: number): boolean {
  if (flags & FLAG_SOURCE_IS_CLIENT) return true;
  if (protocol === PROTO_TCP) return false;
  return dstPort <= srcPort;
}
