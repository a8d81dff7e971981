import { EntityManager, MikroORM, RequestContext } from '@mikro-orm/postgresql';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { User } from '../../../src/modules/accounts/entities/user.entity';
import { Track } from '../../../src/modules/files/entities/track.entity';
import { TrackFile } from '../../../src/modules/files/entities/track-file.entity';
import { SharesService } from '../../../src/modules/share/shares.service';
import { ShareTuning } from '../../../src/modules/share/share-tuning';
import { collectGarbage, measure } from '../memory';
import { BenchContext, MB, MiB, round, say, Scenario, ScenarioResult } from '../harness';

const CONCURRENT = 30;
const RSS_TARGET_MB = 400;

interface Outcome {
  status: number;
  bytes: number;
}

/** One recipient: the whole answer read and thrown away (the bench's own memory stays out of the figure). */
async function download(url: string): Promise<Outcome> {
  const res = await fetch(url);
  let bytes = 0;
  if (res.body) for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) bytes += chunk.byteLength;
  return { status: res.status, bytes };
}

/**
 * 30 recipients asking for download-all ZIPs at the same moment, each of a share of its own (so the per-share bound
 * doesn't decide), with the default bounds (per process) and with them lifted: peak RSS of the app's process, the
 * answers (200 whole ZIPs / 503 with Retry-After), and the bytes served.
 */
export const zipsScenario: Scenario = {
  name: 'zips',
  description: `${CONCURRENT} concurrent download-all ZIPs: peak RSS with the default bounds and without them`,
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const [producer, emulator, app] = await Promise.all([ctx.producer(), ctx.emulator(), ctx.app()]);
    const base = await ctx.listen();
    const tracks = ctx.options.quick ? 3 : 10;
    const fileBytes = ctx.options.quick ? 256 * 1024 : 1 * MiB;
    const tuning = app.get(ShareTuning);
    const defaults = new ShareTuning();
    tuning.fileRequestsPerMinute = 1e9;

    say(
      `zips: ${tracks} tracks of a bounce, a stem and a project (${fileBytes / MiB} MiB each) in Dropbox, ${CONCURRENT} shares of them…`,
    );
    const orm = app.get(MikroORM);
    const em = app.get(EntityManager).fork();
    const folder = `/Bench/zips-${Date.now()}`;
    const selection: Array<{ trackId: string; files: string[] }> = [];
    for (let i = 0; i < tracks; i += 1) {
      const n = String(i + 1).padStart(2, '0');
      const track = em.create(Track, {
        owner: em.getReference(User, producer.userId),
        title: `Zip ${n}`,
        sharingStatus: 'collaborative',
      });
      await em.flush();
      const files: string[] = [];
      for (const [category, name] of [
        ['bounce', 'Bounces/Master.wav'],
        ['stem', 'Stems/Drums.wav'],
        ['project', 'Projects/Session.als'],
      ] as const) {
        const bytes = randomBytes(fileBytes);
        const entry = await producer.client.upload(`${folder}/Zip ${n}/${name}`, {
          size: bytes.length,
          open: () => Readable.from([bytes]),
        });
        const file = em.create(TrackFile, {
          track,
          category,
          name: entry.name,
          dropboxId: entry.id,
          dropboxPath: entry.pathDisplay,
          rev: entry.rev,
          size: entry.size ?? 0,
          contentHash: entry.contentHash,
        });
        await em.flush();
        files.push(`f:${file.id}`);
      }
      selection.push({ trackId: track.id, files });
    }
    const shares: Array<{ path: string }> = [];
    for (let i = 0; i < CONCURRENT; i += 1) {
      shares.push(
        await RequestContext.create(orm.em, () =>
          app.get(SharesService).create(producer.userId, {
            tracks: selection,
            title: `Zip share ${i + 1}`,
            expiry: 'never',
            downloads: { bounce: true, project: true, stem: true },
          }),
        ),
      );
    }
    const zipBytes = tracks * 3 * fileBytes;

    const phase = async (label: string) => {
      collectGarbage();
      say(`zips: ${CONCURRENT} at once, ${label}…`);
      const measured = await measure(() => Promise.all(shares.map((s) => download(`${base}${s.path}/download-all`))), {
        emulator: emulator.pid,
      });
      const outcomes = measured.result;
      const whole = outcomes.filter((o) => o.status === 200 && o.bytes >= zipBytes).length;
      const refused = outcomes.filter((o) => o.status === 503).length;
      const other = outcomes.length - whole - refused;
      const result = {
        peakRssMB: round(measured.memory.peakRss / MB),
        startRssMB: round(measured.memory.startRss / MB),
        peakArrayBuffersMB: round(measured.memory.peakArrayBuffers / MB),
        emulatorPeakRssMB: round((measured.memory.children.emulator ?? 0) / MB),
        ms: round(measured.ms),
        whole,
        refused,
        other,
        servedMB: round(outcomes.reduce((a, o) => a + (o.status === 200 ? o.bytes : 0), 0) / MB),
      };
      say(
        `zips: ${label}: peak RSS ${result.peakRssMB} MB, ${whole} whole ZIPs, ${refused} × 503, ${other} other, ${result.ms} ms`,
      );
      return result;
    };

    try {
      Object.assign(tuning, { zipsPerShare: defaults.zipsPerShare, zipsPerProcess: defaults.zipsPerProcess });
      const bounded = await phase(
        `default bounds (${defaults.zipsPerProcess} per process, ${defaults.zipsPerShare} per share)`,
      );
      Object.assign(tuning, { zipsPerShare: 1e9, zipsPerProcess: 1e9 });
      const unbounded = await phase('bounds lifted');
      return {
        figures: [
          {
            key: 'zips.peak_rss_mb',
            label: `${CONCURRENT} concurrent ZIPs (${round(zipBytes / MB)} MB each), default bounds: peak RSS of the process`,
            value: bounded.peakRssMB,
            unit: 'MB',
            target: { op: '<=', value: RSS_TARGET_MB },
            note: `${bounded.startRssMB} MB at start; ${bounded.whole} whole ZIPs, ${bounded.refused} × 503 + Retry-After, ${bounded.other} other; ${bounded.ms} ms`,
          },
          {
            key: 'zips.answers_clean',
            label: 'every answer a whole ZIP or a 503 with Retry-After',
            value: bounded.other === 0 && unbounded.other === 0,
            target: { op: '==', value: true },
          },
          {
            key: 'zips.unbounded_peak_rss_mb',
            label: `the same ${CONCURRENT} with the bounds lifted (all built at once), for scale`,
            value: unbounded.peakRssMB,
            unit: 'MB',
            note: `${unbounded.whole} whole ZIPs; ${unbounded.ms} ms; emulator ${unbounded.emulatorPeakRssMB} MB`,
          },
        ],
        details: { tracks, fileBytes, zipBytes, concurrent: CONCURRENT, bounded, unbounded },
      };
    } finally {
      Object.assign(tuning, {
        zipsPerShare: defaults.zipsPerShare,
        zipsPerProcess: defaults.zipsPerProcess,
        fileRequestsPerMinute: defaults.fileRequestsPerMinute,
      });
    }
  },
};
