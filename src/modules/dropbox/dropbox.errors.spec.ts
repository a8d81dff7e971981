import {
  DropboxAuthExpired,
  DropboxConflict,
  DropboxNotFound,
  DropboxPermanent,
  DropboxRateLimited,
  DropboxTransient,
  mapDropboxFailure,
  tagChain,
} from './dropbox.errors';

const conflict = {
  error_summary: 'path/conflict/folder/..',
  error: { '.tag': 'path', path: { '.tag': 'conflict', conflict: { '.tag': 'folder' } } },
};

describe('mapDropboxFailure', () => {
  it('reads the nested tag chain', () => {
    expect(tagChain(conflict.error)).toEqual(['path', 'conflict', 'folder']);
  });

  it('maps 409 conflict, not_found and other tags', () => {
    expect(mapDropboxFailure({ status: 409, body: conflict })).toBeInstanceOf(DropboxConflict);
    const nf = mapDropboxFailure({
      status: 409,
      body: { error_summary: 'x', error: { '.tag': 'path', path: { '.tag': 'not_found' } } },
    });
    expect(nf).toBeInstanceOf(DropboxNotFound);
    const member = mapDropboxFailure({
      status: 409,
      body: {
        error_summary: 'conflict/',
        error: { '.tag': 'bad_member', bad_member: { '.tag': 'invalid_email', invalid_email: 'x' } },
      },
    });
    expect(member).toBeInstanceOf(DropboxPermanent);
    expect(member.tags).toEqual(['bad_member', 'invalid_email']);
  });

  it('does not trust error_summary text', () => {
    const misleading = { error_summary: 'path/not_found/', error: { '.tag': 'insufficient_plan' } };
    expect(mapDropboxFailure({ status: 409, body: misleading })).toBeInstanceOf(DropboxPermanent);
  });

  it('takes the longer of Retry-After and retry_after on 429', () => {
    const err = mapDropboxFailure({
      status: 429,
      headers: { 'retry-after': '3' },
      body: { error_summary: 'too_many_requests/', error: { reason: { '.tag': 'too_many_requests' }, retry_after: 2 } },
    }) as DropboxRateLimited;
    expect(err).toBeInstanceOf(DropboxRateLimited);
    expect(err.retryAfterMs).toBe(3000);
    expect(err.tags).toEqual(['too_many_requests']);
  });

  it('treats too_many_write_operations inside a 409 as rate limiting', () => {
    const err = mapDropboxFailure({
      status: 409,
      body: { error_summary: 'x', error: { '.tag': 'too_many_write_operations' } },
    });
    expect(err).toBeInstanceOf(DropboxRateLimited);
  });

  it('maps 401, 5xx and 400', () => {
    expect(mapDropboxFailure({ status: 401, body: { error: { '.tag': 'invalid_access_token' } } })).toBeInstanceOf(
      DropboxAuthExpired,
    );
    expect(mapDropboxFailure({ status: 503, body: 'unavailable' })).toBeInstanceOf(DropboxTransient);
    const bad = mapDropboxFailure({ status: 400, body: 'Error in call to API function "files/x": bad' });
    expect(bad).toBeInstanceOf(DropboxPermanent);
    expect(bad.retryable).toBe(false);
  });

  describe('files/upload refusals (UploadWriteFailed: the reason sits beside the tag)', () => {
    const uploadFailed = (reason: object) => ({
      status: 409,
      body: {
        error_summary: 'path/../',
        error: { '.tag': 'path', reason, upload_session_id: 'pid_upload_session:abc' },
      },
    });

    it('reads a conflict as a conflict, so a racing upload takes a free name', () => {
      const err = mapDropboxFailure(uploadFailed({ '.tag': 'conflict', conflict: { '.tag': 'file' } }), 'files/upload');
      expect(err).toBeInstanceOf(DropboxConflict);
      expect(err.tags).toEqual(['path', 'conflict', 'file']);
    });

    it('keeps disallowed_name and malformed_path as permanent refusals that name the reason', () => {
      for (const tag of ['disallowed_name', 'malformed_path']) {
        const err = mapDropboxFailure(uploadFailed({ '.tag': tag }), 'files/upload');
        expect(err).toBeInstanceOf(DropboxPermanent);
        expect(err.tags).toEqual(['path', tag]);
      }
    });

    it('retries too_many_write_operations', () => {
      const err = mapDropboxFailure(uploadFailed({ '.tag': 'too_many_write_operations' }), 'files/upload');
      expect(err).toBeInstanceOf(DropboxRateLimited);
      expect(err.retryable).toBe(true);
    });
  });
});
