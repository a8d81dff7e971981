import { EntityManager, MikroORM, RequestContext } from '@mikro-orm/postgresql';
import { execFile } from 'node:child_process';
import express from 'express';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../../src/common/paths';
import { RedisService } from '../../../src/common/redis/redis.module';
import { User } from '../../../src/modules/accounts/entities/user.entity';
import { Track } from '../../../src/modules/files/entities/track.entity';
import { TrackFile } from '../../../src/modules/files/entities/track-file.entity';
import { PreviewsService } from '../../../src/modules/media/previews.service';
import { shareTokenHash } from '../../../src/modules/share/share-rules';
import { ShareRecipientsService } from '../../../src/modules/share/share-recipients.service';
import { SharesService } from '../../../src/modules/share/shares.service';
import { ShareTuning } from '../../../src/modules/share/share-tuning';
import { makeWav } from '../../fixtures/audio';
import { benchTrackFiles } from '../share-fixtures';
import { watchSqlStatements } from '../../services';
import { startCpuProfile } from '../memory';
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

const TRACKS = 50;
const PLAYS = 1000;
const PLAY_CALLERS = 20;
const CONNECTIONS = 50;
/** Recipients with links of their own (#14): the page is measured on the share's link and on a recipient's. */
const RECIPIENTS = 20;
const AUTOCANNON = `${PROJECT_ROOT}/node_modules/autocannon/autocannon.js`;
const run = promisify(execFile);

interface Cannon {
  rps: number;
  p99: number;
  p50: number;
  requests: number;
  non2xx: number;
  errors: number;
  bytesPerRequest: number;
}

/** autocannon in its own process, so the load generator doesn't share an event loop with the server it measures. */
async function cannon(url: string, seconds: number): Promise<Cannon> {
  const { stdout } = await run(
    process.execPath,
    [AUTOCANNON, '-c', String(CONNECTIONS), '-d', String(seconds), '--json', url],
    {
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  const r = JSON.parse(stdout) as {
    requests: { average: number; total: number };
    latency: { p99: number; p50: number };
    non2xx: number;
    errors: number;
    throughput: { total: number };
  };
  return {
    rps: round(r.requests.average, 0),
    p99: r.latency.p99,
    p50: r.latency.p50,
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors,
    bytesPerRequest: r.requests.total ? Math.round(r.throughput.total / r.requests.total) : 0,
  };
}

/** The run with the median requests/s. */
function medianRun(runs: Cannon[]): Cannon {
  return [...runs].sort((a, b) => a.rps - b.rps)[Math.floor((runs.length - 1) / 2)];
}

/**
 * The recipient's playlist page of a 50-track, 150-file share under autocannon (50 connections) against a bare
 * Express route serving the very same HTML from memory; SQL queries and Dropbox calls per view; then 1,000 plays
 * across the share and the Dropbox calls they cost.
 */
export const sharePageScenario: Scenario = {
  name: 'share-page',
  description: `share page of ${TRACKS} tracks / ${TRACKS * 3} files under autocannon (${CONNECTIONS} connections) vs bare Express; ${PLAYS.toLocaleString('en-US')} plays`,
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const [producer, emulator, app, services] = await Promise.all([
      ctx.producer(),
      ctx.emulator(),
      ctx.app(),
      ctx.services(),
    ]);
    const base = await ctx.listen();
    const seconds = ctx.options.quick ? 4 : 10;
    const orm = app.get(MikroORM);
    const tuning = app.get(ShareTuning);
    // Every autocannon request comes from 127.0.0.1: lift the per-address limits for the measurement (the limiter
    // still runs, so its cost is in the figures).
    tuning.pageViewsPerMinute = 1e9;
    tuning.fileRequestsPerMinute = 1e9;

    say(`share-page: ${TRACKS} tracks with a master bounce, a stem and a project each, in Dropbox…`);
    const client = producer.client;
    const em = app.get(EntityManager).fork();
    const folder = `/Bench/share-${Date.now()}`;
    const bounce = makeWav({ seconds: 1, sampleRate: 22_050, channels: 1, frequencies: [220] });
    const stem = makeWav({ seconds: 1, sampleRate: 22_050, channels: 1, frequencies: [110] });
    const selection: Array<{ trackId: string; files: string[] }> = [];
    for (let i = 0; i < TRACKS; i += 1) {
      const n = String(i + 1).padStart(2, '0');
      const track = em.create(Track, {
        owner: em.getReference(User, producer.userId),
        title: `Track ${n}`,
        artist: 'Bench Artist',
        bpm: 90 + i,
        musicalKey: 'A minor',
        sharingStatus: 'preview',
      });
      const files = await benchTrackFiles(em, client, track, `${folder}/Track ${n}`, {
        bounce,
        stem,
        seconds: 1,
        projectBytes: 32 * 1024,
      });
      selection.push({ trackId: track.id, files });
    }
    const share = await RequestContext.create(orm.em, () =>
      app.get(SharesService).create(producer.userId, {
        tracks: selection,
        title: 'Bench album',
        message: 'Fifty tracks for the bench',
        expiry: 'never',
        comments: true,
      }),
    );
    // Recipients hear previews: build every file's (100 one-second WAVs), so the page has a waveform per track.
    say(`share-page: building the previews of ${TRACKS * 2} audio files (ffmpeg)…`);
    const previews = app.get(PreviewsService);
    const audioFiles = await em
      .fork()
      .find(TrackFile, { track: { $in: selection.map((s) => s.trackId) }, category: { $in: ['bounce', 'stem'] } });
    await runConcurrently(audioFiles.length, 2, (i) => previews.build(audioFiles[i].id, true));
    const pageUrl = `${base}${share.path}`;
    const recipients = await RequestContext.create(orm.em, () =>
      app.get(ShareRecipientsService).createMany(
        producer.userId,
        share.id,
        Array.from({ length: RECIPIENTS }, (_, i) => ({ name: `Recipient ${i + 1}`, email: `r${i + 1}@bench.test` })),
      ),
    );
    const recipientUrl = `${base}${recipients[0].path}`;
    let queries = 0;
    const stopCounting = watchSqlStatements(orm, () => (queries += 1));

    // SQL for one uncached view (the record and the rendered page dropped from Redis first).
    const token = share.path.split('/').pop()!;
    const redis = app.get(RedisService);
    const tokenHash = shareTokenHash(token);
    await redis.client.del(redis.key('share', 'rec', tokenHash), redis.key('share', 'page', tokenHash));
    queries = 0;
    const first = await fetch(pageUrl);
    const html = await first.text();
    if (first.status !== 200) throw new Error(`share page answered ${first.status}`);
    const coldQueries = queries;
    // A recipient's link: the same share, read through its recipient's token (one more lookup when uncached).
    const recipientHash = shareTokenHash(recipients[0].path.split('/').pop()!);
    await redis.client.del(redis.key('share', 'rec', recipientHash), redis.key('share', 'page', recipientHash));
    queries = 0;
    const recipientFirst = await fetch(recipientUrl);
    const recipientHtml = await recipientFirst.text();
    if (recipientFirst.status !== 200 || !recipientHtml.includes('Shared with'))
      throw new Error(`recipient page answered ${recipientFirst.status}`);
    const recipientColdQueries = queries;
    const svgs = [...html.matchAll(/<svg class="wave"[\s\S]*?<\/svg>/g)].map((m) => m[0]);
    const waveforms = svgs.length;
    const waveformBytes = svgs.reduce((sum, svg) => sum + Buffer.byteLength(svg), 0);

    // The baseline: the same bytes from memory, no framework.
    const bare = express();
    bare.get('/page', (_req, res) => res.type('html').send(html));
    const bareServer = bare.listen(0, '127.0.0.1');
    await new Promise((resolve) => bareServer.once('listening', resolve));
    const bareUrl = `http://127.0.0.1:${(bareServer.address() as AddressInfo).port}/page`;

    try {
      // Alternating runs (app, baseline, app, baseline…) so a busy moment of the machine hits both; medians reported.
      const rounds = ctx.options.rounds ?? (ctx.options.quick ? 2 : 3);
      say(`share-page: warm-up, then ${rounds} rounds of ${seconds} s each: app, baseline`);
      await cannon(pageUrl, 2);
      await cannon(recipientUrl, 2);
      await cannon(bareUrl, 2);
      await emulator.resetCounters();
      const ourRuns: Cannon[] = [];
      const baseRuns: Cannon[] = [];
      const recipientRuns: Cannon[] = [];
      let loadQueries = 0;
      for (let r = 0; r < rounds; r += 1) {
        queries = 0;
        const profileTo = r === 0 ? ctx.profilePath('share-page', 'page') : undefined;
        const stopProfile = profileTo ? await startCpuProfile() : undefined;
        ourRuns.push(await cannon(pageUrl, seconds));
        if (stopProfile && profileTo) await stopProfile(profileTo);
        loadQueries += queries;
        baseRuns.push(await cannon(bareUrl, seconds));
        recipientRuns.push(await cannon(recipientUrl, seconds));
        say(
          `share-page: round ${r + 1}: app ${ourRuns[r].rps} req/s p99 ${ourRuns[r].p99} ms; baseline ${baseRuns[r].rps} req/s p99 ${baseRuns[r].p99} ms; recipient link ${recipientRuns[r].rps} req/s`,
        );
      }
      const viewCalls = Object.values((await emulator.counters()).callsByRoute).reduce((a, b) => a + b, 0);
      const ours = medianRun(ourRuns);
      const baseline = medianRun(baseRuns);
      const ratios = ourRuns.map((o, i) => round(o.rps / baseRuns[i].rps, 2));
      const totalViews = ourRuns.reduce((a, o) => a + o.requests, 0);
      const failures = [...ourRuns, ...recipientRuns].reduce((a, o) => a + o.non2xx + o.errors, 0);
      const recipient = medianRun(recipientRuns);
      const recipientRatios = recipientRuns.map((o, i) => round(o.rps / baseRuns[i].rps, 2));

      // 1,000 plays across the share's audio (each file's preview relayed), links cold.
      const audio = [...html.matchAll(/<audio[^>]* src="([^"]+\/play)"/g)].map((m) => m[1]);
      await deleteRedisKeys(services.redisUrl, `${services.redisPrefix}:dbx:link:*`);
      await deleteRedisKeys(services.redisUrl, `${services.redisPrefix}:share:live:*`);
      await emulator.resetCounters();
      const latencies: number[] = [];
      let failed = 0;
      const started = performance.now();
      await runConcurrently(PLAYS, PLAY_CALLERS, async (i) => {
        const t0 = performance.now();
        const res = await fetch(`${base}${audio[i % audio.length]}`, {
          redirect: 'manual',
          headers: { Range: 'bytes=0-65535' },
        });
        await res.arrayBuffer();
        if (res.status !== 206) failed += 1;
        latencies.push(performance.now() - t0);
      });
      const playMs = performance.now() - started;
      const playCalls = (await emulator.counters()).callsByRoute;
      const linkFetches = playCalls['files/get_temporary_link'] ?? 0;
      const revisionChecks = playCalls['files/get_metadata'] ?? 0;
      const totalPlayCalls = Object.values(playCalls).reduce((a, b) => a + b, 0);
      say(
        `share-page: ${PLAYS} plays of ${audio.length} files: ${linkFetches} link fetches, ${revisionChecks} revision checks`,
      );

      return {
        figures: [
          {
            key: 'share.page_rps',
            label: `share page, ${CONNECTIONS} connections`,
            value: ours.rps,
            unit: 'req/s',
            note: `${Math.round(ours.bytesPerRequest / 1000)} KB per page, ${ours.requests} requests`,
          },
          {
            key: 'share.bytes_per_track',
            label: 'page bytes per track (waveform included)',
            value: Math.round(Buffer.byteLength(html) / TRACKS),
            unit: 'B',
            note: `${waveforms} of ${TRACKS} tracks with a waveform; ${Math.round(waveformBytes / Math.max(1, waveforms))} B of SVG each`,
          },
          {
            key: 'share.baseline_rps',
            label: 'bare Express, same HTML from memory',
            value: baseline.rps,
            unit: 'req/s',
          },
          {
            key: 'share.ratio',
            label: 'share page / bare Express (req/s, medians)',
            value: round(ours.rps / baseline.rps, 2),
            target: { op: '>=', value: 0.7 },
            note: `per round: ${ratios.join(', ')}; a waveform on every track, comments on (a CSRF token written into every view)`,
          },
          {
            key: 'share.recipient_ratio',
            label: `recipient link page / bare Express (req/s, medians; ${RECIPIENTS} recipients, listen beacons script on)`,
            value: round(recipient.rps / baseline.rps, 2),
            target: { op: '>=', value: 0.7 },
            note: `per round: ${recipientRatios.join(', ')}; ${recipient.rps} req/s, p99 ${recipient.p99} ms`,
          },
          {
            key: 'share.recipient_sql_uncached',
            label: 'SQL queries, one uncached view of a recipient link',
            value: recipientColdQueries,
            unit: 'queries',
            target: { op: '<=', value: 5 },
          },
          {
            key: 'share.page_p99_ms',
            label: 'share page latency p99',
            value: ours.p99,
            unit: 'ms',
            note: `p50 ${ours.p50} ms; bare Express p99 ${baseline.p99} ms`,
          },
          {
            key: 'share.page_errors',
            label: 'share page non-2xx answers and errors',
            value: failures,
            target: { op: '==', value: 0 },
          },
          {
            key: 'share.sql_per_view_uncached',
            label: 'SQL queries, one uncached view',
            value: coldQueries,
            unit: 'queries',
            target: { op: '<=', value: 4 },
          },
          {
            key: 'share.sql_per_view',
            label: 'SQL queries per view under load',
            value: round(loadQueries / Math.max(1, totalViews), 3),
            unit: 'queries',
            target: { op: '<=', value: 4 },
            note: `${loadQueries} queries over ${totalViews} views`,
          },
          {
            key: 'share.dropbox_per_view',
            label: 'Dropbox calls per view',
            value: round(viewCalls / Math.max(1, totalViews), 3),
            unit: 'calls',
            target: { op: '==', value: 0 },
          },
          {
            key: 'share.play_link_fetches',
            label: `${PLAYS.toLocaleString('en-US')} plays across ${audio.length} audio files: link fetches`,
            value: linkFetches,
            unit: 'calls',
            target: { op: '<=', value: audio.length },
            note: `one per file's preview; plus ${revisionChecks} revision checks (get_metadata, once per file per minute) = ${totalPlayCalls} Dropbox calls`,
          },
          {
            key: 'share.play_ms',
            label: `${PLAYS.toLocaleString('en-US')} plays (${PLAY_CALLERS} at a time): total time`,
            value: round(playMs),
            unit: 'ms',
            note: `p50 ${round(percentile(latencies, 50), 1)} ms, p99 ${round(percentile(latencies, 99), 1)} ms, ${failed} failed`,
          },
        ],
        details: {
          tracks: TRACKS,
          files: TRACKS * 3,
          connections: CONNECTIONS,
          seconds,
          rounds,
          ourRuns,
          baseRuns,
          recipientRuns,
          recipientColdQueries,
          coldQueries,
          loadQueries,
          viewCalls,
          playCalls,
        },
      };
    } finally {
      stopCounting();
      await new Promise((resolve) => bareServer.close(resolve));
      Object.assign(tuning, {
        pageViewsPerMinute: new ShareTuning().pageViewsPerMinute,
        fileRequestsPerMinute: new ShareTuning().fileRequestsPerMinute,
      });
    }
  },
};
