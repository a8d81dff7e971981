import type { files, sharing } from 'dropbox';
import { emulatorDropboxClient } from './index';
import { EmulatorFixture, dropboxError, startFixture } from './spec-support';

describe('accounts', () => {
  let fixture: EmulatorFixture;

  beforeAll(async () => {
    fixture = await startFixture();
  });

  afterAll(async () => {
    await fixture.emulator.close();
  });

  it('refuses temporary links (email_not_verified) and sharing (email_unverified) until the email is verified', async () => {
    const account = fixture.emulator.control.registerAccount({ email: 'new@example.com', email_verified: false });
    expect(account.email_verified).toBe(false);
    const dbx = emulatorDropboxClient(
      fixture.emulator.url,
      fixture.emulator.control.issueToken({ account_id: account.account_id }).access_token,
    );
    expect((await dbx.usersGetCurrentAccount()).result.email_verified).toBe(false);
    await dbx.filesUpload({ path: '/Song/Mix.wav', contents: Buffer.from('mix') });

    const link = await dropboxError<files.GetTemporaryLinkError>(dbx.filesGetTemporaryLink({ path: '/Song/Mix.wav' }));
    expect(link.status).toBe(409);
    expect(link.error.error).toEqual({ '.tag': 'email_not_verified' });
    const share = await dropboxError<sharing.ShareFolderError>(dbx.sharingShareFolder({ path: '/Song' }));
    expect(share.error.error).toEqual({ '.tag': 'email_unverified' });

    const res = await fetch(`${fixture.emulator.url}/_emulator/accounts/email-verified`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ account_id: account.account_id, email_verified: true }),
    });
    expect(await res.json()).toMatchObject({ email_verified: true });
    expect((await dbx.filesGetTemporaryLink({ path: '/Song/Mix.wav' })).status).toBe(200);
    const shared = (await dbx.sharingShareFolder({ path: '/Song' })).result as { shared_folder_id: string };

    fixture.emulator.control.setEmailVerified({ account_id: account.account_id, email_verified: false });
    const invite = await dropboxError<sharing.AddFolderMemberError>(
      dbx.sharingAddFolderMember({
        shared_folder_id: shared.shared_folder_id,
        members: [{ member: { '.tag': 'email', email: 'x@example.com' } }],
      }),
    );
    expect(invite.error.error).toEqual({ '.tag': 'email_unverified' });
    expect((await dbx.usersGetCurrentAccount()).result.email_verified).toBe(false);
  });

  it('have 40-character ids, as Dropbox: "dbid:" and 35 more', async () => {
    const { result } = await fixture.dbx.usersGetCurrentAccount();
    expect(result.account_id).toMatch(/^dbid:[A-Za-z0-9_-]{35}$/);
    for (let i = 0; i < 20; i += 1) {
      expect(fixture.emulator.control.registerAccount({ email: `id-${i}@example.com` }).account_id).toHaveLength(40);
    }
  });
});
