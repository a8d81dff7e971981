import { DEFAULT_DOWNLOADS, formatLabel, inferCategory, isPackageFolder } from './file-categories';

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
