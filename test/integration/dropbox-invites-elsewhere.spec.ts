import { CollabEnv, isFinal, makeTrack, startCollabEnv, waitForCollab } from './collaboration-support';

/**
 * On Dropbox a person can accept an invitation while signed in under another address: the invitee disappears and a
 * member with the other address appears. Such an invitation is never sent again by itself; the panel says
 * "Accepted as <email>" where it can tell, else "Invite no longer pending", and the producer can invite again.
 */
describe('invitations accepted under another address', () => {
  let env: CollabEnv;

  beforeAll(async () => {
    env = await startCollabEnv();
  });
  afterAll(async () => {
    await env?.close();
  });

  it('are not re-sent by "share with remaining"; the panel says what happened; Invite again sends one by hand', async () => {
    const { producer, emulator } = env;
    const track = await makeTrack(producer, {
      files: 1,
      collaborators: [{ name: 'Ana Lima' }, { name: 'Ben Ode' }, { name: 'Cy Park' }],
    });
    await producer.api.post(`/api/v1/tracks/${track.id}/collaboration`, { files: track.selection });
    const first = await waitForCollab(producer, track.id, isFinal);
    expect(first.members.map((m) => m.state)).toEqual(['invited', 'invited', 'invited']);
    const [ana, ben] = track.collaborators;
    const folder = await producer.dbx.filesGetMetadata({ path: first.folder!.path });
    const sharedFolderId = (folder.result as { sharing_info: { shared_folder_id: string } }).sharing_info
      .shared_folder_id;

    // Ana accepts signed in with her home account; Ben's invitation is withdrawn in Dropbox.
    emulator.control.acceptInvites({
      shared_folder_id: sharedFolderId,
      email: ana.email!,
      as_email: 'ana.home@example.net',
      as_display_name: 'Ana Lima',
    });
    await producer.dbx.sharingRemoveFolderMember({
      shared_folder_id: sharedFolderId,
      member: { '.tag': 'email', email: ben.email! },
      leave_a_copy: false,
    });

    const refreshed = await producer.api.post(`/api/v1/tracks/${track.id}/collaboration/refresh`);
    expect(refreshed.status).toBe(200);
    const byName = (view: typeof first) =>
      Object.fromEntries(view.members.map((m) => [m.name, [m.state, m.stateLabel, m.canReinvite]]));
    expect(byName(refreshed.body)).toEqual({
      'Ana Lima': ['gone', 'Accepted as ana.home@example.net', true],
      'Ben Ode': ['gone', 'Invite no longer pending', true],
      'Cy Park': ['invited', 'Invite pending', false],
    });
    const panel = await producer.browser.get(`/tracks/${track.id}/collaboration`);
    expect(panel.text).toContain('Accepted as ana.home@example.net');
    expect(panel.text).toContain(`/collaboration/members/${ben.id}/reinvite`);

    // "Share with remaining" finds nobody to invite: no invitation goes out by itself.
    emulator.control.resetCounters();
    expect((await producer.api.post(`/api/v1/tracks/${track.id}/collaboration`, { files: [] })).status).toBe(202);
    const again = await waitForCollab(producer, track.id, (v) => isFinal(v) && v.finishedAt !== first.finishedAt);
    expect(again.status).toBe('done');
    expect(emulator.control.counters().callsByRoute['sharing/add_folder_member']).toBeUndefined();
    expect(byName(again)['Ben Ode'][0]).toBe('gone');

    // The producer invites Ben again by hand: one invitation, to him only.
    const reinvited = await producer.api.post(`/api/v1/tracks/${track.id}/collaboration/members/${ben.id}/reinvite`);
    expect(reinvited.status).toBe(202);
    const done = await waitForCollab(
      producer,
      track.id,
      (v) => isFinal(v) && v.members.find((m) => m.name === 'Ben Ode')!.state === 'invited',
    );
    expect(done.status).toBe('done');
    expect(emulator.control.counters().callsByRoute['sharing/add_folder_member']).toBe(1);
    const members = (await producer.dbx.sharingListFolderMembers({ shared_folder_id: sharedFolderId })).result;
    expect(members.invitees.map((i) => (i.invitee as { email: string }).email).sort()).toEqual(
      [ben.email, track.collaborators[2].email].sort(),
    );
    expect(
      (await producer.api.post(`/api/v1/tracks/${track.id}/collaboration/members/${ben.id}/reinvite`)).status,
    ).toBe(404);
  });
});
