import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { QueueName } from '../../src/queues/queues';
import { eventually } from '../support/poll';
import {
  collabStatus,
  CollabEnv,
  connectedProducer,
  filesIn,
  isFinal,
  makeTrack,
  startCollabEnv,
  waitForCollab,
} from './collaboration-support';

/**
 * Failures of the pipeline: transient ones retried by the queue (the gateway is told to try each call once, so a
 * failure reaches the job), Dropbox's permanent refusals shown in words, retry after the cause is fixed, stuck runs.
 */
describe('share with collaborators: failures', () => {
  let env: CollabEnv;

  beforeAll(async () => {
    // A minute before a failed job's retry: long enough that the panel's "retrying" note is always seen, however
    // loaded the machine; the retry specs then start the retry themselves (no spec here waits the minute out).
    // A run is stuck after a second without progress (below COLLAB_STUCK_SECONDS's 5 s minimum).
    env = await startCollabEnv({
      tuning: { dropbox: { maxAttempts: 1 }, jobs: { backoffMs: 60_000 }, collaboration: { stuckMs: 1_000 } },
    });
  });
  afterAll(async () => {
    await env?.close();
  });

  it.each([
    ['folder', 'sharing/share_folder', 503],
    ['files', 'files/copy_batch_v2', 500],
    ['invites', 'sharing/add_folder_member', 503],
  ])('the %s step failing once is retried by the queue and the pipeline completes', async (step, route, status) => {
    const { producer, emulator } = env;
    const track = await makeTrack(producer, { files: 2, collaborators: [{}, {}] });
    emulator.control.resetCounters();
    const fault = emulator.control.addFault({ route, status, times: 1 });
    await producer.api.post(`/api/v1/tracks/${track.id}/collaboration`, { files: track.selection });

    // While the queue waits to retry, the panel says so (a note, not a failure).
    const waiting = await waitForCollab(producer, track.id, (v) => v.notice !== null || isFinal(v));
    expect(waiting.status).not.toBe('failed');
    expect(waiting.notice).not.toBeNull();
    expect(waiting.step).toBe(step);

    // The failed step waits in the queue for its retry; start it now instead of waiting out the backoff.
    const queue = env.t.app.get<Queue>(getQueueToken(QueueName.Collaboration), { strict: false });
    const delayed = await eventually(
      () => queue.getDelayed(),
      (jobs) => jobs.length > 0,
      { what: 'the retry waiting in the queue' },
    );
    await Promise.all(delayed.map((job) => job.promote()));

    const view = await waitForCollab(producer, track.id, isFinal, 40_000);
    expect(view.status).toBe('done');
    expect(view.notice).toBeNull();
    expect(emulator.control.faults().find((f) => f.id === fault.id)).toBeUndefined(); // it did fire
    const counters = emulator.control.counters();
    expect(counters.callsByRoute[route]).toBe(2);
    // Steps before the failed one were not done again.
    if (step !== 'folder') expect(counters.callsByRoute['sharing/share_folder']).toBe(1);
    if (step === 'invites') expect(counters.callsByRoute['files/copy_batch_v2']).toBe(1);
    expect(await filesIn(producer.dbx, view.folder!.path)).toEqual(['Stems/stem-01.wav', 'Stems/stem-02.wav']);
    expect(view.invites).toMatchObject({ total: 2, sent: 2 });
  });

  const refusals: Array<[string, object, RegExp]> = [
    ['too_many_pending_invites', { errorTag: 'too_many_pending_invites' }, /too many invitations waiting/],
    ['daily_invite_limit', { errorTag: 'rate_limit' }, /daily limit.*Try again in 24 hours/],
    ['insufficient_plan', { errorTag: 'insufficient_plan' }, /plan does not allow/],
  ];
  it.each(refusals)('explains the refusal %s and does not retry it', async (code, fault, message) => {
    const { producer, emulator } = env;
    const track = await makeTrack(producer, { files: 1, collaborators: [{}] });
    emulator.control.resetCounters();
    emulator.control.addFault({ route: 'sharing/add_folder_member', times: 1, ...fault });
    await producer.api.post(`/api/v1/tracks/${track.id}/collaboration`, { files: track.selection });
    const view = await waitForCollab(producer, track.id, isFinal);
    expect(view.status).toBe('failed');
    expect(view.error).toEqual({ code, message: expect.stringMatching(message) });
    expect(view.steps.find((s) => s.key === 'invites')!.state).toBe('failed');
    expect(view.members[0]).toMatchObject({ state: 'failed', error: expect.stringMatching(message) });
    expect(view.canRetry).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(emulator.control.counters().callsByRoute['sharing/add_folder_member']).toBe(1);

    const page = await producer.browser.get(`/tracks/${track.id}/collaboration`);
    expect(page.text).toContain(`data-collab-error="${code}"`);
    expect(page.text).toMatch(/>Retry</);
  });

  it('an invalid email fails only that person; after correcting it, retry invites them and finishes', async () => {
    const { producer, emulator } = env;
    const track = await makeTrack(producer, {
      files: 1,
      collaborators: [{ name: 'Ok' }, { name: 'Typo', email: 'typo@exmaple.con' }],
    });
    emulator.control.addFault({
      route: 'sharing/add_folder_member',
      times: 1,
      error: { '.tag': 'bad_member', bad_member: { '.tag': 'invalid_email', invalid_email: 'typo@exmaple.con' } },
    });
    await producer.api.post(`/api/v1/tracks/${track.id}/collaboration`, { files: track.selection });
    const failed = await waitForCollab(producer, track.id, isFinal);
    expect(failed.status).toBe('failed');
    expect(failed.error!.code).toBe('invalid_email');
    expect(failed.error!.message).toMatch(/“typo@exmaple\.con”.*Correct it under Collaborators, then press Retry/);
    expect(Object.fromEntries(failed.members.map((m) => [m.name, m.state]))).toEqual({ Ok: 'invited', Typo: 'failed' });

    const typo = track.collaborators[1];
    const fixed = await producer.api.put(`/api/v1/collaborators/${typo.id}`, {
      name: 'Typo',
      email: 'typo@example.com',
      role: 'co-producer',
    });
    expect(fixed.status).toBe(200);
    emulator.control.resetCounters();
    const retried = await producer.api.post(`/api/v1/tracks/${track.id}/collaboration/retry`);
    expect(retried.status).toBe(202);
    const view = await waitForCollab(producer, track.id, isFinal);
    expect(view.status).toBe('done');
    expect(Object.fromEntries(view.members.map((m) => [m.name, [m.state, m.email]]))).toEqual({
      Ok: ['invited', track.collaborators[0].email],
      Typo: ['invited', 'typo@example.com'],
    });
    const counters = emulator.control.counters();
    expect(counters.callsByRoute['sharing/share_folder']).toBeUndefined(); // resumed at the failed step
    expect(counters.callsByRoute['files/copy_batch_v2']).toBeUndefined();
    expect(counters.callsByRoute['sharing/add_folder_member']).toBe(1);
  });

  it('a connection that expires mid-run is explained (reconnect in Settings)', async () => {
    const { emulator, t } = env;
    const producer = await connectedProducer(t, emulator);
    const track = await makeTrack(producer, { files: 1, collaborators: [{}] });
    // The folder step's call is already authenticated when the producer revokes the app in Dropbox.
    emulator.control.addFault({
      route: 'sharing/share_folder',
      accountId: producer.accountId,
      latencyMs: 800,
      times: 1,
    });
    const started = await producer.api.post(`/api/v1/tracks/${track.id}/collaboration`, { files: track.selection });
    expect(started.status).toBe(202);
    emulator.control.revokeTokens({ account_id: producer.accountId });
    const view = await waitForCollab(producer, track.id, isFinal);
    expect(view.status).toBe('failed');
    expect(view.error).toEqual({
      code: 'connection_expired',
      message: expect.stringMatching(/Reconnect Dropbox in Settings/),
    });
  });

  it('shows a run with no progress as stuck, and retry takes over from it', async () => {
    const { producer, emulator } = env;
    const track = await makeTrack(producer, { files: 1, collaborators: [{}] });
    // Held four times the 1 s stuck threshold, so a loaded machine still sees the stuck state before it ends.
    const hang = emulator.control.addFault({ route: 'sharing/share_folder', latencyMs: 4_000, times: 1 });
    await producer.api.post(`/api/v1/tracks/${track.id}/collaboration`, { files: track.selection });
    const stuck = await waitForCollab(producer, track.id, (v) => v.status === 'stuck', 20_000);
    expect(stuck).toMatchObject({ canRetry: true, canReset: true, statusLabel: expect.stringMatching(/Stuck/) });
    const page = await producer.browser.get(`/tracks/${track.id}/collaboration`);
    expect(page.text).toMatch(/No progress for a while/);

    const retried = await producer.api.post(`/api/v1/tracks/${track.id}/collaboration/retry`);
    expect(retried.status).toBe(202);
    const view = await waitForCollab(producer, track.id, isFinal, 30_000);
    expect(view.status).toBe('done');
    expect(emulator.control.faults().find((f) => f.id === hang.id)).toBeUndefined();
    // The slow first call and the retry's call both reached Dropbox: one shared folder all the same.
    expect((await collabStatus(producer, track.id)).folder!.path).toBe(view.folder!.path);
  });
});
