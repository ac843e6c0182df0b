// The typed face of native/conntrack (podflow_conntrack.node). Loaded only
// through load-addon.ts; everything else imports this module.

import { loadAddon } from './load-addon.ts';

/** Message kinds the session thread sends (native/conntrack/src/ct-session.h). */
export const MSG_EVENTS = 1;
export const MSG_DUMP_BEGIN = 2;
export const MSG_DUMP_BATCH = 3;
export const MSG_DUMP_END = 4;
export const MSG_LOST = 5;
export const MSG_ERROR = 6;

export const DUMP_START = 1;
export const DUMP_INTERVAL = 2;
export const DUMP_RESYNC = 3;
export const DUMP_MANUAL = 4;

/** nf_conntrack_acct as found by open(). */
export const ACCT_UNKNOWN = 0;
export const ACCT_WAS_ON = 1;
export const ACCT_ENABLED = 2;
export const ACCT_OFF = 3;

export interface NativeOpenOptions {
  rcvbuf?: number;
  dumpIntervalMs?: number;
  batchRecords?: number;
  flushMs?: number;
  events?: boolean;
  /** With events: also UPDATE (state changes), not only NEW and DESTROY. Default true. */
  updateEvents?: boolean;
  enableAcct?: boolean;
  netns?: string;
}

export interface NativeMessageInfo {
  count: number;
  dumpSeq: number;
  dumpReason: number;
  interrupted: boolean;
  errno: number;
  op: string;
}

export interface NativeStats {
  new: number;
  update: number;
  destroy: number;
  dumpRecords: number;
  /** Dump records flagged RF_CONTESTED: an event for their key was read right after their dump message. */
  contested: number;
  parseErrors: number;
  lost: number;
  resyncs: number;
  dumps: number;
  recvErrors: number;
  batches: number;
  rcvbuf: number;
  acctState: number;
  acctErrno: number;
}

export interface NativeHandle {
  close(): Promise<void>;
  resync(): void;
  stats(): NativeStats;
}

export type NativeCallback = (kind: number, records: ArrayBuffer | null, info: NativeMessageInfo) => void;

export interface ConntrackAddon {
  /** Throws an Error carrying `errno` and `op` when a socket step fails. */
  open(options: NativeOpenOptions, callback: NativeCallback): NativeHandle;
  parseMessages(bytes: Uint8Array): { records: ArrayBuffer; count: number; parseErrors: number };
  RECORD_SIZE: number;
}

export function conntrackAddon(): ConntrackAddon {
  return loadAddon<ConntrackAddon>('native/conntrack', 'podflow_conntrack');
}
