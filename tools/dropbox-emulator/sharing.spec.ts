import type { files, sharing } from 'dropbox';
import { emulatorDropboxClient } from './index';
import { EmulatorFixture, dropboxError, startFixture } from './spec-support';

describe('sharing routes', () => {
  let fixture: EmulatorFixture;

  beforeAll(async () => {
    fixture = await startFixture({ asyncPolls: 2 });
    fixture.emulator.control.registerAccount({
      email: 'drummer@example.com',
      display_name: 'Dee Drummer',
      autoAccept: true,
    });
    fixture.emulator.control.registerAccount({ email: 'bassist@example.com', display_name: 'Bo Bassist' });
  });

  afterAll(async () => {
    await fixture.emulator.close();
  });

  async function shareFolder(path: string): Promise<sharing.SharedFolderMetadata> {
    const launch = (await fixture.dbx.sharingShareFolder({ path, force_async: true })).result;
    if (launch['.tag'] === 'complete') return launch;
    for (;;) {
      const status = (await fixture.dbx.sharingCheckShareJobStatus({ async_job_id: launch.async_job_id })).result;
      if (status['.tag'] === 'complete') return status;
      if (status['.tag'] === 'failed') throw new Error('share failed');
    }
  }

  it("serves a browse page at the folder's preview_url (the emulator's stand-in for Dropbox's web view)", async () => {
    const shared = await shareFolder('/Shares/Browse Me');
    await fixture.dbx.filesUpload({ path: '/Shares/Browse Me/Stems/Kick.wav', contents: Buffer.from('kick') });
    await fixture.dbx.filesUpload({ path: '/Shares/Browse Me/Notes <b>.txt', contents: Buffer.from('n') });
    expect(shared.preview_url).toBe(`${fixture.emulator.url}/scl/fo/${shared.shared_folder_id}`);
    const top = await fetch(shared.preview_url);
    expect(top.status).toBe(200);
    expect(top.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await top.text();
    expect(html).toContain('<h1>Browse Me</h1>');
    expect(html).toContain(`href="/scl/fo/${shared.shared_folder_id}?path=Stems"`);
    expect(html).toContain('Notes &#60;b&#62;.txt');
    const stems = await (await fetch(`${shared.preview_url}?path=Stems`)).text();
    expect(stems).toContain('Kick.wav');
    expect((await fetch(`${shared.preview_url}?path=..%2F..%2Fetc`)).status).toBe(404);
    expect((await fetch(`${fixture.emulator.url}/scl/fo/nope`)).status).toBe(404);
  });

  it('shares a new folder (creating it), shows the share in metadata, and reports already_shared with the id', async () => {
    const shared = await shareFolder('/Shares/Song One');
    expect(shared).toMatchObject({
      name: 'Song One',
      path_lower: '/shares/song one',
      access_type: { '.tag': 'owner' },
    });

    const folder = (await fixture.dbx.filesGetMetadata({ path: '/shares/song one' }))
      .result as files.FolderMetadataReference;
    expect(folder.sharing_info?.shared_folder_id).toBe(shared.shared_folder_id);

    await fixture.dbx.filesUpload({ path: '/Shares/Song One/Stem.wav', contents: Buffer.from('stem') });
    const inside = (await fixture.dbx.filesGetMetadata({ path: '/Shares/Song One/Stem.wav' }))
      .result as files.FileMetadataReference;
    expect(inside.sharing_info?.parent_shared_folder_id).toBe(shared.shared_folder_id);

    const again = await dropboxError<sharing.ShareFolderError>(
      fixture.dbx.sharingShareFolder({ path: '/shares/SONG ONE' }),
    );
    expect(again.status).toBe(409);
    expect(again.error.error_summary).toBe('bad_path/already_shared/..');
    const badPath = again.error.error as sharing.ShareFolderErrorBaseBadPath;
    const alreadyShared = badPath.bad_path as sharing.SharePathErrorAlreadyShared;
    expect(alreadyShared['.tag']).toBe('already_shared');
    expect(alreadyShared.shared_folder_id).toBe(shared.shared_folder_id);

    const nested = await dropboxError<sharing.ShareFolderError>(
      fixture.dbx.sharingShareFolder({ path: '/Shares/Song One/Inner' }),
    );
    expect(nested.error.error_summary).toBe('bad_path/inside_shared_folder/..');
    const isFile = await dropboxError<sharing.ShareFolderError>(
      fixture.dbx.sharingShareFolder({ path: '/Shares/Song One/Stem.wav' }),
    );
    expect(isFile.error.error_summary).toBe('bad_path/is_file/..');
  });

  it('invites members: auto-accepting accounts join, others stay invitees until accepted', async () => {
    const { shared_folder_id } = await shareFolder('/Shares/Song Two');
    await fixture.dbx.sharingAddFolderMember({
      shared_folder_id,
      members: [
        { member: { '.tag': 'email', email: 'drummer@example.com' }, access_level: { '.tag': 'editor' } },
        { member: { '.tag': 'email', email: 'bassist@example.com' }, access_level: { '.tag': 'editor' } },
        { member: { '.tag': 'email', email: 'singer@example.com' }, access_level: { '.tag': 'viewer' } },
      ],
      quiet: true,
    });
    // Adding someone again is no error and changes nothing.
    await fixture.dbx.sharingAddFolderMember({
      shared_folder_id,
      members: [{ member: { '.tag': 'email', email: 'DRUMMER@example.com' } }],
    });

    const members: sharing.SharedFolderMembers = (await fixture.dbx.sharingListFolderMembers({ shared_folder_id }))
      .result;
    expect(members.users.map((user) => [user.user.email, user.access_type['.tag']])).toEqual([
      ['producer@example.com', 'owner'],
      ['drummer@example.com', 'editor'],
    ]);
    expect(members.invitees.map((invitee) => (invitee.invitee as sharing.InviteeInfoEmail).email)).toEqual([
      'bassist@example.com',
      'singer@example.com',
    ]);
    expect(members.invitees[0].user?.display_name).toBe('Bo Bassist');

    const accepted = fixture.emulator.control.acceptInvites({ shared_folder_id, email: 'bassist@example.com' });
    expect(accepted).toEqual([expect.objectContaining({ email: 'bassist@example.com' })]);
    const after = (await fixture.dbx.sharingListFolderMembers({ shared_folder_id })).result;
    expect(after.users.map((user) => user.user.email)).toContain('bassist@example.com');
    expect(after.invitees.map((invitee) => (invitee.invitee as sharing.InviteeInfoEmail).email)).toEqual([
      'singer@example.com',
    ]);

    const firstPage = (await fixture.dbx.sharingListFolderMembers({ shared_folder_id, limit: 2 })).result;
    expect(firstPage.users).toHaveLength(2);
    const rest = (await fixture.dbx.sharingListFolderMembersContinue({ cursor: firstPage.cursor! })).result;
    expect(rest.users.length + rest.invitees.length).toBe(2);
    expect(rest.cursor).toBeUndefined();
  });

  it('fails add_folder_member as a whole on a bad email, and for unknown folders', async () => {
    const { shared_folder_id } = await shareFolder('/Shares/Song Three');
    const bad = await dropboxError<sharing.AddFolderMemberError>(
      fixture.dbx.sharingAddFolderMember({
        shared_folder_id,
        members: [
          { member: { '.tag': 'email', email: 'fine@example.com' } },
          { member: { '.tag': 'email', email: 'first..last@example.com' } },
        ],
      }),
    );
    // Shaped like common.EmailAddress but not deliverable: 409 naming the address.
    expect(bad.error).toEqual({
      error_summary: 'bad_member/invalid_email/..',
      error: {
        '.tag': 'bad_member',
        bad_member: { '.tag': 'invalid_email', invalid_email: 'first..last@example.com' },
      },
    });
    const members = (await fixture.dbx.sharingListFolderMembers({ shared_folder_id })).result;
    expect(members.invitees).toHaveLength(0);

    const unknown = await dropboxError<sharing.AddFolderMemberError>(
      fixture.dbx.sharingAddFolderMember({ shared_folder_id: '123', members: [] }),
    );
    expect(unknown.error.error_summary).toBe('access_error/invalid_id/..');
  });

  it.each(['jörg@example.de', 'user@bücher.de', 'first~last@example.com', 'a!b@example.com', 'not-an-email'])(
    'answers add_folder_member with HTTP 400 in plain text for %s (common.EmailAddress), inviting nobody',
    async (email) => {
      const { shared_folder_id } = await shareFolder(
        `/Shares/Pattern ${Buffer.from(email).toString('hex').slice(0, 12)}`,
      );
      const refused = await dropboxError(
        fixture.dbx.sharingAddFolderMember({
          shared_folder_id,
          members: [{ member: { '.tag': 'email', email: 'fine@example.com' } }, { member: { '.tag': 'email', email } }],
        }),
      );
      expect(refused.status).toBe(400);
      expect(typeof refused.error).toBe('string');
      expect(refused.error as unknown as string).toContain(
        `members: [1].member.email: '${email}' did not match pattern`,
      );
      const members = (await fixture.dbx.sharingListFolderMembers({ shared_folder_id })).result;
      expect(members.invitees).toHaveLength(0);
    },
  );

  it('answers too_many_invitees when one call invites more people than allowed (setting maxInviteesPerCall)', async () => {
    const { shared_folder_id } = await shareFolder('/Shares/Crowd');
    fixture.emulator.control.updateSettings({ maxInviteesPerCall: 2 });
    const members = ['a', 'b', 'c'].map((n) => ({ member: { '.tag': 'email' as const, email: `${n}@example.com` } }));
    const refused = await dropboxError<sharing.AddFolderMemberError>(
      fixture.dbx.sharingAddFolderMember({ shared_folder_id, members }),
    );
    expect(refused.error.error).toEqual({ '.tag': 'too_many_invitees' });
    await fixture.dbx.sharingAddFolderMember({ shared_folder_id, members: members.slice(0, 2) });
    expect((await fixture.dbx.sharingListFolderMembers({ shared_folder_id })).result.invitees).toHaveLength(2);
  });

  it('accepts an invitation under another address: the invitee is gone and that account is a member', async () => {
    const { shared_folder_id } = await shareFolder('/Shares/Elsewhere');
    await fixture.dbx.sharingAddFolderMember({
      shared_folder_id,
      members: [{ member: { '.tag': 'email', email: 'work@example.com' } }],
    });
    const accepted = fixture.emulator.control.acceptInvites({
      shared_folder_id,
      email: 'work@example.com',
      as_email: 'home@example.net',
      as_display_name: 'Sam Home',
    });
    expect(accepted).toEqual([
      { shared_folder_id, email: 'home@example.net', account_id: expect.stringMatching(/^dbid:/) },
    ]);
    const members = (await fixture.dbx.sharingListFolderMembers({ shared_folder_id })).result;
    expect(members.invitees).toEqual([]);
    expect(members.users.map((u) => [u.user.email, u.user.display_name])).toContainEqual([
      'home@example.net',
      'Sam Home',
    ]);
    expect(members.users.map((u) => u.user.email)).not.toContain('work@example.com');
  });

  it("answers get_folder_metadata with the folder's current path after the owner moved it", async () => {
    const { shared_folder_id } = await shareFolder('/Shares/Before');
    await fixture.dbx.filesMoveV2({ from_path: '/Shares/Before', to_path: '/Elsewhere/After' });
    const meta = (await fixture.dbx.sharingGetFolderMetadata({ shared_folder_id })).result;
    expect(meta.path_lower).toBe('/elsewhere/after');
    expect((meta as { path_display?: string }).path_display).toBe('/Elsewhere/After');
    const unknown = await dropboxError(fixture.dbx.sharingGetFolderMetadata({ shared_folder_id: '42' }));
    expect(unknown.error.error_summary).toBe('access_error/invalid_id/..');
  });

  it('lets a joined member see the folder, removes members and unshares through async jobs', async () => {
    const { shared_folder_id } = await shareFolder('/Shares/Song Four');
    await fixture.dbx.sharingAddFolderMember({
      shared_folder_id,
      members: [
        { member: { '.tag': 'email', email: 'drummer@example.com' } },
        { member: { '.tag': 'email', email: 'keys@example.com' } },
      ],
    });
    const drummer = fixture.emulator.control.accounts().find((account) => account.email === 'drummer@example.com')!;
    const drummerClient = emulatorDropboxClient(
      fixture.emulator.url,
      fixture.emulator.control.issueToken({ account_id: drummer.account_id }).access_token,
    );
    expect((await drummerClient.sharingListFolderMembers({ shared_folder_id })).result.users).toHaveLength(2);

    const launch = (
      await fixture.dbx.sharingRemoveFolderMember({
        shared_folder_id,
        member: { '.tag': 'email', email: 'keys@example.com' },
        leave_a_copy: false,
      })
    ).result;
    if (launch['.tag'] !== 'async_job_id') throw new Error('expected an async job');
    const statuses: string[] = [];
    for (;;) {
      const status = (await fixture.dbx.sharingCheckRemoveMemberJobStatus({ async_job_id: launch.async_job_id }))
        .result;
      statuses.push(status['.tag']);
      if (status['.tag'] !== 'in_progress') break;
    }
    expect(statuses).toEqual(['in_progress', 'in_progress', 'complete']);

    const notMember = await dropboxError<sharing.RemoveFolderMemberError>(
      fixture.dbx.sharingRemoveFolderMember({
        shared_folder_id,
        member: { '.tag': 'email', email: 'keys@example.com' },
        leave_a_copy: false,
      }),
    );
    expect(notMember.error.error_summary).toBe('member_error/not_a_member/..');

    const unshare = (await fixture.dbx.sharingUnshareFolder({ shared_folder_id })).result;
    if (unshare['.tag'] !== 'async_job_id') throw new Error('expected an async job');
    let done: sharing.JobStatus;
    do done = (await fixture.dbx.sharingCheckJobStatus({ async_job_id: unshare.async_job_id })).result;
    while (done['.tag'] === 'in_progress');
    expect(done['.tag']).toBe('complete');
    const folder = (await fixture.dbx.filesGetMetadata({ path: '/Shares/Song Four' }))
      .result as files.FolderMetadataReference;
    expect(folder.sharing_info).toBeUndefined();
    const gone = await dropboxError(fixture.dbx.sharingListFolderMembers({ shared_folder_id }));
    expect(gone.error.error_summary).toBe('access_error/invalid_id/..');
  });
  it('removes a joined member by account id and a pending invitee by email, each through an async job; an unshared folder answers access_error/invalid_id', async () => {
    const { shared_folder_id } = await shareFolder('/Shares/Song Five');
    await fixture.dbx.sharingAddFolderMember({
      shared_folder_id,
      members: [
        { member: { '.tag': 'email', email: 'drummer@example.com' } },
        { member: { '.tag': 'email', email: 'pending@example.com' } },
      ],
    });
    const drummer = fixture.emulator.control.accounts().find((account) => account.email === 'drummer@example.com')!;
    const removeAndWait = async (member: sharing.MemberSelector) => {
      const launch = (await fixture.dbx.sharingRemoveFolderMember({ shared_folder_id, member, leave_a_copy: false }))
        .result;
      if (launch['.tag'] !== 'async_job_id') throw new Error('expected an async job');
      let status: sharing.RemoveMemberJobStatus;
      do status = (await fixture.dbx.sharingCheckRemoveMemberJobStatus({ async_job_id: launch.async_job_id })).result;
      while (status['.tag'] === 'in_progress');
      return status['.tag'];
    };
    expect(await removeAndWait({ '.tag': 'dropbox_id', dropbox_id: drummer.account_id })).toBe('complete');
    expect(await removeAndWait({ '.tag': 'email', email: 'PENDING@example.com' })).toBe('complete');
    const members = (await fixture.dbx.sharingListFolderMembers({ shared_folder_id })).result;
    expect(members.users.map((user) => user.user.email)).toEqual(['producer@example.com']);
    expect(members.invitees).toEqual([]);
    // The folder and its files stay in the owner's Dropbox.
    expect((await fixture.dbx.filesGetMetadata({ path: '/Shares/Song Five' })).result['.tag']).toBe('folder');

    const unshare = (await fixture.dbx.sharingUnshareFolder({ shared_folder_id })).result;
    if (unshare['.tag'] === 'async_job_id') {
      while (
        (await fixture.dbx.sharingCheckJobStatus({ async_job_id: unshare.async_job_id })).result['.tag'] ===
        'in_progress'
      );
    }
    const gone = await dropboxError<sharing.RemoveFolderMemberError>(
      fixture.dbx.sharingRemoveFolderMember({
        shared_folder_id,
        member: { '.tag': 'email', email: 'drummer@example.com' },
        leave_a_copy: false,
      }),
    );
    expect(gone.status).toBe(409);
    expect(gone.error.error_summary).toBe('access_error/invalid_id/..');
  });
});
