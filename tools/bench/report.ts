import { Figure, verdict } from './harness';

export interface ScenarioReport {
  name: string;
  description: string;
  ok: boolean;
  error?: string;
  durationMs: number;
  figures: Array<Figure & { verdict: string }>;
  details?: Record<string, unknown>;
}

function formatValue(value: Figure['value'], unit?: string): string {
  const text = typeof value === 'number' ? formatNumber(value) : String(value);
  return unit ? `${text} ${unit}` : text;
}

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return value.toLocaleString('en-US');
  return value.toLocaleString('en-US', { maximumFractionDigits: Math.abs(value) < 10 ? 2 : 1 });
}

function formatTarget(figure: Figure): string {
  if (!figure.target) return '';
  const { op, value } = figure.target;
  return `${op} ${formatValue(value, typeof value === 'number' ? figure.unit : undefined)}`;
}

/** A plain-text table per scenario: figure, value, target, PASS/MISS. */
export function renderTable(reports: ScenarioReport[]): string {
  const lines: string[] = [];
  for (const report of reports) {
    lines.push('');
    lines.push(`== ${report.name}: ${report.description} (${(report.durationMs / 1000).toFixed(1)} s)`);
    if (!report.ok) lines.push(`   ERROR: ${report.error ?? 'failed'}`);
    const rows = report.figures.map((f) => [
      f.label,
      formatValue(f.value, f.unit),
      formatTarget(f),
      f.verdict,
      f.note ?? '',
    ]);
    if (rows.length === 0) continue;
    const header = ['figure', 'value', 'target', 'result', 'note'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (cells: string[]) =>
      `   ${cells.map((c, i) => (i === 1 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ')}`.trimEnd();
    lines.push(line(header));
    lines.push(line(widths.map((w) => '-'.repeat(w))));
    for (const row of rows) lines.push(line(row));
  }
  return `${lines.join('\n')}\n`;
}

export function withVerdicts(figures: Figure[]): Array<Figure & { verdict: string }> {
  return figures.map((f) => ({ ...f, verdict: verdict(f) }));
}
