// Small statistics and the fixed-width table the bench prints.

export interface Summary {
  n: number;
  median: number;
  p95: number;
  mean: number;
  min: number;
  max: number;
}

function quantile(sorted: readonly number[], q: number): number {
  // nearest rank
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] ?? Number.NaN;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return { n: 0, median: Number.NaN, p95: Number.NaN, mean: Number.NaN, min: Number.NaN, max: Number.NaN };
  const mid = Math.floor(n / 2);
  const median = n % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return {
    n,
    median: round(median),
    p95: round(quantile(sorted, 0.95)),
    mean: round(sorted.reduce((s, v) => s + v, 0) / n),
    min: round(sorted[0] as number),
    max: round(sorted[n - 1] as number),
  };
}

export function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export interface Row {
  figure: string;
  measured: string;
  target: string;
  /** undefined: informational row, no target */
  met?: boolean;
}

export function table(title: string, rows: readonly Row[]): string {
  const widths = [46, 30, 14, 6];
  const cell = (text: string, width: number) => (text.length > width ? `${text.slice(0, width - 1)}…` : text.padEnd(width));
  const line = (cols: string[]) => `| ${cols.map((c, i) => cell(c, widths[i] as number)).join(' | ')} |`;
  const rule = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  const out = [title, line(['figure', 'measured (this run)', 'target', 'result']), rule];
  for (const row of rows) out.push(line([row.figure, row.measured, row.target, row.met === undefined ? '' : row.met ? 'met' : 'MISSED']));
  return out.join('\n');
}

export const ms = (value: number) => `${value.toFixed(2)} ms`;
