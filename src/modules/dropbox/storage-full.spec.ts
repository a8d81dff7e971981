import { formatSpace, storageFullMessage } from './storage-full';
import { DropboxStorageFull, mapDropboxFailure, tagChain } from './dropbox.errors';

describe('a full Dropbox in words', () => {
  it('shows space as Dropbox does', () => {
    expect(formatSpace(2 * 1024 ** 3)).toBe('2 GB');
    expect(formatSpace(1.95 * 1024 ** 3)).toBe('1.9 GB');
    expect(formatSpace(3 * 1024 ** 2)).toBe('3 MB');
    expect(formatSpace(512)).toBe('0.5 KB');
  });

  it('says how full and what to do', () => {
    expect(storageFullMessage({ usedBytes: 2 * 1024 ** 3, allocatedBytes: 2 * 1024 ** 3 })).toBe(
      'Your Dropbox is full (2 GB of 2 GB used): free some space, then Retry',
    );
    expect(storageFullMessage(null)).toBe('Your Dropbox is full: free some space, then Retry');
  });

  it('maps insufficient_space inside UploadWriteFailed and insufficient_quota to DropboxStorageFull', () => {
    const body = {
      error_summary: 'path/insufficient_space/..',
      error: { '.tag': 'path', reason: { '.tag': 'insufficient_space' }, upload_session_id: 'pid_upload_session:x' },
    };
    expect(tagChain(body.error)).toEqual(['path', 'insufficient_space']);
    expect(mapDropboxFailure({ status: 409, body }, 'files/upload')).toBeInstanceOf(DropboxStorageFull);
    const quota = {
      error_summary: 'x',
      error: { '.tag': 'relocation_error', relocation_error: { '.tag': 'insufficient_quota' } },
    };
    expect(mapDropboxFailure({ status: 409, body: quota })).toBeInstanceOf(DropboxStorageFull);
  });
});
