import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { TemporaryLinksService } from '../../../src/modules/dropbox/temporary-links.service';
import {
  BenchContext,
  deleteRedisKeys,
  percentile,
  round,
  runConcurrently,
  say,
  Scenario,
  ScenarioResult,
} from '../harness';

const FILES = 50;
const REQUESTS = 1000;
const CALLERS = 20;
const FILE_BYTES = 64 * 1024;
const LINK_ROUTE = 'files/get_temporary_link';

interface Pass {
  ms: number;
  p50: number;
  p95: number;
  max: number;
  calls: number;
  /** Distinct links handed out per file: 1 everywhere when every caller got the one cached link. */
  maxDistinctLinksPerFile: number;
}

/**
 * Request i asks for file ⌊i / CALLERS⌋ mod FILES: at any moment the 20 callers mostly want the same file, the
 * worst case for single-flight, and each file is asked for REQUESTS / FILES times.
 */
function fileFor(index: number): number {
  return Math.floor(index / CALLERS) % FILES;
}

export const linksScenario: Scenario = {
  name: 'links',
  description: `${REQUESTS} temporary-link requests for ${FILES} files from ${CALLERS} concurrent callers`,
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const [producer, emulator, app, services] = await Promise.all([
      ctx.producer(),
      ctx.emulator(),
      ctx.app(),
      ctx.services(),
    ]);
    const links = app.get(TemporaryLinksService);
    const client = producer.client;

    say(`links: uploading ${FILES} files of ${FILE_BYTES / 1024} KiB…`);
    const folder = `/Bench/links-${Date.now()}`;
    const files: Array<{ id: string; rev: string }> = [];
    for (let i = 0; i < FILES; i += 1) {
      const bytes = randomBytes(FILE_BYTES);
      const entry = await client.upload(`${folder}/stem-${String(i + 1).padStart(2, '0')}.wav`, {
        size: bytes.length,
        open: () => Readable.from([bytes]),
      });
      if (!entry.rev) throw new Error(`upload of file ${i} returned no rev`);
      files.push({ id: entry.id, rev: entry.rev });
    }

    const clearCache = () => deleteRedisKeys(services.redisUrl, `${services.redisPrefix}:dbx:link:*`);

    const pass = async (label: string, get: (file: { id: string; rev: string }) => Promise<string>): Promise<Pass> => {
      await emulator.resetCounters();
      const latencies: number[] = new Array(REQUESTS);
      const seen: Array<Set<string>> = files.map(() => new Set());
      const started = performance.now();
      await runConcurrently(REQUESTS, CALLERS, async (i) => {
        const t0 = performance.now();
        const link = await get(files[fileFor(i)]);
        latencies[i] = performance.now() - t0;
        seen[fileFor(i)].add(link);
      });
      const ms = performance.now() - started;
      const counters = await emulator.counters();
      const result = {
        ms: round(ms),
        p50: round(percentile(latencies, 50), 2),
        p95: round(percentile(latencies, 95), 2),
        max: round(Math.max(...latencies), 2),
        calls: counters.callsByRoute[LINK_ROUTE] ?? 0,
        maxDistinctLinksPerFile: Math.max(...seen.map((s) => s.size)),
      };
      say(`links: ${label}: ${result.ms} ms, ${result.calls} ${LINK_ROUTE} calls`);
      return result;
    };

    const viaCache = (file: { id: string; rev: string }) => links.link(client, file).then((l) => l.link);

    await clearCache();
    const cold = await pass('cold cache', viaCache);
    const warm = await pass('warm cache', viaCache);
    // For scale: the same requests without the cache, each one a Dropbox call.
    const uncached = await pass('no cache (direct gateway calls)', (file) =>
      client.temporaryLink(file.id).then((l) => l.link),
    );

    return {
      figures: [
        {
          key: 'links.cold_calls',
          label: `${LINK_ROUTE} calls, ${REQUESTS} requests, cold cache`,
          value: cold.calls,
          unit: 'calls',
          target: { op: '==', value: FILES },
        },
        {
          key: 'links.cold_ms',
          label: `${REQUESTS} requests, cold cache: total time`,
          value: cold.ms,
          unit: 'ms',
          note: `p50 ${cold.p50} ms, p95 ${cold.p95} ms, max ${cold.max} ms`,
        },
        {
          key: 'links.one_link_per_file',
          label: 'every caller got the same link for a file (cold)',
          value: cold.maxDistinctLinksPerFile === 1,
          target: { op: '==', value: true },
        },
        {
          key: 'links.warm_calls',
          label: `${LINK_ROUTE} calls, ${REQUESTS} requests, warm cache`,
          value: warm.calls,
          unit: 'calls',
          target: { op: '==', value: 0 },
        },
        {
          key: 'links.warm_ms',
          label: `${REQUESTS} requests, warm cache: total time`,
          value: warm.ms,
          unit: 'ms',
          note: `p50 ${warm.p50} ms, p95 ${warm.p95} ms, max ${warm.max} ms`,
        },
        {
          key: 'links.uncached_ms',
          label: `${REQUESTS} direct gateway calls (no cache), for scale`,
          value: uncached.ms,
          unit: 'ms',
          note: `${uncached.calls} calls; p50 ${uncached.p50} ms, p95 ${uncached.p95} ms`,
        },
      ],
      details: { files: FILES, requests: REQUESTS, callers: CALLERS, fileBytes: FILE_BYTES, cold, warm, uncached },
    };
  },
};
