import { safeRedirectPath } from './safe-redirect';

describe('safeRedirectPath', () => {
  it.each([
    ['/tracks?page=2', '/tracks?page=2'],
    ['/settings#tokens', '/settings#tokens'],
  ])('keeps a local path %s', (input, expected) => {
    expect(safeRedirectPath(input)).toBe(expected);
  });

  it.each([
    '/.//evil.example',
    '/./..//evil.example',
    '//evil.example',
    '/\\evil.example',
    'https://evil.example',
    'javascript:alert(1)',
    '',
    '/\tfoo',
    undefined,
    42,
  ])('refuses %p', (input) => {
    expect(safeRedirectPath(input)).toBe('/');
  });
});
