// A running conntrack subscription: the native session (event socket + dumps on
// a native thread) and the listeners its batches are dispatched to. Several
// listeners can share one session (the conntrack receiver and the NAT join).

import { PodflowError } from '../errors/podflow-error.ts';
import {
  conntrackAddon, MSG_DUMP_BATCH, MSG_DUMP_BEGIN, MSG_DUMP_END, MSG_ERROR, MSG_EVENTS, MSG_LOST,
  DUMP_START, type NativeHandle, type NativeMessageInfo, type NativeOpenOptions, type NativeStats,
} from './conntrack-addon.ts';
import { conntrackError } from './conntrack-errors.ts';
import { RecordView } from './conntrack-record.ts';

export interface ConntrackListener {
  /** NEW / UPDATE / DESTROY events, in kernel order. */
  onEvents?(view: RecordView): void;
  onDumpBegin?(seq: number, reason: number): void;
  onDumpRecords?(view: RecordView, seq: number): void;
  /** `interrupted`: the kernel flagged the snapshot as inconsistent. */
  onDumpEnd?(seq: number, reason: number, interrupted: boolean): void;
  /** The event socket overflowed (ENOBUFS); a resync dump follows. */
  onLost?(): void;
  onError?(error: PodflowError): void;
}

export type ConntrackSessionOptions = NativeOpenOptions;

export class ConntrackSession {
  readonly #handle: NativeHandle;
  readonly #listeners = new Set<ConntrackListener>();
  readonly #where: string;
  /** Settles when the first (start) dump has been delivered, or its error. */
  readonly ready: Promise<void>;
  #resolveReady!: () => void;
  #rejectReady!: (e: PodflowError) => void;
  #startDone = false;
  #closing: Promise<void> | undefined;
  #lastBeginSeq = 0;
  #dumpWaiters: Array<{ after: number; resolve: () => void }> = [];

  /** Opens the sockets; throws PodflowError (privilege, kernel support) synchronously. */
  constructor(options: ConntrackSessionOptions, where: string) {
    this.#where = where;
    this.ready = new Promise<void>((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    // A rejection nobody awaits (a session closed before start finished) is not a crash.
    this.ready.catch(() => undefined);
    try {
      this.#handle = conntrackAddon().open(options, (kind, buf, info) => this.#dispatch(kind, buf, info));
    } catch (e) {
      if (e instanceof PodflowError) throw e;
      const err = e as Error & { errno?: number; op?: string };
      if (typeof err.errno === 'number') throw conntrackError(err.errno, err.op ?? 'open', where);
      throw e;
    }
  }

  addListener(l: ConntrackListener): void {
    this.#listeners.add(l);
  }

  removeListener(l: ConntrackListener): void {
    this.#listeners.delete(l);
  }

  stats(): NativeStats {
    return this.#handle.stats();
  }

  /** Asks for a dump now (it runs after any dump in progress). */
  resync(): void {
    this.#handle.resync();
  }

  /** Requests a dump and resolves once a dump that began after this call has ended. */
  dumpNow(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#dumpWaiters.push({ after: this.#lastBeginSeq, resolve });
      this.#handle.resync();
    });
  }

  close(): Promise<void> {
    this.#closing ??= this.#handle.close().then(() => {
      for (const w of this.#dumpWaiters.splice(0)) w.resolve();
      if (!this.#startDone) this.#rejectReady(new PodflowError('PODFLOW_COMPONENT_START', `${this.#where}: closed before the first dump`));
    });
    return this.#closing;
  }

  #dispatch(kind: number, buf: ArrayBuffer | null, info: NativeMessageInfo): void {
    if (this.#closing) return;
    switch (kind) {
      case MSG_EVENTS: {
        const view = new RecordView(buf!);
        for (const l of this.#listeners) l.onEvents?.(view);
        break;
      }
      case MSG_DUMP_BEGIN:
        this.#lastBeginSeq = info.dumpSeq;
        for (const l of this.#listeners) l.onDumpBegin?.(info.dumpSeq, info.dumpReason);
        break;
      case MSG_DUMP_BATCH: {
        const view = new RecordView(buf!);
        for (const l of this.#listeners) l.onDumpRecords?.(view, info.dumpSeq);
        break;
      }
      case MSG_DUMP_END:
        for (const l of this.#listeners) l.onDumpEnd?.(info.dumpSeq, info.dumpReason, info.interrupted);
        this.#dumpWaiters = this.#dumpWaiters.filter((w) => {
          if (info.dumpSeq <= w.after) return true;
          w.resolve();
          return false;
        });
        if (info.dumpReason === DUMP_START && !this.#startDone) {
          this.#startDone = true;
          this.#resolveReady();
        }
        break;
      case MSG_LOST:
        for (const l of this.#listeners) l.onLost?.();
        break;
      case MSG_ERROR: {
        const e = conntrackError(info.errno, info.op, this.#where);
        if (!this.#startDone) {
          this.#startDone = true;
          this.#rejectReady(e);
        } else {
          for (const l of this.#listeners) l.onError?.(e);
        }
        break;
      }
      default:
        break;
    }
  }
}
