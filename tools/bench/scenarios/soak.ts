import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '../../../src/app.module';
import { ShareTuning } from '../../../src/modules/share/share-tuning';
import { procStatus } from '../memory';
import { BenchContext, say, Scenario, ScenarioResult } from '../harness';
import { soakApi } from './soak/api';
import { drain } from './soak/drain';
import { MemorySample, soakFigures } from './soak/figures';
import { CALLERS, PIPELINE_EVERY_MS, SoakTraffic } from './soak/traffic';
import { soakWorld } from './soak/world';

/**
 * A mixed soak against the app as `npm start` runs it (web and workers in this process): for `--duration` seconds,
 * a fixed number of callers send share-page views, plays (redirects to Dropbox links, and relayed listen-only
 * stems), downloads and download-all ZIPs, while uploads and collaboration pipelines are started at a steady pace
 * through the API and run on the workers. Reports the error rate, p50/p99 per route, and this process's RSS at the
 * start and the end of the traffic (medians of 1 s samples over the first and last tenth of the run); growth beyond
 * noise is a MISS.
 *
 * Every request goes to 127.0.0.1 (the app and the emulator's temporary links), at most CALLERS at a time, and the
 * run stops at its deadline or after MAX_REQUESTS, whichever comes first. The load generator shares this process's
 * event loop with the server: latencies include its (small) overhead.
 *
 * Its parts, under soak/: the share and tracks it needs (world.ts), the traffic (traffic.ts), the wait for the
 * background work (drain.ts) and the report (figures.ts).
 */

const TRACKS = 12;
/** After the traffic: how long queued uploads and pipelines may take to finish. */
const DRAIN_MS = 60_000;

export const soakScenario: Scenario = {
  name: 'soak',
  description:
    'mixed traffic for --duration s (share pages, plays, downloads, uploads, pipelines): errors, p99 per route, RSS start/end',
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const seconds = ctx.options.durationSeconds ?? (ctx.options.quick ? 10 : 60);
    const [producer, app, config] = await Promise.all([ctx.producer(), ctx.app(), ctx.config()]);
    const base = await ctx.listen();

    // The harness's app runs without workers; `npm start` runs them in the web process, so start them here too.
    const workers: INestApplicationContext = await NestFactory.createApplicationContext(
      AppModule.register({ config, workers: true }),
      {
        logger: false,
      },
    );
    await workers.init();
    ctx.onClose('soak workers', () => workers.close());

    // Every request comes from 127.0.0.1: lift the per-address share limits (the limiter still runs).
    const tuning = app.get(ShareTuning);
    const savedTuning = { ...tuning };
    tuning.pageViewsPerMinute = 1e9;
    tuning.fileRequestsPerMinute = 1e9;
    // Eight callers on one share may all be in a download-all at once: the soak measures the load, not the ZIP bounds
    // (the zips scenario does), so the per-share bound is set to the number of callers.
    tuning.zipsPerShare = 8;
    ctx.onClose('share tuning', async () => void Object.assign(tuning, savedTuning));

    const api = await soakApi(app, base, producer.userId);
    // The warm-up sends everything the soak sends, uploads and pipelines too: in a process of its own, their first
    // runs load code and fill pools, which would otherwise read as growth over the soak.
    const warmUpMs = Math.max(3_000, Math.min(10_000, (seconds * 1000) / 3));
    const pipelines = Math.max(1, Math.ceil((warmUpMs + seconds * 1000) / PIPELINE_EVERY_MS));
    const world = await soakWorld(app, base, producer, api, { tracks: TRACKS, pipelines });
    const traffic = new SoakTraffic(base, api, world);

    say(`soak: warm-up (${warmUpMs / 1000} s, uploads and pipelines included)…`);
    await traffic.phase(warmUpMs, true);
    traffic.reset();

    say(`soak: ${seconds} s of mixed traffic, ${CALLERS} callers…`);
    const rss = () => procStatus()?.rss ?? process.memoryUsage.rss();
    const samples: MemorySample[] = [];
    const sampler = setInterval(
      () => samples.push({ at: Date.now(), rss: rss(), heap: process.memoryUsage().heapUsed }),
      1_000,
    );
    samples.push({ at: Date.now(), rss: rss(), heap: process.memoryUsage().heapUsed });
    const t0 = performance.now();
    try {
      await traffic.phase(seconds * 1000, true);
    } finally {
      clearInterval(sampler);
    }
    const wallMs = performance.now() - t0;
    samples.push({ at: Date.now(), rss: rss(), heap: process.memoryUsage().heapUsed });

    const drained = await drain(app, traffic.startedUploads, traffic.startedPipelines, DRAIN_MS);
    return soakFigures({
      seconds,
      callers: CALLERS,
      tracks: TRACKS,
      wallMs,
      stats: traffic.stats,
      samples,
      startedUploads: traffic.startedUploads.length,
      startedPipelines: traffic.startedPipelines.length,
      drained,
      spoolDir: config.files.spoolDir,
    });
  },
};
