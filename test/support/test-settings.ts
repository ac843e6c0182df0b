// CreateSettings for constructing a component directly in a test.

import type { CreateSettings, ServiceStatus, Signal } from '../../src/component/component.ts';
import { silentLogger } from '../../src/service/logger.ts';
import { SelfTelemetry } from '../../src/service/telemetry/self-telemetry.ts';

export function testSettings(id: string, opts: { signal?: Signal; telemetry?: SelfTelemetry; status?: ServiceStatus } = {}): CreateSettings {
  const status = opts.status ?? 'ready';
  return {
    id,
    signal: opts.signal ?? 'metrics',
    logger: silentLogger,
    telemetry: opts.telemetry ?? new SelfTelemetry(),
    resource: { hostName: 'test-host', nodeName: 'test-node', serviceVersion: '0.0.0-test' },
    host: { status },
  };
}
