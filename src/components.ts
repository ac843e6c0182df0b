// The registry of every component podflow ships: one line per component.

import { Registry } from './component/registry.ts';
import type { Factory } from './component/component.ts';
import { healthCheckExtensionFactory } from './extension/health_check/factory.ts';
import { syntheticReceiverFactory } from './receiver/synthetic/factory.ts';

export const factories: readonly Factory[] = [
  healthCheckExtensionFactory,
  syntheticReceiverFactory,
];

export function defaultRegistry(): Registry {
  return new Registry(factories);
}
