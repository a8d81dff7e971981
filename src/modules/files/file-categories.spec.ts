import {
  contentTypeOf,
  DEFAULT_DOWNLOADS,
  formatLabel,
  inferCategory,
  isAudio,
  isPackageFolder,
  isPlayable,
} from './file-categories';

describe('file categories', () => {
  it('infers by subfolder first', () => {
    expect(inferCategory('kick.wav', ['Stems'])).toBe('stem');
    expect(inferCategory('song.als', ['bounces'])).toBe('bounce');
  });

  it('then by extension: projects, audio as bounces, the rest with projects', () => {
    expect(inferCategory('Song.als')).toBe('project');
    expect(inferCategory('Song.FLP')).toBe('project');
    expect(inferCategory('Song v3.rpp')).toBe('project');
    expect(inferCategory('Mix.wav')).toBe('bounce');
    expect(inferCategory('Mix.mp3', ['Old'])).toBe('bounce');
    expect(inferCategory('lyrics.pdf')).toBe('project');
  });

  it('knows Logic packages', () => {
    expect(isPackageFolder('My Song.logicx')).toBe(true);
    expect(isPackageFolder('Stems')).toBe(false);
    expect(formatLabel('My Song.logicx', true)).toBe('Logic Pro project');
    expect(formatLabel('mix.wav')).toBe('WAV');
  });

  it('maps sharing statuses to default download permissions', () => {
    expect(DEFAULT_DOWNLOADS.private).toEqual({ bounce: false, project: false, stem: false });
    expect(DEFAULT_DOWNLOADS.preview).toEqual({ bounce: true, project: false, stem: false });
    expect(DEFAULT_DOWNLOADS.collaborative).toEqual({ bounce: true, project: true, stem: true });
    expect(DEFAULT_DOWNLOADS.released).toEqual({ bounce: true, project: false, stem: true });
  });
});

describe('audio: one list for what is audio and how it is served', () => {
  it.each([
    'take.wav',
    'take.mp3',
    'take.flac',
    'take.aiff',
    'take.m4a',
    'take.ogg',
    'take.opus',
    'take.wma',
    'take.caf',
  ])('serves %s with an audio type', (name) => {
    // .wma and .caf counted as audio (bounces, previews, the player) but were served as application/octet-stream.
    expect(isAudio(name)).toBe(true);
    expect(contentTypeOf(name)).toMatch(/^audio\//);
  });

  it('serves anything else as a plain download', () => {
    expect(isAudio('session.als')).toBe(false);
    expect(contentTypeOf('session.als')).toBe('application/octet-stream');
    expect(contentTypeOf('notes')).toBe('application/octet-stream');
    expect(contentTypeOf('TAKE.WAV')).toBe('audio/wav');
  });

  it('plays audio files, never a package folder', () => {
    expect(isPlayable({ name: 'mix.wav', isPackage: false })).toBe(true);
    expect(isPlayable({ name: 'Song.logicx', isPackage: true })).toBe(false);
    expect(isPlayable({ name: 'stems.zip', isPackage: false })).toBe(false);
  });
});
