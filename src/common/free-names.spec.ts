import { firstFreeName, nextNumberedName, numberedName } from './free-names';

describe('the free-name rule', () => {
  it('numbers a file before its extension, and keeps the folder part of a path', () => {
    expect(numberedName('kick.wav', 1)).toBe('kick.wav');
    expect(numberedName('kick.wav', 2)).toBe('kick (2).wav');
    expect(numberedName('Stems/kick.final.wav', 3)).toBe('Stems/kick.final (3).wav');
    expect(numberedName('Stems/kick', 2)).toBe('Stems/kick (2)');
  });

  it('keeps a bundle’s extension, so a Logic project still opens (the library move and the ZIP disagreed)', () => {
    expect(numberedName('Projects/Song.logicx', 2)).toBe('Projects/Song (2).logicx');
  });

  it('numbers a dot-file and a plain folder at the end (the ZIP gave " (2).env")', () => {
    expect(numberedName('Night Drive/.env', 2)).toBe('Night Drive/.env (2)');
    expect(numberedName('/Producer Dashboard/Vol. 2', 2, { folder: true })).toBe('/Producer Dashboard/Vol. 2 (2)');
  });

  it('counts on from a numbered name instead of numbering it twice', () => {
    expect(nextNumberedName('Bounces/mix.wav')).toBe('Bounces/mix (2).wav');
    expect(nextNumberedName('Bounces/mix (2).wav')).toBe('Bounces/mix (3).wav');
    expect(nextNumberedName('Bounces (2)/mix (9)')).toBe('Bounces (2)/mix (10)');
  });

  it('finds the first free candidate without case, or none within the tries', () => {
    const taken = new Set(['mix.wav', 'mix (2).wav']);
    expect(firstFreeName('MIX.wav', (c) => taken.has(c), 5)).toBe('MIX (3).wav');
    expect(firstFreeName('mix.wav', (c) => taken.has(c), 2)).toBeNull();
  });
});
