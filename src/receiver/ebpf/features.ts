// The optional datapath features the ebpf receiver's config enables.

import type { CreateSettings } from '../../component/component.ts';
import type { EbpfConfig } from './config.ts';
import type { DatapathFeature } from './datapath-feature.ts';
import { DnsFeature } from './dns/dns-feature.ts';
import { DropFeature } from './drops/drop-feature.ts';

export function createFeatures(settings: CreateSettings, config: EbpfConfig): DatapathFeature[] {
  const features: DatapathFeature[] = [];
  if (config.dns.enabled) features.push(new DnsFeature(settings, config));
  if (config.drops.enabled) features.push(new DropFeature(settings, config.drops, { includeLoopback: config.include_loopback }));
  return features;
}
