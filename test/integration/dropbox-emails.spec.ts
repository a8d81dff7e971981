import { MikroORM } from '@mikro-orm/postgresql';
import { Collaborator } from '../../src/modules/files/entities/collaborator.entity';
import { User } from '../../src/modules/accounts/entities/user.entity';
import { CollabEnv, isFinal, makeTrack, Producer, startCollabEnv, waitForCollab } from './collaboration-support';

const REFUSED = ['jörg@example.de', 'user@bücher.de', 'first~last@example.com', 'a!b@example.com'];

/**
 * Addresses Dropbox refuses (`common.EmailAddress`): refused where they are entered, flagged where they were saved
 * before, and never allowed to fail everyone's invitation — a 400 from add_folder_member is narrowed down to the
 * address behind it, `too_many_invitees` to smaller groups.
 */
describe('email addresses Dropbox refuses', () => {
  let env: CollabEnv;
  let producer: Producer;

  beforeAll(async () => {
    env = await startCollabEnv();
    producer = env.producer;
  });
  afterAll(async () => {
    await env?.close();
  });

  const collaboratorCount = () => env.t.app.get(MikroORM).em.fork().count(Collaborator, { owner: producer.id });
  /** A collaborator saved before addresses were checked (straight into the database). */
  const legacyCollaborator = async (name: string, email: string) => {
    const em = env.t.app.get(MikroORM).em.fork();
    const row = em.create(Collaborator, { owner: em.getReference(User, producer.id), name, email, role: 'vocalist' });
    await em.flush();
    return row.id;
  };

  it.each(REFUSED)(
    'POST and PUT /api/v1/collaborators refuse %s with 400 naming email, changing nothing',
    async (email) => {
      const before = await collaboratorCount();
      const created = await producer.api.post('/api/v1/collaborators', { name: 'Jörg', email, role: 'vocalist' });
      expect(created.status).toBe(400);
      expect(created.body.errors).toContainEqual({
        field: 'email',
        message: expect.stringContaining('Dropbox accepts only plain ASCII addresses'),
      });
      expect(await collaboratorCount()).toBe(before);

      const ok = await producer.api.post('/api/v1/collaborators', {
        name: 'Plain',
        email: `plain-${before}@example.de`,
        role: 'vocalist',
      });
      expect(ok.status).toBe(201);
      const updated = await producer.api.put(`/api/v1/collaborators/${ok.body.id}`, {
        name: 'Plain',
        email,
        role: 'vocalist',
      });
      expect(updated.status).toBe(400);
      expect(updated.body.errors).toContainEqual(expect.objectContaining({ field: 'email' }));
      const listed = (await producer.api.get('/api/v1/collaborators')).body as Array<{ id: string; email: string }>;
      expect(listed.find((c) => c.id === ok.body.id)!.email).toBe(`plain-${before}@example.de`);
    },
  );

  it('the collaborator form refuses such an address with the reason beside the field', async () => {
    const before = await collaboratorCount();
    const res = await producer.browser.submit('/collaborators', '/collaborators', {
      name: 'Jörg',
      email: 'jörg@example.de',
      role: 'vocalist',
    });
    expect(res.status).toBe(400);
    expect(res.text).toContain('Dropbox accepts only plain ASCII addresses');
    expect(await collaboratorCount()).toBe(before);
  });

  it('flags addresses saved before the check, and the pipeline invites everyone else', async () => {
    const track = await makeTrack(producer, { files: 1, collaborators: [{ name: 'Ana' }, { name: 'Ben' }] });
    const legacyId = await legacyCollaborator('Jörg', 'jörg@example.de');
    expect(
      (await producer.api.post(`/api/v1/tracks/${track.id}/collaborators`, { collaboratorId: legacyId })).status,
    ).toBeLessThan(300);

    const list = await producer.browser.get('/collaborators');
    expect(list.text).toMatch(/jörg@example\.de <span class="badge badge-danger" data-email-problem>/);
    const listed = (await producer.api.get('/api/v1/collaborators')).body as Array<{
      id: string;
      emailProblem: string | null;
    }>;
    expect(listed.find((c) => c.id === legacyId)!.emailProblem).toMatch(/plain ASCII/);

    env.emulator.control.resetCounters();
    await producer.api.post(`/api/v1/tracks/${track.id}/collaboration`, { files: track.selection });
    const view = await waitForCollab(producer, track.id, isFinal);
    expect(Object.fromEntries(view.members.map((m) => [m.name, m.state]))).toEqual({
      Ana: 'invited',
      Ben: 'invited',
      Jörg: 'failed',
    });
    expect(view.error).toMatchObject({ code: 'invalid_email', message: expect.stringContaining('“jörg@example.de”') });
    expect(view.members.find((m) => m.name === 'Jörg')!.emailProblem).toMatch(/plain ASCII/);
    const invitees = (await producer.dbx.sharingListFolderMembers({ shared_folder_id: await sharedFolderOf(track.id) }))
      .result.invitees;
    expect(invitees.map((i) => (i.invitee as { email: string }).email).sort()).toEqual(
      track.collaborators.map((c) => c.email).sort(),
    );
    const panel = await producer.browser.get(`/tracks/${track.id}/collaboration`);
    expect(panel.text).toContain('data-email-problem');
  });

  it('a 400 from add_folder_member is narrowed down: the others are invited, each once', async () => {
    const track = await makeTrack(producer, {
      files: 1,
      collaborators: [{ name: 'C1' }, { name: 'C2' }, { name: 'C3' }],
    });
    // Dropbox answers the first two calls with its plain-text 400 (as for an address it refuses).
    const body =
      'Error in call to API function "sharing/add_folder_member": request body: members: [0].member.email: did not match pattern';
    env.emulator.control.addFault({
      route: 'sharing/add_folder_member',
      accountId: producer.accountId,
      status: 400,
      body,
      times: 2,
    });
    await producer.api.post(`/api/v1/tracks/${track.id}/collaboration`, { files: track.selection });
    const view = await waitForCollab(producer, track.id, isFinal);
    expect(view.status).toBe('done');
    expect(view.members.map((m) => m.state)).toEqual(['invited', 'invited', 'invited']);
    const invitees = (await producer.dbx.sharingListFolderMembers({ shared_folder_id: await sharedFolderOf(track.id) }))
      .result.invitees;
    expect(invitees).toHaveLength(3);
  });

  it('too_many_invitees means smaller groups, not "try again in 24 hours"', async () => {
    env.emulator.control.updateSettings({ maxInviteesPerCall: 2 });
    try {
      const track = await makeTrack(producer, { files: 1, collaborators: [{}, {}, {}, {}, {}] });
      await producer.api.post(`/api/v1/tracks/${track.id}/collaboration`, { files: track.selection });
      const view = await waitForCollab(producer, track.id, isFinal);
      expect(view.status).toBe('done');
      expect(view.invites.sent).toBe(5);
      const invitees = (
        await producer.dbx.sharingListFolderMembers({ shared_folder_id: await sharedFolderOf(track.id) })
      ).result.invitees;
      expect(invitees.map((i) => (i.invitee as { email: string }).email).sort()).toEqual(
        track.collaborators.map((c) => c.email).sort(),
      );
    } finally {
      env.emulator.control.updateSettings({ maxInviteesPerCall: 0 });
    }
  });

  async function sharedFolderOf(trackId: string): Promise<string> {
    const view = await waitForCollab(producer, trackId, isFinal);
    const meta = await producer.dbx.filesGetMetadata({ path: view.folder!.path });
    return (meta.result as { sharing_info?: { shared_folder_id: string } }).sharing_info!.shared_folder_id;
  }
});
