import { isUuid, UUID_SOURCE } from './ids';

describe('isUuid', () => {
  it('accepts the ids PostgreSQL gives our rows', () => {
    expect(isUuid('0b6f2a4e-3c1d-4f5a-9b7e-2d8c6a1f0e3b')).toBe(true);
  });

  it.each([
    ['36 dashes', '-'.repeat(36)],
    ['hex without the 8-4-4-4-12 groups', '0b6f2a4e3c1d4f5a9b7e2d8c6a1f0e3b0000'],
    ['dashes in the wrong places', '0b6f2a4e3-c1d-4f5a-9b7e-2d8c6a1f0e3b'],
    ['uppercase (our ids are lowercase, compared as strings)', '0B6F2A4E-3C1D-4F5A-9B7E-2D8C6A1F0E3B'],
    ['a longer string holding an id', 'x0b6f2a4e-3c1d-4f5a-9b7e-2d8c6a1f0e3b'],
    ['not a string', 42],
  ])('refuses %s', (_what, value) => {
    // The looser `[0-9a-f-]{36}` check that some routes used let these through to PostgreSQL (a 500).
    expect(isUuid(value)).toBe(false);
  });

  it('embeds into other patterns without its anchors', () => {
    expect(new RegExp(`^f:${UUID_SOURCE}$`).test('f:0b6f2a4e-3c1d-4f5a-9b7e-2d8c6a1f0e3b')).toBe(true);
  });
});
