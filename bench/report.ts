/**
 * Figures -> medians, ratios against websockify, the targets, and one markdown table.
 */

export type Better = 'higher' | 'lower';

/** A goal for the wstcp/websockify ratio, or for wstcp's own value. */
export type Goal =
  | { kind: 'ratio'; min?: number; max?: number }
  | { kind: 'value'; max: number; text: string }
  | { kind: 'none' };

export interface Figure {
  section: string;
  name: string;
  unit: string;
  better: Better;
  wstcp: number[];
  websockify: number[];
  /** Plain TCP straight to the target: what the load generator and kernel manage without a bridge. */
  limit: number[];
  goal: Goal;
  /** Extra words for the last column (e.g. how many sessions websockify held). */
  note?: string;
}

export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function format(value: number | undefined, unit: string): string {
  if (value === undefined || !Number.isFinite(value)) return 'n/a';
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${unit}`;
}

function goalText(goal: Goal): string {
  if (goal.kind === 'ratio') {
    if (goal.min !== undefined) return `>= ${goal.min}x`;
    if (goal.max !== undefined) return `<= ${goal.max}x`;
  }
  if (goal.kind === 'value') return goal.text;
  return '';
}

/** 'yes', 'NO' or '' when the figure has no goal or is missing. */
export function goalMet(figure: Figure): string {
  const w = median(figure.wstcp);
  const p = median(figure.websockify);
  const { goal } = figure;
  if (w === undefined || goal.kind === 'none') return '';
  if (goal.kind === 'value') return w <= goal.max ? 'yes' : 'NO';
  if (p === undefined || p === 0) return '';
  const ratio = w / p;
  if (goal.min !== undefined && ratio < goal.min) return 'NO';
  if (goal.max !== undefined && ratio > goal.max) return 'NO';
  return 'yes';
}

/** The results as a markdown table (one row per figure, medians of the repeated runs). */
export function markdownTable(figures: readonly Figure[]): string {
  const rows = [
    '| figure | wstcp | websockify | wstcp / websockify | limit (raw TCP) | goal | met | note |',
    '|---|---:|---:|---:|---:|---|---|---|',
  ];
  let section = '';
  for (const f of figures) {
    if (f.section !== section) {
      section = f.section;
      rows.push(`| **${section}** | | | | | | | |`);
    }
    const w = median(f.wstcp);
    const p = median(f.websockify);
    const ratio = w !== undefined && p !== undefined && p !== 0 ? formatRatio(w / p) : 'n/a';
    const runs = `runs ${f.wstcp.length}/${f.websockify.length}`;
    rows.push(
      `| ${f.name} | ${format(w, f.unit)} | ${format(p, f.unit)} | ${ratio} | ${f.limit.length ? format(median(f.limit), f.unit) : ''} | ` +
        `${goalText(f.goal)} | ${goalMet(f)} | ${[f.note, runs].filter(Boolean).join('; ')} |`,
    );
  }
  return rows.join('\n');
}

function formatRatio(ratio: number): string {
  // Memory per session is three orders of magnitude apart: keep two significant digits there.
  return ratio < 0.01 ? `${ratio.toPrecision(2)}x` : `${ratio.toFixed(2)}x`;
}

export interface ScalingRow {
  workers: number;
  echoMbps: number[];
  ratePerS: number[];
}

export function scalingTable(rows: readonly ScalingRow[]): string {
  const lines = ['| workers | echo 8 x 64 KiB | new sessions/s |', '|---:|---:|---:|'];
  for (const row of rows) {
    lines.push(
      `| ${row.workers} | ${format(median(row.echoMbps), 'MB/s')} | ${format(median(row.ratePerS), '/s')} |`,
    );
  }
  return lines.join('\n');
}
