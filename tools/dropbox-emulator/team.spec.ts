import type { sharing } from 'dropbox';
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
    const member = emulator.control.registerAccount({ email: 'lead@studio.example', team_id: 'dbtid:studio', cant_share_outside_team: true });
    emulator.control.registerAccount({ email: 'engineer@studio.example', team_id: 'dbtid:studio' });
    expect(member.team_id).toBe('dbtid:studio');
    const dbx = emulatorDropboxClient(emulator.url, emulator.control.issueToken({ account_id: member.account_id }).access_token);
    const me = (await dbx.usersGetCurrentAccount()).result;
    expect(me.root_info['.tag']).toBe('team');
    expect(me.account_type['.tag']).toBe('business');

    const shared = (await dbx.sharingShareFolder({ path: '/Session' })).result as { shared_folder_id: string };
    const outside = await dropboxError<sharing.AddFolderMemberError>(
      dbx.sharingAddFolderMember({
        shared_folder_id: shared.shared_folder_id,
        members: [{ member: { '.tag': 'email', email: 'engineer@studio.example' } }, { member: { '.tag': 'email', email: 'fan@example.com' } }],
      }),
    );
    expect(outside.error.error).toEqual({ '.tag': 'cant_share_outside_team' });
    await dbx.sharingAddFolderMember({ shared_folder_id: shared.shared_folder_id, members: [{ member: { '.tag': 'email', email: 'engineer@studio.example' } }] });
    const members = (await dbx.sharingListFolderMembers({ shared_folder_id: shared.shared_folder_id })).result;
    expect(members.invitees.map((i) => (i.invitee as { email: string }).email)).toEqual(['engineer@studio.example']);
  });
});
