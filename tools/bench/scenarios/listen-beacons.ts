import { EntityManager, MikroORM, RequestContext } from '@mikro-orm/postgresql';
import { User } from '../../../src/modules/accounts/entities/user.entity';
import { Track } from '../../../src/modules/files/entities/track.entity';
import { TrackFile } from '../../../src/modules/files/entities/track-file.entity';
import { ShareRecipientsService } from '../../../src/modules/share/share-recipients.service';
import { ShareStatsService } from '../../../src/modules/share/share-stats.service';
import { ShareTuning } from '../../../src/modules/share/share-tuning';
import { SharesService } from '../../../src/modules/share/shares.service';
import { makeWav } from '../../fixtures/audio';
import { percentile, round, runConcurrently, say, Scenario, ScenarioResult } from '../harness';
import { benchTrackFiles } from '../share-fixtures';
import { watchSqlStatements } from '../../services';

const BEACONS = 10_000;
const TRACKS = 5;
const RECIPIENTS = 20;
/** Beacons per play session: a 4 s file reported every 0.2 s of it (a listen once 2 s, half of it, were heard). */
const PER_SESSION = 20;
const CALLERS = 50;

/**
 * 10,000 listen beacons through HTTP (CSRF token, rate limiter and access check included) from 500 play sessions
 * of 20 recipients over 10 files; the database writes they cost while they arrive (none expected: Redis only) and
 * at the flush that brings them to PostgreSQL (one per share, recipient and file listened to, however many beacons).
 */
export const listenBeaconsScenario: Scenario = {
  name: 'listen-beacons',
  description: `${BEACONS.toLocaleString('en-US')} listen beacons (${BEACONS / PER_SESSION} play sessions, ${RECIPIENTS} recipients) → database writes`,
  async run(ctx): Promise<ScenarioResult> {
    const [producer, app] = await Promise.all([ctx.producer(), ctx.app()]);
    const base = await ctx.listen();
    const orm = app.get(MikroORM);
    const tuning = app.get(ShareTuning);
    tuning.listenBeaconsPerMinute = 1e9;
    tuning.fileRequestsPerMinute = 1e9;
    const em = app.get(EntityManager).fork();
    const folder = `/Bench/beacons-${Date.now()}`;
    const audio = makeWav({ seconds: 4, sampleRate: 8_000, channels: 1, frequencies: [220] });
    const selection: Array<{ trackId: string; files: string[] }> = [];
    for (let i = 0; i < TRACKS; i += 1) {
      const track = em.create(Track, {
        owner: em.getReference(User, producer.userId),
        title: `Beacon track ${i + 1}`,
        sharingStatus: 'preview',
      });
      const files = await benchTrackFiles(em, producer.client, track, `${folder}/Track ${i + 1}`, {
        bounce: audio,
        stem: audio,
        seconds: 4,
        projectBytes: 1024,
      });
      selection.push({ trackId: track.id, files });
    }
    const share = await RequestContext.create(orm.em, () =>
      app.get(SharesService).create(producer.userId, { tracks: selection, expiry: 'never' }),
    );
    const recipients = await RequestContext.create(orm.em, () =>
      app.get(ShareRecipientsService).createMany(
        producer.userId,
        share.id,
        Array.from({ length: RECIPIENTS }, (_, i) => ({ name: `Listener ${i + 1}` })),
      ),
    );
    const audioFiles = await em
      .fork()
      .find(
        TrackFile,
        { track: { $in: selection.map((t) => t.trackId) }, category: { $in: ['bounce', 'stem'] } },
        { orderBy: { id: 'asc' } },
      );
    const fileIds = audioFiles.map((f) => f.id);
    // Each recipient's browser: the share links' CSRF cookie and its token, as listen-beacons.js gets them.
    const browsers = await Promise.all(
      recipients.map(async (r) => {
        const res = await fetch(`${base}${r.path}/listens/csrf`);
        const cookie = res.headers
          .getSetCookie()
          .map((c) => c.split(';')[0])
          .join('; ');
        return { path: r.path, cookie, csrf: ((await res.json()) as { csrfToken: string }).csrfToken };
      }),
    );

    const stats = app.get(ShareStatsService);
    await stats.flush();
    const writes = { during: 0, flush: 0 };
    const reads = { during: 0 };
    let phase: 'during' | 'flush' = 'during';
    const onQuery = (sql: string) => {
      const write = /^\s*(insert|update|delete)/i.test(sql);
      if (write) writes[phase] += 1;
      else if (phase === 'during') reads.during += 1;
    };
    const stopWatching = watchSqlStatements(orm, onQuery);
    const sessions = BEACONS / PER_SESSION;
    const latencies: number[] = [];
    let failed = 0;
    try {
      say(`listen-beacons: ${BEACONS} beacons, ${CALLERS} at a time…`);
      const started = performance.now();
      // Beacon i: session ⌊i / 20⌋, its (i mod 20)-th report; sessions spread over recipients and files.
      const order = Array.from({ length: BEACONS }, (_, i) => i).sort(
        (a, b) => (a % PER_SESSION) - (b % PER_SESSION) || a - b,
      );
      await runConcurrently(BEACONS, CALLERS, async (n) => {
        const i = order[n];
        const session = Math.floor(i / PER_SESSION);
        const step = (i % PER_SESSION) + 1;
        const browser = browsers[session % RECIPIENTS];
        const heard = (step * 0.2).toFixed(2);
        const body = new URLSearchParams({
          _csrf: browser.csrf,
          fileId: fileIds[session % fileIds.length],
          session: `bench-session-${session}`,
          heard,
          position: heard,
        });
        const t0 = performance.now();
        const res = await fetch(`${base}${browser.path}/listens`, {
          method: 'POST',
          body,
          headers: { Cookie: browser.cookie },
        });
        await res.arrayBuffer();
        if (res.status !== 204) failed += 1;
        latencies.push(performance.now() - t0);
      });
      const ms = performance.now() - started;
      phase = 'flush';
      const flushStarted = performance.now();
      await stats.flush();
      const flushMs = performance.now() - flushStarted;
      const rows = await em
        .getConnection()
        .execute<Array<{ plays: string; sessions: string }>>(
          'select coalesce(sum(plays), 0) as plays, coalesce(sum(sessions), 0) as sessions from share_listens where share_id = ?',
          [share.id],
        );
      const listened = { plays: Number(rows[0].plays), sessions: Number(rows[0].sessions) };
      const expectedWrites = 1 + RECIPIENTS + Math.min(sessions, RECIPIENTS * fileIds.length);
      say(
        `listen-beacons: ${round(ms)} ms; writes while arriving ${writes.during}, at the flush ${writes.flush}; ${listened.plays} listens of ${listened.sessions} sessions`,
      );
      return {
        figures: [
          {
            key: 'listens.beacon_rps',
            label: `${BEACONS.toLocaleString('en-US')} listen beacons (${CALLERS} at a time)`,
            value: round(BEACONS / (ms / 1000), 0),
            unit: 'req/s',
            note: `p50 ${round(percentile(latencies, 50), 1)} ms, p99 ${round(percentile(latencies, 99), 1)} ms, ${failed} failed`,
          },
          {
            key: 'listens.db_writes_during',
            label: 'database writes while the beacons arrive',
            value: writes.during,
            unit: 'writes',
            target: { op: '==', value: 0 },
            note: `${reads.during} reads (a session's first beacon checks its file)`,
          },
          {
            key: 'listens.db_writes_flush',
            label: `database writes to add ${BEACONS.toLocaleString('en-US')} beacons to PostgreSQL (one flush)`,
            value: writes.flush,
            unit: 'writes',
            target: { op: '<=', value: expectedWrites },
            note: `1 share + ${RECIPIENTS} recipients + one row per recipient × file listened; flush ${round(flushMs)} ms`,
          },
          {
            key: 'listens.counted',
            label: `listens counted of ${sessions} play sessions`,
            value: listened.plays,
            target: { op: '==', value: sessions },
            note: `${listened.sessions} sessions recorded`,
          },
        ],
        details: {
          beacons: BEACONS,
          sessions,
          recipients: RECIPIENTS,
          files: fileIds.length,
          writes,
          reads,
          failed,
          ms,
          flushMs,
        },
      };
    } finally {
      stopWatching();
      Object.assign(tuning, {
        listenBeaconsPerMinute: new ShareTuning().listenBeaconsPerMinute,
        fileRequestsPerMinute: new ShareTuning().fileRequestsPerMinute,
      });
    }
  },
};
