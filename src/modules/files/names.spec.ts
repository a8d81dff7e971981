import { dropboxNameProblem, fileNameProblem, normalizeMusicalKey, safeFolderName } from './names';

describe('names', () => {
  it('makes titles safe as Dropbox folder names', () => {
    expect(safeFolderName('Midnight / Drive: v2?')).toBe('Midnight Drive v2');
    expect(safeFolderName('  ..hidden..  ')).toBe('hidden');
    expect(safeFolderName('\u0000\u0007')).toBe('Untitled');
    expect(safeFolderName('x'.repeat(300))).toHaveLength(100);
  });

  it('keeps folder names to characters Dropbox has always accepted, and off the names it refuses', () => {
    expect(safeFolderName('Sunset 🌅 Drive')).toBe('Sunset Drive');
    expect(safeFolderName('🔥🔥')).toBe('Untitled');
    expect(safeFolderName('Love ❤️ you 👩‍🎤')).toBe('Love ❤ you');
    expect(safeFolderName('Café – déjà vu')).toBe('Café – déjà vu');
    expect(safeFolderName('Desktop.ini')).toBe('Desktop.ini (track)');
  });

  it.each([
    '.DS_Store',
    '.ds_store',
    'desktop.ini',
    'Thumbs.db',
    'Icon\r',
    '.dropbox',
    '.dropbox.attr',
    'take ',
    'x'.repeat(256),
  ])('knows Dropbox refuses the file name %j', (name) => {
    expect(dropboxNameProblem(name)).toMatch(/^Dropbox does not/);
  });

  it('lets Dropbox-safe names through', () => {
    expect(dropboxNameProblem('.DS_Store.wav')).toBeNull();
    expect(dropboxNameProblem('Icon.png')).toBeNull();
    expect(dropboxNameProblem('x'.repeat(255))).toBeNull();
  });

  it.each([
    ['../etc/passwd', /path separators/],
    ['a\\b.wav', /path separators/],
    ['bad\u0000name.wav', /control characters/],
    ['line\nbreak.wav', /control characters/],
    ['', /empty/],
    ['x'.repeat(256), /255/],
    ['..', /not a file|path/],
    ['what?.wav', /: \* \?/],
  ])('refuses the file name %j', (name, message) => {
    expect(fileNameProblem(name)).toMatch(message);
  });

  it('accepts ordinary names', () => {
    expect(fileNameProblem('Midnight Drive (Mix 3) [24-bit].wav')).toBeNull();
    expect(fileNameProblem('Ünïcødé – lead vox.aiff')).toBeNull();
  });

  it('normalises musical keys', () => {
    expect(normalizeMusicalKey('f#m')).toBe('F# minor');
    expect(normalizeMusicalKey('Db major')).toBe('Db major');
    expect(normalizeMusicalKey('A minor')).toBe('A minor');
    expect(normalizeMusicalKey('C')).toBe('C major');
    expect(normalizeMusicalKey('H minor')).toBeNull();
  });
});
