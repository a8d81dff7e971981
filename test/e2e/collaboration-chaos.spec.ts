import type { ChildProcess } from 'node:child_process';
import {
  CollabEnv,
  connectedProducer,
  killProcess,
  makeTrack,
  Producer,
  startCollabEnv,
  startWorkerProcess,
  TestTrack,
  waitForAll,
} from '../integration/collaboration-support';

const PIPELINES = 50;
const PRODUCERS = 5;
/**
 * A call of an account may still arrive this long after a 429: it had passed its pause check before the 429 was
 * read and recorded in Redis (an event-loop turn and a Redis round trip, slower on a loaded 2-core machine).
 */
const IN_FLIGHT_GRACE_MS = 300;

/**
 * 10% of Dropbox calls fail (429 with Retry-After, 500, 503), two worker processes (src/worker.ts) share the queue: all 50
 * pipelines complete, none is lost, no call of an account is made before the Retry-After it was given (beyond
 * calls already on their way), and each account has at most one write in flight (emulator in strict mode).
 */
describe('collaboration pipelines under chaos', () => {
  let env: CollabEnv;
  let workers: ChildProcess[] = [];

  beforeAll(async () => {
    // As deployed for scale: a web process without workers and two worker processes.
    env = await startCollabEnv({ workers: false });
    workers = await Promise.all([startWorkerProcess(env.t.env), startWorkerProcess(env.t.env)]);
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => killProcess(w, 'SIGTERM')));
    await env?.close();
  });

  it('completes all 50 with 10% of calls failing', async () => {
    const { emulator } = env;
    const producers: Producer[] = [env.producer];
    while (producers.length < PRODUCERS) producers.push(await connectedProducer(env.t, emulator));
    const tracks: Array<{ producer: Producer; track: TestTrack }> = [];
    for (let i = 0; i < PIPELINES; i += 1) {
      const producer = producers[i % PRODUCERS];
      tracks.push({ producer, track: await makeTrack(producer, { files: 2, collaborators: [{}, {}] }) });
    }
    emulator.control.resetCounters();
    // Faults are tried in order, so the conditional chances make each kind 1/30 of all calls: 10% in total.
    emulator.control.addFault({ route: '*', status: 429, retryAfterSeconds: 1, probability: 1 / 30 });
    emulator.control.addFault({ route: '*', status: 500, probability: 1 / 29 });
    emulator.control.addFault({ route: '*', status: 503, probability: 1 / 28 });
    try {
      await Promise.all(
        tracks.map(async ({ producer, track }) => {
          // Starting imports the selection through the gateway, under the same chaos.
          const res = await producer.api.post(`/api/v1/tracks/${track.id}/collaboration`, { files: track.selection });
          if (res.status !== 202) throw new Error(`start: ${res.status} ${res.text}`);
        }),
      );
      // Bounds only a broken run: on a 2-core machine with both cores taken by other work, setting up the 50 tracks
      // alone took over a minute and the pipelines about two more.
      const views = await waitForAll(tracks, 240_000);
      expect(views.map((v) => v.status)).toEqual(Array(PIPELINES).fill('done'));
      for (const v of views) {
        expect(v.files).toMatchObject({ total: 2, copied: 2 });
        expect(v.invites).toMatchObject({ total: 2, sent: 2 });
      }
    } finally {
      emulator.control.clearFaults();
    }

    const log = emulator.control.callLog();
    const failed = log.filter((c) => c.status >= 500 || c.status === 429).length;
    const limited = log.filter((c) => c.status === 429);
    process.stdout.write(`chaos test: ${log.length} calls, ${failed} failed (${limited.length} × 429)\n`);
    expect(failed / log.length).toBeGreaterThan(0.05);
    expect(limited.length).toBeGreaterThan(0);

    // No call of an account started inside a Retry-After window it was given.
    const early = [];
    for (const r of limited) {
      const from = r.endedAt + IN_FLIGHT_GRACE_MS;
      const until = r.endedAt + r.retryAfterMs!;
      early.push(...log.filter((c) => c.accountId === r.accountId && c.startedAt > from && c.startedAt < until));
    }
    if (early.length) {
      const deltas = limited.flatMap((r) =>
        log
          .filter(
            (c) => c.accountId === r.accountId && c.startedAt > r.endedAt && c.startedAt < r.endedAt + r.retryAfterMs!,
          )
          .map((c) => `${c.route}+${c.startedAt - r.endedAt}ms(after ${r.route})`),
      );
      process.stdout.write(`early: ${deltas.join(' ')}\n`);
    }
    // Calls whose pause check came before the 429 was known (sent by the other worker process before its Redis write,
    // or already on the wire) can still land inside the window; measured with send times, every such call had left
    // before the 429 was answered or within the grace. The process that reads a 429 pauses its own calls at once, and
    // waiters wake spread out rather than all together. Anything beyond a handful would be a missing pause.
    expect(early.length).toBeLessThanOrEqual(Math.ceil(log.length / 100));

    const counters = emulator.control.counters();
    for (const producer of producers) expect(counters.maxConcurrentWritesByAccount[producer.accountId]).toBe(1);
    // Strict mode would have answered overlapping writes with too_many_write_operations.
    expect(log.filter((c) => c.status === 429 && !c.retryAfterMs)).toEqual([]);
  }, 420_000);
});
