import { EntityManager, MikroORM, RequestContext } from '@mikro-orm/postgresql';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { AppModule } from '../../../src/app.module';
import { ApiTokensService } from '../../../src/modules/accounts/api-tokens.service';
import { User } from '../../../src/modules/accounts/entities/user.entity';
import { CollabPipeline } from '../../../src/modules/collaboration/entities/collab-pipeline.entity';
import { Track } from '../../../src/modules/files/entities/track.entity';
import { Upload } from '../../../src/modules/files/entities/upload.entity';
import { TrackFile } from '../../../src/modules/files/entities/track-file.entity';
import { MediaPreview } from '../../../src/modules/media/entities/media-preview.entity';
import { SharesService } from '../../../src/modules/share/shares.service';
import { ShareTuning } from '../../../src/modules/share/share-tuning';
import { makeWav } from '../../fixtures/audio';
import { benchTrackFiles } from '../share-fixtures';
import { procStatus } from '../memory';
import { BenchContext, median, percentile, round, say, Scenario, ScenarioResult } from '../harness';

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
 */

const CALLERS = 8;
const TRACKS = 12;
const MAX_REQUESTS = 500_000;
/** A new upload this often, and a new pipeline this often (each on its own track with two collaborators). */
const UPLOAD_EVERY_MS = 2_000;
const PIPELINE_EVERY_MS = 6_000;
const UPLOAD_BYTES = 512 * 1024;
/** RSS growth tolerated as noise: the larger of these. */
const NOISE_MB = 48;
const NOISE_FRACTION = 0.15;
/** After the traffic: how long queued uploads and pipelines may take to finish. */
const DRAIN_MS = 60_000;

type Route =
  | 'share page'
  | 'play (redirect)'
  | 'play (relay)'
  | 'download'
  | 'download-all'
  | 'upload'
  | 'pipeline start'
  | 'status';

interface RouteStats {
  latencies: number[];
  errors: number;
  statuses: Record<string, number>;
}

const MB = 1024 * 1024;

export const soakScenario: Scenario = {
  name: 'soak',
  description:
    'mixed traffic for --duration s (share pages, plays, downloads, uploads, pipelines): errors, p99 per route, RSS start/end',
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const seconds = ctx.options.durationSeconds ?? (ctx.options.quick ? 10 : 60);
    const [producer, app, config] = await Promise.all([ctx.producer(), ctx.app(), ctx.config()]);
    const base = await ctx.listen();
    const orm = app.get(MikroORM);

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

    const { secret } = await RequestContext.create(orm.em, () =>
      app.get(ApiTokensService).create(producer.userId, 'soak'),
    );
    const auth = { Authorization: `Bearer ${secret}` };
    const apiJson = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: { ...auth, Accept: 'application/json', ...(body ? { 'Content-Type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      const text = await res.text();
      return { status: res.status, body: text ? (JSON.parse(text) as unknown) : null };
    };

    // ---- Data: tracks with a master bounce (downloadable), a stem (listen only: relayed) and a project, one share ----
    say(`soak: ${TRACKS} shared tracks in Dropbox…`);
    const em = app.get(EntityManager).fork();
    const folder = `/Bench/soak-${Date.now()}`;
    const bounce = makeWav({ seconds: 2, sampleRate: 22_050, channels: 1, frequencies: [220] });
    const stem = makeWav({ seconds: 2, sampleRate: 22_050, channels: 1, frequencies: [110] });
    const selection: Array<{ trackId: string; files: string[] }> = [];
    for (let i = 0; i < TRACKS; i += 1) {
      const n = String(i + 1).padStart(2, '0');
      const track = em.create(Track, {
        owner: em.getReference(User, producer.userId),
        title: `Soak ${n}`,
        sharingStatus: 'preview',
      });
      const files = await benchTrackFiles(em, producer.client, track, `${folder}/Soak ${n}`, {
        bounce,
        stem,
        seconds: 2,
        projectBytes: 16 * 1024,
      });
      selection.push({ trackId: track.id, files });
    }
    const share = await RequestContext.create(orm.em, () =>
      app.get(SharesService).create(producer.userId, {
        tracks: selection,
        title: 'Soak',
        expiry: 'never',
        downloads: { bounce: true, project: true, stem: false },
      }),
    );
    // Listeners hear previews: let the workers build them before traffic starts (a play meanwhile answers 503).
    const audioIds = (
      await em
        .fork()
        .find(TrackFile, { track: { $in: selection.map((s) => s.trackId) }, category: { $in: ['bounce', 'stem'] } })
    ).map((f) => f.id);
    for (
      let waited = 0;
      (await em.fork().count(MediaPreview, { file: { $in: audioIds }, status: 'ready' })) < audioIds.length;
      waited += 1
    ) {
      if (waited > 600) throw new Error('the previews of the soak share were not built within 5 minutes');
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const html = await (await fetch(`${base}${share.path}`)).text();
    const plays = [...html.matchAll(/<audio[^>]* src="([^"]+\/play)"/g)].map((m) => m[1]);
    const downloads = [...new Set([...html.matchAll(/href="([^"]+\/download)"/g)].map((m) => m[1]))];
    if (plays.length === 0 || downloads.length === 0)
      throw new Error(`the share page lists ${plays.length} plays and ${downloads.length} downloads`);
    // Which plays are redirected (downloadable bounces) and which relayed (listen-only stems) is the server's call: classify by answer.
    const downloadAll = `${share.path}/download-all`;

    // An upload target, and tracks with two collaborators each for the pipelines (created through the API: they get
    // their Dropbox folders; their stems are put in Dropbox directly).
    const uploadTrack = await apiJson('POST', '/api/v1/tracks', { title: `Soak uploads ${Date.now()}` });
    if (uploadTrack.status !== 201)
      throw new Error(`upload track: ${uploadTrack.status} ${JSON.stringify(uploadTrack.body)}`);
    const uploadTrackId = (uploadTrack.body as { id: string }).id;
    const pipelineCount = Math.max(1, Math.ceil((seconds * 1000) / PIPELINE_EVERY_MS));
    say(`soak: ${pipelineCount} tracks with collaborators for pipelines…`);
    const pipelineTracks: Array<{ id: string; selection: string[] }> = [];
    for (let i = 0; i < pipelineCount; i += 1) {
      const created = await apiJson('POST', '/api/v1/tracks', {
        title: `Soak band ${i + 1} ${randomBytes(2).toString('hex')}`,
      });
      if (created.status !== 201) throw new Error(`pipeline track: ${created.status}`);
      const { id, dropboxFolderPath } = created.body as { id: string; dropboxFolderPath: string };
      const ids: string[] = [];
      for (const name of ['Bass.wav', 'Keys.wav']) {
        const entry = await producer.client.upload(`${dropboxFolderPath}/Stems/${name}`, {
          size: stem.length,
          open: () => Readable.from([stem]),
        });
        ids.push(`d:${entry.id}`);
      }
      for (let c = 0; c < 2; c += 1) {
        const made = await apiJson('POST', '/api/v1/collaborators', {
          name: `Soak collaborator ${i + 1}.${c + 1} ${randomBytes(2).toString('hex')}`,
          email: `soak-${randomBytes(4).toString('hex')}@example.com`,
          role: 'musician',
        });
        if (made.status !== 201) throw new Error(`collaborator: ${made.status} ${JSON.stringify(made.body)}`);
        await apiJson('POST', `/api/v1/tracks/${id}/collaborators`, {
          collaboratorId: (made.body as { id: string }).id,
        });
      }
      pipelineTracks.push({ id, selection: ids });
    }

    // ---- The soak ----
    const stats = new Map<Route, RouteStats>();
    const record = (route: Route, ms: number, status: number, ok: boolean) => {
      const s = stats.get(route) ?? { latencies: [], errors: 0, statuses: {} };
      stats.set(route, s);
      s.latencies.push(ms);
      s.statuses[status] = (s.statuses[status] ?? 0) + 1;
      if (!ok) s.errors += 1;
    };
    const timed = async (route: Route, send: () => Promise<Response>, ok: (status: number) => boolean) => {
      const t0 = performance.now();
      let status = 0;
      try {
        const res = await send();
        status = res.status;
        // Read the body fully (a relayed stem, a ZIP): the server's work is done only when the client has it.
        await res.arrayBuffer();
      } catch {
        status = 0;
      }
      record(route, performance.now() - t0, status, status !== 0 && ok(status));
      return status;
    };

    const rss = () => procStatus()?.rss ?? process.memoryUsage.rss();
    const samples: Array<{ at: number; rss: number; heap: number }> = [];
    let requests = 0;
    const startedUploads: string[] = [];
    const startedPipelines: string[] = [];
    let pick = 0;

    const phase = async (ms: number, background: boolean) => {
      const deadline = Date.now() + ms;
      const callers = Array.from({ length: CALLERS }, async () => {
        while (Date.now() < deadline && requests < MAX_REQUESTS) {
          requests += 1;
          // Of every 40 requests: 16 page views, 12 plays, 11 downloads, 1 download-all ZIP.
          const r = pick++ % 40;
          if (r < 16) {
            await timed(
              'share page',
              () => fetch(`${base}${share.path}`),
              (s) => s === 200,
            );
          } else if (r < 28) {
            const url = `${base}${plays[pick % plays.length]}`;
            const t0 = performance.now();
            let status = 0;
            try {
              const res = await fetch(url, { redirect: 'manual', headers: { Range: 'bytes=0-65535' } });
              status = res.status;
              await res.arrayBuffer();
            } catch {
              status = 0;
            }
            record(
              status === 206 || status === 200 ? 'play (relay)' : 'play (redirect)',
              performance.now() - t0,
              status,
              [200, 206, 302].includes(status),
            );
          } else if (r < 39) {
            await timed(
              'download',
              () => fetch(`${base}${downloads[pick % downloads.length]}`, { redirect: 'manual' }),
              (s) => s === 302,
            );
          } else {
            await timed(
              'download-all',
              () => fetch(`${base}${downloadAll}`),
              (s) => s === 200,
            );
          }
        }
      });
      if (!background) {
        await Promise.all(callers);
        return;
      }
      // Uploads and pipelines at a steady pace beside the callers, plus their status reads.
      const uploads = (async () => {
        for (let n = 0; Date.now() < deadline; n += 1) {
          const next = Date.now() + UPLOAD_EVERY_MS;
          const form = new FormData();
          form.append('category', 'bounce');
          form.append(
            'files',
            new Blob([randomBytes(UPLOAD_BYTES)]),
            `soak-take-${String(n + 1).padStart(3, '0')}.wav`,
          );
          const t0 = performance.now();
          let status = 0;
          try {
            const res = await fetch(`${base}/api/v1/tracks/${uploadTrackId}/uploads`, {
              method: 'POST',
              headers: auth,
              body: form,
            });
            status = res.status;
            const body = (await res.json()) as Array<{ id: string }>;
            if (status === 201) startedUploads.push(...body.map((u) => u.id));
          } catch {
            status = status || 0;
          }
          record('upload', performance.now() - t0, status, status === 201);
          await sleepUntil(Math.min(next, deadline));
        }
      })();
      const pipelines = (async () => {
        for (const track of pipelineTracks) {
          if (Date.now() >= deadline) break;
          const next = Date.now() + PIPELINE_EVERY_MS;
          const t0 = performance.now();
          const res = await apiJson('POST', `/api/v1/tracks/${track.id}/collaboration`, {
            files: track.selection,
          }).catch(() => ({ status: 0, body: null }));
          record('pipeline start', performance.now() - t0, res.status, res.status >= 200 && res.status < 300);
          if (res.status >= 200 && res.status < 300) startedPipelines.push(track.id);
          // A status read of each started pipeline, as the panel polls it.
          for (const id of startedPipelines.slice(-3)) {
            const s0 = performance.now();
            const st = await apiJson('GET', `/api/v1/tracks/${id}/collaboration`).catch(() => ({
              status: 0,
              body: null,
            }));
            record('status', performance.now() - s0, st.status, st.status === 200);
          }
          await sleepUntil(Math.min(next, deadline));
        }
      })();
      await Promise.all([...callers, uploads, pipelines]);
    };

    say('soak: warm-up (3 s)…');
    await phase(3_000, false);
    stats.clear();
    requests = 0;

    say(`soak: ${seconds} s of mixed traffic, ${CALLERS} callers…`);
    const sampler = setInterval(
      () => samples.push({ at: Date.now(), rss: rss(), heap: process.memoryUsage().heapUsed }),
      1_000,
    );
    samples.push({ at: Date.now(), rss: rss(), heap: process.memoryUsage().heapUsed });
    const t0 = performance.now();
    try {
      await phase(seconds * 1000, true);
    } finally {
      clearInterval(sampler);
    }
    const wallMs = performance.now() - t0;
    samples.push({ at: Date.now(), rss: rss(), heap: process.memoryUsage().heapUsed });

    // ---- Background work finishes ----
    say(`soak: waiting for ${startedUploads.length} uploads and ${startedPipelines.length} pipelines to finish…`);
    const drainDeadline = Date.now() + DRAIN_MS;
    let uploadsDone = 0;
    let uploadsFailed = 0;
    let pipelinesDone = 0;
    let pipelinesFailed = 0;
    // Read from the database by id: the API lists only the latest 200 uploads of a track.
    const countBy = (rows: Array<{ status: string }>) =>
      rows.reduce<Record<string, number>>((acc, row) => ({ ...acc, [row.status]: (acc[row.status] ?? 0) + 1 }), {});
    let uploadStates: Record<string, number> = {};
    let pipelineStates: Record<string, number> = {};
    for (;;) {
      const db = app.get(EntityManager).fork();
      uploadStates = countBy(await db.find(Upload, { id: { $in: startedUploads } }, { fields: ['status'] }));
      pipelineStates = countBy(
        await db.find(CollabPipeline, { track: { $in: startedPipelines } }, { fields: ['status'] }),
      );
      uploadsDone = uploadStates.done ?? 0;
      uploadsFailed = uploadStates.failed ?? 0;
      pipelinesDone = pipelineStates.done ?? 0;
      pipelinesFailed = pipelineStates.failed ?? 0;
      const settled =
        uploadsDone + uploadsFailed === startedUploads.length &&
        pipelinesDone + pipelinesFailed === startedPipelines.length;
      if (settled || Date.now() > drainDeadline) break;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    say(`soak: uploads ${JSON.stringify(uploadStates)}, pipelines ${JSON.stringify(pipelineStates)}`);

    // ---- Figures ----
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
          label: `requests in ${seconds} s (${CALLERS} callers + uploads/pipelines)`,
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
          value: `${uploadsDone}/${startedUploads.length}`,
          target: { op: '==', value: `${startedUploads.length}/${startedUploads.length}` },
          note: `by status: ${JSON.stringify(uploadStates)}`,
        },
        {
          key: 'soak.pipelines_done',
          label: 'collaboration pipelines done after the soak',
          value: `${pipelinesDone}/${startedPipelines.length}`,
          target: { op: '==', value: `${startedPipelines.length}/${startedPipelines.length}` },
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
        callers: CALLERS,
        tracks: TRACKS,
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
        uploads: { started: startedUploads.length, byStatus: uploadStates },
        pipelines: { started: startedPipelines.length, byStatus: pipelineStates },
        memory: {
          samples: samples.map((s) => ({
            t: s.at - samples[0].at,
            rssMb: round(s.rss / MB, 1),
            heapMb: round(s.heap / MB, 1),
          })),
        },
        spoolDir: config.files.spoolDir,
      },
    };
  },
};

function sleepUntil(at: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));
}
