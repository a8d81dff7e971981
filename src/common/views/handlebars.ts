import hbs from 'hbs';
import { join } from 'node:path';
import { VIEWS_DIR } from '../paths';

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '';
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 1 : 0)} ${UNITS[unit]}`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '';
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

let registered: Promise<void> | undefined;

// hbs accepts options (its @types omit them).
const registerPartials = hbs.registerPartials.bind(hbs) as unknown as (
  dir: string,
  options: { rename: (name: string) => string },
  done: (err?: unknown) => void,
) => void;

/** Partials and helpers, registered once per process before the first render. */
export function registerViewEngine(): Promise<void> {
  registered ??= (async () => {
    hbs.registerHelper('eq', (a: unknown, b: unknown) => a === b);
    hbs.registerHelper('bytes', (n: number) => formatBytes(n));
    hbs.registerHelper('duration', (n: number) => formatDuration(n));
    hbs.registerHelper('date', (iso: string | Date | null | undefined) => {
      if (!iso) return '';
      const d = typeof iso === 'string' ? new Date(iso) : iso;
      return d.toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
    });
    hbs.registerHelper('year', () => new Date().getUTCFullYear());
    await new Promise<void>((resolve, reject) =>
      // Keep partial names as the files are named (hbs would turn '-' into '_').
      registerPartials(join(VIEWS_DIR, 'partials'), { rename: (name: string) => name }, (err?: unknown) =>
        err ? reject(err) : resolve(),
      ),
    );
  })();
  return registered;
}
