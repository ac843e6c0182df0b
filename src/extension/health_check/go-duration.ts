// Formats milliseconds the way Go's time.Duration prints ("1h2m3.5s",
// "27.46s", "250ms"), since the Collector's health check reports its uptime so
// and probes or dashboards may parse it.

export function goDuration(ms: number): string {
  if (ms <= 0) return '0s';
  if (ms < 1000) return `${trim(ms.toFixed(3))}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${trim(s.toFixed(3))}s`;
}

function trim(n: string): string {
  return n.includes('.') ? n.replace(/\.?0+$/, '') : n;
}
