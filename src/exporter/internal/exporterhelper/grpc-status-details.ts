// Reads the retry delay a gRPC server attached to an error: the trailer
// `grpc-status-details-bin` is a google.rpc.Status whose `details` may hold a
// google.rpc.RetryInfo { google.protobuf.Duration retry_delay = 1 }. A few
// lines of protobuf wire decoding, so no proto runtime is needed at run time.

const RETRY_INFO = 'type.googleapis.com/google.rpc.RetryInfo';

interface Field { no: number; wire: number; value: number | Uint8Array }

function* fields(buf: Uint8Array): Generator<Field> {
  let i = 0;
  const varint = (): number => {
    let v = 0;
    let mul = 1;
    for (;;) {
      if (i >= buf.length) throw new RangeError('truncated varint');
      const b = buf[i++]!;
      v += (b & 0x7f) * mul;
      if (!(b & 0x80)) return v;
      mul *= 128;
      if (mul > 2 ** 63) throw new RangeError('varint too long');
    }
  };
  while (i < buf.length) {
    const key = varint();
    const no = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) yield { no, wire, value: varint() };
    else if (wire === 2) {
      const len = varint();
      if (i + len > buf.length) throw new RangeError('truncated field');
      yield { no, wire, value: buf.subarray(i, i + len) };
      i += len;
    } else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else throw new RangeError(`unsupported wire type ${wire}`);
  }
}

/** The RetryInfo delay in ms, or undefined when there is none (or the bytes are malformed). */
export function retryDelayFromStatusDetails(status: Uint8Array): number | undefined {
  try {
    for (const f of fields(status)) {
      if (f.no !== 3 || !(f.value instanceof Uint8Array)) continue;
      let type = '';
      let value: Uint8Array | undefined;
      for (const a of fields(f.value)) {
        if (a.no === 1 && a.value instanceof Uint8Array) type = new TextDecoder().decode(a.value);
        if (a.no === 2 && a.value instanceof Uint8Array) value = a.value;
      }
      if (type !== RETRY_INFO || !value) continue;
      for (const r of fields(value)) {
        if (r.no !== 1 || !(r.value instanceof Uint8Array)) continue;
        let seconds = 0;
        let nanos = 0;
        for (const d of fields(r.value)) {
          if (d.no === 1 && typeof d.value === 'number') seconds = d.value;
          if (d.no === 2 && typeof d.value === 'number') nanos = d.value;
        }
        return seconds * 1000 + Math.round(nanos / 1e6);
      }
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/** Encodes a google.rpc.Status with a RetryInfo detail (for tests and in-test servers). */
export function encodeStatusWithRetryInfo(code: number, message: string, delayMs: number): Uint8Array {
  const enc = new TextEncoder();
  const varint = (v: number): number[] => {
    const out: number[] = [];
    while (v >= 128) {
      out.push((v % 128) | 0x80);
      v = Math.floor(v / 128);
    }
    out.push(v);
    return out;
  };
  const bytesField = (no: number, b: Uint8Array | number[]) => [...varint(no * 8 + 2), ...varint(b.length), ...b];
  const duration = [...varint(8), ...varint(Math.floor(delayMs / 1000)), ...varint(16), ...varint((delayMs % 1000) * 1e6)];
  const retryInfo = bytesField(1, duration);
  const any = [...bytesField(1, enc.encode(RETRY_INFO)), ...bytesField(2, retryInfo)];
  return Uint8Array.from([...varint(8), ...varint(code), ...bytesField(2, enc.encode(message)), ...bytesField(3, any)]);
}
