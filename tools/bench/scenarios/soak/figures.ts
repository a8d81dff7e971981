import { median, percentile, round, say, ScenarioResult } from '../../harness';
import type { Drained } from './drain';
import type { Route, RouteStats } from './traffic';

/** RSS growth tolerated as noise: the larger of these. */
const NOISE_MB = 48;
const NOISE_FRACTION = 0.15;
const MB = 1024 * 1024;

export interface MemorySample {
  at: number;
  rss: number;
  heap: number;
}

/** What the soak measured, as it is reported. */
export interface SoakOutcome {
  seconds: number;
  callers: number;
  tracks: number;
  wallMs: number;
  stats: Map<Route, RouteStats>;
  samples: MemorySample[];
  startedUploads: number;
  startedPipelines: number;
  drained: Drained;
  spoolDir: string;
}

/** The error rate, p99 per route, uploads and pipelines done, and RSS at the start and the end (first/last tenth). */
export function soakFigures(outcome: SoakOutcome): ScenarioResult {
  const { seconds, callers, tracks, wallMs, spoolDir, stats, samples, startedUploads, startedPipelines } = outcome;
  const { uploadStates, pipelineStates, uploadsDone, pipelinesDone } = outcome.drained;
  const tenth = Math.max(1, Math.floor(samples.length / 10));
  const rssStart = median(samples.slice(0, tenth).map((s) => s.rss));
  const rssEnd = median(samples.slice(-tenth).map((s) => s.rss));
  const heapStart = median(samples.slice(0, tenth).map((s) => s.heap));
  const heapEnd = median(samples.slice(-tenth).map((s) => s.heap));
  const growthMb = round((rssEnd - rssStart) / MB, 1);
  const noiseMb = round(Math.max(NOISE_MB, (NOISE_FRACTION * rssStart) / MB), 0);
  const all = [...stats.values()];
  const total = all.reduce((n, s) => n + s.latencies.length, 0);
  const errors = all.reduce((n, s) => n + s.errors, 0);
  const errorRate = total ? (errors / total) * 100 : 0;
  say(`soak: ${total} requests, ${errors} errors; RSS ${round(rssStart / MB, 0)} → ${round(rssEnd / MB, 0)} MB`);

  const routeFigures = [...stats.entries()].map(([route, s]) => ({
    key: `soak.p99_ms.${route.replace(/[^a-z]+/g, '_').replace(/_$/, '')}`,
    label: `${route}: latency p99`,
    value: round(percentile(s.latencies, 99), 1),
    unit: 'ms',
    note: `${s.latencies.length} requests, p50 ${round(percentile(s.latencies, 50), 1)} ms, ${s.errors} errors; statuses ${Object.entries(
      s.statuses,
    )
      .map(([k, v]) => `${k}×${v}`)
      .join(' ')}`,
  }));

  return {
    figures: [
      {
        key: 'soak.requests',
        label: `requests in ${seconds} s (${callers} callers + uploads/pipelines)`,
        value: total,
        note: `${round(total / (wallMs / 1000), 0)} req/s`,
      },
      {
        key: 'soak.error_rate',
        label: 'error rate (unexpected status or no answer)',
        value: round(errorRate, 3),
        unit: '%',
        target: { op: '<=', value: 0.1 },
        note: `${errors} of ${total}`,
      },
      ...routeFigures,
      {
        key: 'soak.uploads_done',
        label: 'uploads done after the soak',
        value: `${uploadsDone}/${startedUploads}`,
        target: { op: '==', value: `${startedUploads}/${startedUploads}` },
        note: `by status: ${JSON.stringify(uploadStates)}`,
      },
      {
        key: 'soak.pipelines_done',
        label: 'collaboration pipelines done after the soak',
        value: `${pipelinesDone}/${startedPipelines}`,
        target: { op: '==', value: `${startedPipelines}/${startedPipelines}` },
        note: `by status: ${JSON.stringify(pipelineStates)}`,
      },
      {
        key: 'soak.rss_start_mb',
        label: 'RSS at the start (median, first tenth)',
        value: round(rssStart / MB, 1),
        unit: 'MB',
      },
      {
        key: 'soak.rss_end_mb',
        label: 'RSS at the end (median, last tenth)',
        value: round(rssEnd / MB, 1),
        unit: 'MB',
      },
      {
        key: 'soak.rss_growth_mb',
        label: 'RSS growth over the soak',
        value: growthMb,
        unit: 'MB',
        target: { op: '<=', value: noiseMb },
        note: `noise allowance ${noiseMb} MB; V8 heap used ${round(heapStart / MB, 1)} → ${round(heapEnd / MB, 1)} MB`,
      },
    ],
    details: {
      seconds,
      callers,
      tracks,
      wallMs: round(wallMs),
      routes: Object.fromEntries(
        [...stats.entries()].map(([route, s]) => [
          route,
          {
            count: s.latencies.length,
            errors: s.errors,
            statuses: s.statuses,
            p50: round(percentile(s.latencies, 50), 2),
            p99: round(percentile(s.latencies, 99), 2),
          },
        ]),
      ),
      uploads: { started: startedUploads, byStatus: uploadStates },
      pipelines: { started: startedPipelines, byStatus: pipelineStates },
      memory: {
        samples: samples.map((s) => ({
          t: s.at - samples[0].at,
          rssMb: round(s.rss / MB, 1),
          heapMb: round(s.heap / MB, 1),
        })),
      },
      spoolDir,
    },
  };
}
