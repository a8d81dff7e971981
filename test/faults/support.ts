import type { INestApplicationContext } from '@nestjs/common';
import type { Queue } from 'bullmq';
import type { Dropbox } from 'dropbox';
import { PROCESSORS } from '../../src/jobs/jobs.module';
import type { Response } from 'supertest';
import type { TestUser } from '../support/users';
import { eventually as poll } from '../support/poll';

/**
 * Helpers shared by the fault specs: polling with a deadline (never a fixed sleep as an assertion), session API
 * calls with CSRF, uploads through the real HTTP route, and a check that an answer failed cleanly.
 */

export const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `read` until `ok` holds; fails with the last value seen once `timeoutMs` has passed. Errors count as "not yet". */
export async function eventually<T>(
  what: string,
  read: () => Promise<T>,
  ok: (value: T) => boolean,
  { timeoutMs = 30_000, everyMs = 250 }: { timeoutMs?: number; everyMs?: number } = {},
): Promise<T> {
  return poll(read, ok, { what, timeoutMs, everyMs, errorsAreNotYet: true });
}

/**
 * Waits until the worker holds the first upload in Dropbox with the others waiting, and the collaboration pipeline
 * holds its first step with its other two waiting as a flow; answers the ids of the waiting upload jobs.
 */
export async function heldUploadsAndPipeline(uploads: Queue, collaboration: Queue, count: number): Promise<string[]> {
  await eventually(
    'one upload is held in Dropbox, the others wait',
    async () => {
      const [active, waiting, flow] = await Promise.all([
        uploads.getActive(),
        uploads.getWaiting(),
        collaboration.getJobCounts('active', 'waiting-children'),
      ]);
      return { active: active.length, waiting: waiting.length, flow };
    },
    (s) => s.active === 1 && s.waiting === count - 1 && s.flow.active === 1 && s.flow['waiting-children'] === 2,
    { everyMs: 100 },
  );
  return (await uploads.getWaiting()).map((job) => job.id!);
}

/** Answers from a session client, each with a deadline so a hanging server fails the test instead of stalling it. */
export function sessionApi(user: TestUser, { deadlineMs = 20_000 }: { deadlineMs?: number } = {}) {
  let csrf: string | undefined;
  const token = async () => (csrf ??= await user.browser.csrfFrom('/settings'));
  const limit = { response: deadlineMs, deadline: deadlineMs };
  return {
    get: (path: string) => user.browser.agent.get(path).redirects(0).timeout(limit),
    page: (path: string) => user.browser.agent.get(path).redirects(0).set('Accept', 'text/html').timeout(limit),
    // The token first: superagent fixes an agent's cookies when the request is created.
    post: async (path: string, body?: object) => {
      const csrfToken = await token();
      return user.browser.agent
        .post(path)
        .redirects(0)
        .set('X-CSRF-Token', csrfToken)
        .send(body ?? {})
        .timeout(limit);
    },
    upload: async (path: string, files: Array<{ name: string; bytes: Buffer }>, category = 'bounce') => {
      const csrfToken = await token();
      let req = user.browser.agent.post(path).set('X-CSRF-Token', csrfToken).field('category', category);
      for (const f of files) req = req.attach('files', f.bytes, f.name);
      return req.timeout({ response: 60_000, deadline: 60_000 });
    },
  };
}

/** A failure a client can act on: the expected status, a Retry-After for 503, and nothing internal in the body. */
export function expectCleanFailure(res: Response, status = 503): void {
  expect({ status: res.status, body: res.text.slice(0, 300) }).toEqual({ status, body: expect.any(String) });
  if (status === 503) expect(res.headers['retry-after']).toMatch(/^\d+$/);
  expect(res.text).not.toMatch(/\n\s+at \S+ \(/); // no stack trace
  expect(res.text).not.toMatch(
    /ECONNREFUSED|ECONNRESET|ioredis|knex|MikroORM|pg_|SQLSTATE|select .* from|node_modules/i,
  );
}

/** Every file (not folder) under `path` in the emulator, recursively, by path. */
export async function dropboxFiles(dbx: Dropbox, path: string): Promise<Array<{ path: string; contentHash: string }>> {
  const out: Array<{ path: string; contentHash: string }> = [];
  let page = await dbx.filesListFolder({ path, recursive: true });
  for (;;) {
    for (const e of page.result.entries) {
      if (e['.tag'] === 'file') out.push({ path: e.path_display ?? '', contentHash: e.content_hash ?? '' });
    }
    if (!page.result.has_more) break;
    page = await dbx.filesListFolderContinue({ cursor: page.result.cursor });
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

/** `count` different small files of a few MiB (random bytes; several upload chunks each with 4 MiB chunks). */
export function distinctFiles(count: number, bytes: number, stem = 'take'): Array<{ name: string; bytes: Buffer }> {
  return Array.from({ length: count }, (_, i) => {
    const b = Buffer.alloc(bytes);
    // Cheap but distinct contents: a different pattern per file.
    for (let j = 0; j + 4 <= bytes; j += 4) b.writeUInt32LE(((j * 2654435761) ^ (i * 40503 + 7)) >>> 0, j);
    return { name: `${stem}-${String(i + 1).padStart(2, '0')}.wav`, bytes: b };
  });
}

export interface TrafficAnswer {
  status: number;
  retryAfter?: string;
  /** The body showed a stack trace. */
  stack: boolean;
  /** What went wrong on the client side (timeout, reset), if the request got no answer. */
  error?: string;
}

/**
 * Two callers sending requests back to back (each with the caller's own deadline) until stop(); returns every
 * answer. A request that got no answer at all is recorded with status 0 and its error.
 */
export function backgroundTraffic(send: (index: number) => Promise<Response>, callers = 2) {
  let running = true;
  let index = 0;
  const answers: TrafficAnswer[] = [];
  const loops = Array.from({ length: callers }, async () => {
    while (running) {
      try {
        const res = await send(index++);
        answers.push({
          status: res.status,
          retryAfter: res.headers['retry-after'],
          stack: /\n\s+at \S+ \(/.test(res.text ?? ''),
        });
      } catch (err) {
        answers.push({ status: 0, stack: false, error: err instanceof Error ? err.message : String(err) });
      }
      await pause(50);
    }
  });
  return {
    async stop(): Promise<TrafficAnswer[]> {
      running = false;
      await Promise.all(loops);
      return answers;
    },
  };
}

/**
 * Closes the BullMQ workers of an app without waiting for their current jobs (`close(true)`), each within 10 s, so
 * the app's own close afterwards returns promptly. For after a test whose jobs are all finished.
 */
export async function closeQueueWorkers(app: { app: INestApplicationContext }): Promise<void> {
  // Every processor the app registers, so a queue added later is closed here too.
  for (const processor of PROCESSORS) {
    let host: { worker?: { close(force?: boolean): Promise<void> } } | undefined;
    try {
      host = app.app.get(processor as never, { strict: false });
    } catch {
      continue; // no workers in this app
    }
    if (host?.worker) await Promise.race([host.worker.close(true).catch(() => undefined), pause(10_000)]);
  }
}
