// Compact human units for the flow table: SI rates ("12.3 MB/s"), counts
// ("4.5k") and RTTs ("310us", "1.2ms").

const SI = ['', 'k', 'M', 'G', 'T', 'P'];

/** 3 significant digits with an SI prefix: 999, 1.20k, 45.6M. */
export function si(n: number): string {
  if (!Number.isFinite(n) || n === 0) return '0';
  let i = 0;
  let v = Math.abs(n);
  while (v >= 999.5 && i < SI.length - 1) {
    v /= 1000;
    i++;
  }
  const digits = i === 0 && Number.isInteger(n) ? 0 : v >= 99.95 ? 0 : v >= 9.995 ? 1 : 2;
  return `${n < 0 ? '-' : ''}${v.toFixed(digits)}${SI[i]}`;
}

export function bytesRate(bytesPerSecond: number): string {
  return `${si(bytesPerSecond)}B/s`;
}

export function rtt(us: number): string {
  if (!(us > 0)) return '-';
  if (us < 1000) return `${Math.round(us)}us`;
  if (us < 1_000_000) return `${(us / 1000).toFixed(us < 10_000 ? 2 : 1)}ms`;
  return `${(us / 1_000_000).toFixed(2)}s`;
}
