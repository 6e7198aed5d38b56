// Small statistics and the table the bench prints (and writes into README.md).

export interface Summary {
  /** samples summarized (finite values) */
  n: number;
  /** samples that were expected but never arrived (a NaN, or fewer values than expected) */
  missing: number;
  /** NaN when n = 0 (null in bench.json) */
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

/**
 * Median, p95 (nearest rank), mean, min and max of the finite values. `expected` is how many
 * samples should have arrived (default: values.length); every one that did not, or arrived as NaN,
 * counts as missing.
 */
export function summarize(values: readonly number[], expected = values.length): Summary {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  const n = sorted.length;
  const missing = Math.max(0, expected - n);
  if (n === 0) return { n: 0, missing, median: Number.NaN, p95: Number.NaN, mean: Number.NaN, min: Number.NaN, max: Number.NaN };
  const mid = Math.floor(n / 2);
  const median = n % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return {
    n,
    missing,
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

/** `n=40`, or `n=38 (2 missing)`. */
export function nOf(summary: Pick<Summary, 'n' | 'missing'> | undefined): string {
  if (!summary) return 'n=0';
  return `n=${summary.n}${summary.missing > 0 ? ` (${summary.missing} missing)` : ''}`;
}

/** A figure in ms, or why there is none. Never prints NaN. */
export function ms(value: number | undefined, why = 'no sample arrived'): string {
  return value !== undefined && Number.isFinite(value) ? `${value.toFixed(2)} ms` : `not measured (${why})`;
}

/** A plain number with `digits` decimals, or why there is none. */
export function num(value: number | undefined, digits: number, why = 'no sample arrived'): string {
  return value !== undefined && Number.isFinite(value) ? value.toFixed(digits) : `not measured (${why})`;
}

/** The median of a summary in ms; "not measured (why)" when nothing arrived. */
export function med(summary: Summary | undefined, why = 'no sample arrived'): string {
  return summary && summary.n > 0 ? ms(summary.median) : `not measured (${why})`;
}

export interface Cell {
  text: string;
  /** undefined: informational, no target */
  met?: boolean;
}

export interface Row {
  figure: string;
  target: string;
  bearer: Cell;
  dpop: Cell;
}

export const COLUMNS = ['figure', 'bearer tokens', 'DPoP-bound tokens', 'target'] as const;

const cellText = (cell: Cell) => `${cell.text}${cell.met === undefined ? '' : cell.met ? ' — met' : ' — MISSED'}`;

/**
 * The table as Markdown with padded columns: readable on a terminal and rendered on GitHub. The
 * same text goes to the console, bench.txt and README.md.
 */
export function markdownTable(rows: readonly Row[]): string {
  const escape = (text: string) => text.replaceAll('|', '\\|');
  const lines = [[...COLUMNS], ...rows.map((r) => [r.figure, cellText(r.bearer), cellText(r.dpop), r.target].map(escape))];
  const widths = COLUMNS.map((_, i) => Math.max(3, ...lines.map((l) => (l[i] as string).length)));
  const line = (cols: readonly string[]) => `| ${cols.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`;
  const rule = `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`;
  return [line(lines[0] as string[]), rule, ...lines.slice(1).map(line)].join('\n');
}
