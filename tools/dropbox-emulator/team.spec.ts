import { DropboxResponseError, type files, type sharing } from 'dropbox';
import { emulatorDropboxClient, startDropboxEmulator, RunningDropboxEmulator } from './index';
import { dropboxError } from './spec-support';

describe('team (Dropbox Business) accounts', () => {
  let emulator: RunningDropboxEmulator;

  beforeAll(async () => {
    emulator = await startDropboxEmulator({});
  });
  afterAll(async () => {
    await emulator.close();
  });

  it('have a team root and refuse sharing outside the team when the team says so', async () => {
    const member = emulator.control.registerAccount({
      email: 'lead@studio.example',
      team_id: 'dbtid:studio',
      cant_share_outside_team: true,
    });
    emulator.control.registerAccount({ email: 'engineer@studio.example', team_id: 'dbtid:studio' });
    expect(member.team_id).toBe('dbtid:studio');
    const dbx = emulatorDropboxClient(
      emulator.url,
      emulator.control.issueToken({ account_id: member.account_id }).access_token,
    );
    const me = (await dbx.usersGetCurrentAccount()).result;
    expect(me.root_info['.tag']).toBe('team');
    expect(me.account_type['.tag']).toBe('business');

    const shared = (await dbx.sharingShareFolder({ path: '/Session' })).result as { shared_folder_id: string };
    const outside = await dropboxError<sharing.AddFolderMemberError>(
      dbx.sharingAddFolderMember({
        shared_folder_id: shared.shared_folder_id,
        members: [
          { member: { '.tag': 'email', email: 'engineer@studio.example' } },
          { member: { '.tag': 'email', email: 'fan@example.com' } },
        ],
      }),
    );
    expect(outside.error.error).toEqual({ '.tag': 'cant_share_outside_team' });
    await dbx.sharingAddFolderMember({
      shared_folder_id: shared.shared_folder_id,
      members: [{ member: { '.tag': 'email', email: 'engineer@studio.example' } }],
    });
    const members = (await dbx.sharingListFolderMembers({ shared_folder_id: shared.shared_folder_id })).result;
    expect(members.invitees.map((i) => (i.invitee as { email: string }).email)).toEqual(['engineer@studio.example']);
  });

  it("resolve paths from the team root with Dropbox-API-Path-Root: the member's files sit under their home_path", async () => {
    const member = emulator.control.registerAccount({
      email: 'jo@rootteam.example',
      display_name: 'Jo Producer',
      team_id: 'dbtid:rootteam',
    });
    const mate = emulator.control.registerAccount({ email: 'kim@rootteam.example', team_id: 'dbtid:rootteam' });
    const token = emulator.control.issueToken({ account_id: member.account_id }).access_token;
    const home = emulatorDropboxClient(emulator.url, token);
    const info = (await home.usersGetCurrentAccount()).result.root_info as {
      '.tag': string;
      root_namespace_id: string;
      home_namespace_id: string;
      home_path?: string;
    };
    expect(info).toMatchObject({ '.tag': 'team', home_path: '/Jo Producer' });
    expect(info.root_namespace_id).not.toBe(info.home_namespace_id);
    // The team root is the team's: every member names the same one.
    const mateDbx = emulatorDropboxClient(
      emulator.url,
      emulator.control.issueToken({ account_id: mate.account_id }).access_token,
    );
    expect(
      ((await mateDbx.usersGetCurrentAccount()).result.root_info as { root_namespace_id: string }).root_namespace_id,
    ).toBe(info.root_namespace_id);

    const teamRoot = emulatorDropboxClient(emulator.url, token, {
      pathRoot: JSON.stringify({ '.tag': 'root', root: info.root_namespace_id }),
    });
    const stored = (await teamRoot.filesUpload({ path: '/Jo Producer/Song/Mix.wav', contents: Buffer.from('mix') }))
      .result;
    expect(stored.path_display).toBe('/Jo Producer/Song/Mix.wav');
    expect(((await home.filesGetMetadata({ path: '/Song/Mix.wav' })).result as files.FileMetadataReference).id).toBe(
      stored.id,
    );
    const listed = (await teamRoot.filesListFolder({ path: '/Jo Producer/Song' })).result.entries.map(
      (e) => e.path_lower,
    );
    expect(listed).toEqual(['/jo producer/song/mix.wav']);
    // Home as the root, or the home namespace by id: the member's own paths.
    const byHomeId = emulatorDropboxClient(emulator.url, token, {
      pathRoot: JSON.stringify({ '.tag': 'namespace_id', namespace_id: info.home_namespace_id }),
    });
    expect((await byHomeId.filesGetMetadata({ path: '/Song/Mix.wav' })).result.path_display).toBe('/Song/Mix.wav');
    const asHome = emulatorDropboxClient(emulator.url, token, { pathRoot: JSON.stringify({ '.tag': 'home' }) });
    expect((await asHome.filesGetMetadata({ path: '/Song/Mix.wav' })).result.path_display).toBe('/Song/Mix.wav');
  });

  it("answer 422 PathRootError for a root that is not the caller's and a namespace they cannot reach", async () => {
    const member = emulator.control.registerAccount({ email: 'ash@rootteam.example', team_id: 'dbtid:rootteam' });
    const token = emulator.control.issueToken({ account_id: member.account_id }).access_token;
    const info = (await emulatorDropboxClient(emulator.url, token).usersGetCurrentAccount()).result.root_info;
    const refusal = async (pathRoot: object) => {
      const err = await emulatorDropboxClient(emulator.url, token, { pathRoot: JSON.stringify(pathRoot) })
        .filesListFolder({ path: '' })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(DropboxResponseError);
      return err as DropboxResponseError<{ error_summary: string; error: { '.tag': string; invalid_root?: unknown } }>;
    };
    const stale = await refusal({ '.tag': 'root', root: '1234' });
    expect(stale.status).toBe(422);
    expect(stale.error.error).toEqual({ '.tag': 'invalid_root', invalid_root: info });
    const foreign = await refusal({ '.tag': 'namespace_id', namespace_id: '77777' });
    expect(foreign.status).toBe(422);
    expect(foreign.error.error).toEqual({ '.tag': 'no_permission' });
  });

  it('refuse a folder open to anyone when the team keeps shared folders among teammates (team_policy_disallows_member_policy)', async () => {
    const member = emulator.control.registerAccount({
      email: 'lee@closed.example',
      team_id: 'dbtid:closed',
      shared_folder_member_policy: 'team',
    });
    emulator.control.registerAccount({ email: 'max@closed.example', team_id: 'dbtid:closed' });
    const dbx = emulatorDropboxClient(
      emulator.url,
      emulator.control.issueToken({ account_id: member.account_id }).access_token,
    );
    const open = await dropboxError<sharing.ShareFolderError>(
      dbx.sharingShareFolder({ path: '/Open', member_policy: { '.tag': 'anyone' } }),
    );
    expect(open.error.error).toEqual({ '.tag': 'team_policy_disallows_member_policy' });
    await expect(dbx.filesGetMetadata({ path: '/Open' })).rejects.toMatchObject({ status: 409 });
    // The team's default: teammates only.
    const shared = (await dbx.sharingShareFolder({ path: '/Closed' })).result as { shared_folder_id: string };
    const outside = await dropboxError<sharing.AddFolderMemberError>(
      dbx.sharingAddFolderMember({
        shared_folder_id: shared.shared_folder_id,
        members: [{ member: { '.tag': 'email', email: 'fan@example.com' } }],
      }),
    );
    expect(outside.error.error).toEqual({ '.tag': 'cant_share_outside_team' });
    await dbx.sharingAddFolderMember({
      shared_folder_id: shared.shared_folder_id,
      members: [{ member: { '.tag': 'email', email: 'max@closed.example' } }],
    });
  });

  it("treat a personal account's root as its home", async () => {
    const solo = emulator.control.registerAccount({ email: 'solo@example.com' });
    const token = emulator.control.issueToken({ account_id: solo.account_id }).access_token;
    const info = (await emulatorDropboxClient(emulator.url, token).usersGetCurrentAccount()).result.root_info;
    expect(info['.tag']).toBe('user');
    expect(info.root_namespace_id).toBe(info.home_namespace_id);
    const root = emulatorDropboxClient(emulator.url, token, {
      pathRoot: JSON.stringify({ '.tag': 'root', root: info.root_namespace_id }),
    });
    expect((await root.filesUpload({ path: '/Alone.wav', contents: Buffer.from('x') })).result.path_display).toBe(
      '/Alone.wav',
    );
  });
});
