import { MikroORM, RequestContext } from '@mikro-orm/postgresql';
import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { QueueName } from '../../../src/queues/queues';
import { AccountsService } from '../../../src/modules/accounts/accounts.service';
import { CollaborationService } from '../../../src/modules/collaboration/collaboration.service';
import { CollabFile } from '../../../src/modules/collaboration/entities/collab-file.entity';
import { CollabMember } from '../../../src/modules/collaboration/entities/collab-member.entity';
import { CollabPipeline } from '../../../src/modules/collaboration/entities/collab-pipeline.entity';
import type { DropboxAccountClient } from '../../../src/modules/dropbox/dropbox.gateway';
import { DropboxConnectionsService } from '../../../src/modules/dropbox/dropbox-connections.service';
import { CollaboratorsService } from '../../../src/modules/files/collaborators.service';
import { LibraryService } from '../../../src/modules/files/library.service';
import { TracksService } from '../../../src/modules/files/tracks.service';
import type { CountersSnapshot } from '../../dropbox-emulator';
import { connectionGrant } from '../../dropbox-emulator/grants';
import { delay, ManagedProcess } from '../../services';
import type { EmulatorProcess } from '../emulator-process';
import { BenchContext, percentile, round, runConcurrently, say, Scenario, ScenarioResult } from '../harness';
import { measure } from '../memory';

const FILES = 20;
const COLLABORATORS = 3;
const LATENCY_MS = 20;
const FILE_BYTES = 16 * 1024;
const WORKER_COUNTS = [1, 4] as const;
/** How long one run may take before the scenario gives up. */
const RUN_TIMEOUT_MS = 10 * 60_000;
const WORKER_READY_TIMEOUT_MS = 60_000;
/** The compiled worker entry point (dist/tools/bench/scenarios → dist/src/worker.js). */
const WORKER_JS = join(__dirname, '..', '..', '..', 'src', 'worker.js');

/** The routes of one pipeline; the minimum is one call of each (plus the copy job's polls). */
const SHARE = 'sharing/share_folder';
/** The files step finds the shared folder by its id (wherever the producer moved it) before copying into it. */
const FOLDER = 'sharing/get_folder_metadata';
const COPY = 'files/copy_batch_v2';
const CHECK = 'files/copy_batch/check_v2';
const LIST = 'sharing/list_folder_members';
const INVITE = 'sharing/add_folder_member';
const MINIMUM_WITHOUT_POLLS = 5;

function sizes(quick: boolean) {
  // Producers (Dropbox accounts) share the pipelines: writes are one at a time per account, as Dropbox wants.
  return quick ? { pipelines: 10, producers: 5 } : { pipelines: 100, producers: 10 };
}

interface BenchProducer {
  userId: string;
  accountId: string;
  client: DropboxAccountClient;
  /** Dropbox ids of the template stems every track's files are copied from. */
  template: Array<{ id: string; name: string }>;
}

interface BenchTrack {
  producer: BenchProducer;
  trackId: string;
  /** Share-tab selection of the imported files (`f:<TrackFile id>`). */
  selection: string[];
}

interface Run {
  workers: number;
  pipelines: number;
  ms: number;
  pipelinesPerSecond: number;
  durations: { p50: number; p95: number; max: number };
  calls: CountersSnapshot['callsByRoute'];
  callsPerPipeline: number;
  pollsPerPipeline: number;
  otherCallsPerPipeline: number;
  maxConcurrentWritesPerAccount: number;
  rateLimited: number;
  cpuSeconds: Record<string, number>;
  failed: number;
}

/**
 * Share with collaborators at scale: pipelines of FILES imported files and COLLABORATORS collaborators each, started
 * through CollaborationService (the app in this process runs no workers) and processed by 1, then 4, separate
 * worker processes (`node dist/src/worker.js`), against the emulator with LATENCY_MS per call. Each run gets its own
 * tracks (fresh folders), made beforehand with no latency. Reports the time until every pipeline is done and the
 * Dropbox calls per pipeline against the minimum: share 1 + folder lookup 1 + copy 1 + list 1 + invite 1, plus the copy
 * job's polls.
 */
export const collabPipelinesScenario: Scenario = {
  name: 'collab',
  description: `share with collaborators: 100 pipelines × ${FILES} files × ${COLLABORATORS} collaborators, ${LATENCY_MS} ms per Dropbox call, 1 vs 4 worker processes`,
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const { pipelines, producers: producerCount } = sizes(ctx.options.quick);
    const [app, emulator, config] = await Promise.all([ctx.app(), ctx.emulator(), ctx.config()]);
    const orm = app.get<MikroORM>(MikroORM);
    const inContext = <T>(work: () => Promise<T>) => RequestContext.create(orm.em, work);
    const settings = await emulator.updateSettings({ latencyMs: 0 });
    // The copy job answers in_progress this many times, then its result: the fewest polls a pipeline can make.
    const minimumPolls = settings.asyncPolls + 1;

    // ----- setup, without latency: producers, template stems, and every run's tracks ----------------------------
    say(
      `collab: setting up ${producerCount} producers and ${WORKER_COUNTS.length} × ${pipelines} tracks of ${FILES} files…`,
    );
    const setupStarted = performance.now();
    const producers: BenchProducer[] = [];
    for (let i = 0; i < producerCount; i += 1) producers.push(await createProducer(ctx, emulator, i));
    const tracksByRun: BenchTrack[][] = [];
    for (const workers of WORKER_COUNTS) {
      const tracks: BenchTrack[] = new Array(pipelines);
      await runConcurrently(pipelines, producerCount, async (i) => {
        tracks[i] = await inContext(() =>
          createTrack(app, producers[i % producerCount], `Collab bench ${workers}w ${i + 1}`),
        );
      });
      tracksByRun.push(tracks);
    }
    // Importing queued an audio analysis and a preview per file. In a studio those ran long before anyone shares;
    // here they would run during the measurement (and their Dropbox calls be counted as the pipelines'): drop them.
    let dropped = 0;
    for (const name of [QueueName.Files, QueueName.Media]) {
      const queue = app.get<Queue>(getQueueToken(name));
      const counts = (await queue.getJobCounts('waiting', 'delayed', 'prioritized')) as Record<string, number>;
      await queue.drain(true);
      dropped += Object.values(counts).reduce((a, b) => a + b, 0);
    }
    say(`collab: dropped ${dropped} queued audio analyses and previews of the imported files`);
    const setupMs = performance.now() - setupStarted;
    say(`collab: setup took ${round(setupMs / 1000, 1)} s`);

    const workerEnv: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      DATABASE_URL: config.database.url,
      REDIS_URL: config.redis.url,
      REDIS_PREFIX: config.redis.prefix,
      SESSION_SECRET: config.session.secret,
      ENCRYPTION_KEY: config.encryption.key.toString('base64'),
      DROPBOX_APP_KEY: config.dropbox.appKey,
      DROPBOX_API_URL: config.dropbox.apiUrl,
      DROPBOX_CONTENT_URL: config.dropbox.contentUrl,
      DROPBOX_AUTHORIZE_URL: config.dropbox.authorizeUrl,
      WORKERS: 'on',
      // "worker started" is logged at info: the readiness signal.
      LOG_LEVEL: 'info',
    };

    // ----- the runs ---------------------------------------------------------------------------------------------
    const runs: Run[] = [];
    for (const [index, workers] of WORKER_COUNTS.entries()) {
      const tracks = tracksByRun[index];
      const procs = await Promise.all(
        Array.from({ length: workers }, (_, n) => startWorker(workerEnv, `worker-${n + 1}`)),
      );
      const stopAll = async () => void (await Promise.all(procs.map((p) => p.stop())));
      ctx.onClose(`collab workers (${workers})`, stopAll);
      try {
        await emulator.updateSettings({ latencyMs: LATENCY_MS });
        await emulator.resetCounters();
        say(`collab: ${pipelines} pipelines, ${workers} worker process(es)…`);
        const children = Object.fromEntries([
          ['emulator', emulator.pid],
          ...procs.map((p, n) => [`worker${n + 1}`, p.pid]),
        ]);
        const measured = await measure(
          async () => {
            await runConcurrently(tracks.length, 10, async (i) => {
              const { producer, trackId, selection } = tracks[i];
              await inContext(() =>
                app.get(CollaborationService).start(producer.userId, trackId, { files: selection }),
              );
            });
            return waitForPipelines(orm, tracks, procs);
          },
          children,
          ctx.profilePath('collab', `${workers}-workers`),
        );
        const counters = await emulator.counters();
        await emulator.updateSettings({ latencyMs: 0 });
        runs.push(summarise(workers, measured.ms, measured.cpu, measured.result, counters, pipelines));
        await verify(orm, tracks);
        const r = runs.at(-1)!;
        say(
          `collab: ${workers} worker(s): ${round(r.ms / 1000, 2)} s, ${r.callsPerPipeline} calls/pipeline ${JSON.stringify(r.calls)}, ` +
            `pipeline p50 ${r.durations.p50} ms p95 ${r.durations.p95} ms`,
        );
      } finally {
        await emulator.updateSettings({ latencyMs: 0 }).catch(() => undefined);
        await stopAll();
      }
    }

    const [one, four] = runs;
    const minimum = MINIMUM_WITHOUT_POLLS + minimumPolls;
    const callNote = (r: Run) =>
      `share ${per(r, SHARE)} + folder ${per(r, FOLDER)} + copy ${per(r, COPY)} + list ${per(r, LIST)} + invite ${per(r, INVITE)} + polls ${r.pollsPerPipeline}` +
      (r.otherCallsPerPipeline ? ` + other ${r.otherCallsPerPipeline}` : '') +
      `; minimum ${MINIMUM_WITHOUT_POLLS} + ${minimumPolls} poll(s) (the emulator answers in_progress ${settings.asyncPolls}×)`;
    return {
      figures: [
        {
          key: 'collab.completed',
          label: `pipelines done (${pipelines} × ${FILES} files × ${COLLABORATORS} collaborators, ${producerCount} producers)`,
          value: runs.every((r) => r.failed === 0),
          target: { op: '==', value: true },
          note: runs.map((r) => `${r.workers} worker(s): ${pipelines - r.failed}/${pipelines}`).join(', '),
        },
        {
          key: 'collab.calls_per_pipeline',
          label: 'Dropbox calls per pipeline (1 worker)',
          value: one.callsPerPipeline,
          unit: 'calls',
          target: { op: '<=', value: minimum },
          note: callNote(one),
        },
        {
          key: 'collab.calls_per_pipeline_4w',
          label: 'Dropbox calls per pipeline (4 workers)',
          value: four.callsPerPipeline,
          unit: 'calls',
          target: { op: '<=', value: minimum },
          note: callNote(four),
        },
        {
          key: 'collab.ms_1_worker',
          label: `all ${pipelines} pipelines, 1 worker process: total time`,
          value: round(one.ms),
          unit: 'ms',
          note: `${one.pipelinesPerSecond} pipelines/s; one pipeline p50 ${one.durations.p50} ms, p95 ${one.durations.p95} ms`,
        },
        {
          key: 'collab.ms_4_workers',
          label: `all ${pipelines} pipelines, 4 worker processes: total time`,
          value: round(four.ms),
          unit: 'ms',
          note: `${four.pipelinesPerSecond} pipelines/s; one pipeline p50 ${four.durations.p50} ms, p95 ${four.durations.p95} ms`,
        },
        {
          key: 'collab.speedup',
          label: '4 worker processes vs 1: speed-up',
          value: round(one.ms / four.ms, 2),
          unit: '×',
          note: `WORKER_CONCURRENCY ${config.workers.concurrency} per process; ${producerCount} Dropbox accounts, writes one at a time per account`,
        },
        {
          key: 'collab.max_concurrent_writes',
          label: 'most concurrent writes of one Dropbox account',
          value: Math.max(one.maxConcurrentWritesPerAccount, four.maxConcurrentWritesPerAccount),
          target: { op: '==', value: 1 },
          note: `429s: ${one.rateLimited} (1 worker), ${four.rateLimited} (4 workers)`,
        },
      ],
      details: {
        pipelines,
        producers: producerCount,
        files: FILES,
        collaborators: COLLABORATORS,
        latencyMs: LATENCY_MS,
        workerConcurrency: config.workers.concurrency,
        minimumCallsPerPipeline: minimum,
        setupMs: round(setupMs),
        runs,
      },
    };
  },
};

function per(run: Run, route: string): number {
  return round((run.calls[route] ?? 0) / run.pipelines, 2);
}

// ---------------------------------------------------------------------------------------------------------------

async function createProducer(ctx: BenchContext, emulator: EmulatorProcess, n: number): Promise<BenchProducer> {
  const app = await ctx.app();
  const orm = app.get(MikroORM);
  const email = `collab-bench-${n + 1}-${randomBytes(3).toString('hex')}@studio.test`;
  const user = await RequestContext.create(orm.em, () =>
    app.get(AccountsService).createUser({
      email,
      name: `Collab Producer ${n + 1}`,
      password: randomBytes(18).toString('base64'),
      role: 'producer',
    }),
  );
  const account = await emulator.registerAccount(email);
  const issued = await emulator.issueToken(account.account_id);
  const connections = app.get(DropboxConnectionsService);
  await connections.store(user.id, connectionGrant(account, issued));
  const client = await connections.clientFor(user.id);
  const template: BenchProducer['template'] = [];
  for (let i = 0; i < FILES; i += 1) {
    const name = `stem-${String(i + 1).padStart(2, '0')}.wav`;
    const bytes = randomBytes(FILE_BYTES);
    const entry = await client.upload(`/Bench/collab-template/${name}`, {
      size: bytes.length,
      open: () => Readable.from([bytes]),
    });
    template.push({ id: entry.id, name });
  }
  return { userId: user.id, accountId: account.account_id, client, template };
}

/** A track whose Stems folder holds copies of the template, imported, with COLLABORATORS collaborators (emails). */
async function createTrack(
  app: Awaited<ReturnType<BenchContext['app']>>,
  producer: BenchProducer,
  title: string,
): Promise<BenchTrack> {
  const track = await app.get(TracksService).create(producer.userId, { title });
  const folder = track.dropboxFolderPath!;
  const launch = await producer.client.startCopyBatch(
    producer.template.map((f) => ({ fromPath: f.id, toPath: `${folder}/Stems/${f.name}` })),
  );
  const results = launch.done ? launch.results : await producer.client.waitForCopyBatch(launch.asyncJobId);
  const ids = results.map((r, i) => {
    if (!r.ok) throw new Error(`copying ${producer.template[i].name} into ${folder}: ${r.tags.join('/')}`);
    return r.entry.id;
  });
  const imported = await app.get(LibraryService).importFiles(producer.userId, track.id, ids);
  if (imported.length !== FILES) throw new Error(`${title}: imported ${imported.length} of ${FILES} files`);
  const collaborators = app.get(CollaboratorsService);
  for (let c = 0; c < COLLABORATORS; c += 1) {
    const suffix = randomBytes(4).toString('hex');
    const made = await collaborators.create(producer.userId, {
      name: `Collaborator ${c + 1} ${suffix}`,
      email: `collab-${suffix}@example.com`,
      role: 'co-producer',
    });
    await collaborators.assign(producer.userId, track.id, made.id);
  }
  return { producer, trackId: track.id, selection: imported.map((f) => `f:${f.id}`) };
}

function startWorker(env: NodeJS.ProcessEnv, name: string): Promise<ManagedProcess> {
  const proc = new ManagedProcess(process.execPath, [WORKER_JS], { name, env });
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => {
      void proc.stop();
      reject(new Error(`${name} did not start within ${WORKER_READY_TIMEOUT_MS} ms:\n${proc.output()}`));
    }, WORKER_READY_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      seen += chunk.toString('utf8');
      if (seen.includes('worker started')) {
        clearTimeout(timer);
        proc.child.stdout?.off('data', onData);
        resolve(proc);
      }
    };
    proc.child.stdout?.on('data', onData);
    void proc.exited.then((status) => {
      clearTimeout(timer);
      reject(new Error(proc.describeExit(status)));
    });
  });
}

interface Finished {
  /** Each pipeline's start-to-finish time (ms), from its own timestamps. */
  durations: number[];
  failed: number;
}

/** Polls PostgreSQL until every pipeline is done or failed; fails early when a worker process dies. */
async function waitForPipelines(orm: MikroORM, tracks: BenchTrack[], procs: ManagedProcess[]): Promise<Finished> {
  const ids = tracks.map((t) => t.trackId);
  const deadline = Date.now() + RUN_TIMEOUT_MS;
  for (;;) {
    const rows = await orm.em
      .fork()
      .find(CollabPipeline, { track: { $in: ids } }, { fields: ['status', 'startedAt', 'finishedAt'] });
    const open = rows.filter((p) => p.status !== 'done' && p.status !== 'failed').length + (ids.length - rows.length);
    if (open === 0) {
      return {
        durations: rows
          .map((p) => (p.finishedAt && p.startedAt ? p.finishedAt.getTime() - p.startedAt.getTime() : NaN))
          .filter(Number.isFinite),
        failed: rows.filter((p) => p.status === 'failed').length,
      };
    }
    const dead = procs.find((p) => !p.isRunning);
    if (dead) throw new Error(`a worker process stopped with ${open} pipelines open:\n${dead.output().slice(-2000)}`);
    if (Date.now() > deadline)
      throw new Error(`${open} of ${ids.length} pipelines still open after ${RUN_TIMEOUT_MS / 1000} s`);
    await delay(50);
  }
}

/** Every pipeline copied all its files and invited all its collaborators. */
async function verify(orm: MikroORM, tracks: BenchTrack[]): Promise<void> {
  const em = orm.em.fork();
  const pipelines = await em.find(CollabPipeline, { track: { $in: tracks.map((t) => t.trackId) } });
  const ids = pipelines.map((p) => p.id);
  const copied = await em.count(CollabFile, { pipeline: { $in: ids }, status: 'copied' });
  const invited = await em.count(CollabMember, { pipeline: { $in: ids }, state: 'invited' });
  const failed = pipelines.filter((p) => p.status !== 'done');
  if (failed.length)
    throw new Error(
      `${failed.length} pipelines did not finish: ${failed
        .map((p) => `${p.status} ${p.errorCode}: ${p.errorMessage}`)
        .slice(0, 3)
        .join('; ')}`,
    );
  if (copied !== tracks.length * FILES) throw new Error(`${copied} files copied, expected ${tracks.length * FILES}`);
  if (invited !== tracks.length * COLLABORATORS)
    throw new Error(`${invited} collaborators invited, expected ${tracks.length * COLLABORATORS}`);
}

function summarise(
  workers: number,
  ms: number,
  cpu: Record<string, number>,
  finished: Finished,
  counters: CountersSnapshot,
  pipelines: number,
): Run {
  const calls = counters.callsByRoute;
  const total = Object.values(calls).reduce((a, b) => a + b, 0);
  const known = [SHARE, FOLDER, COPY, CHECK, LIST, INVITE].reduce((a, route) => a + (calls[route] ?? 0), 0);
  return {
    workers,
    pipelines,
    ms: round(ms),
    pipelinesPerSecond: round(pipelines / (ms / 1000), 1),
    durations: {
      p50: round(percentile(finished.durations, 50)),
      p95: round(percentile(finished.durations, 95)),
      max: round(Math.max(...finished.durations)),
    },
    calls,
    callsPerPipeline: round(total / pipelines, 2),
    pollsPerPipeline: round((calls[CHECK] ?? 0) / pipelines, 2),
    otherCallsPerPipeline: round((total - known) / pipelines, 2),
    maxConcurrentWritesPerAccount: Math.max(0, ...Object.values(counters.maxConcurrentWritesByAccount)),
    rateLimited: counters.rateLimited,
    cpuSeconds: cpu,
    failed: finished.failed,
  };
}
