import { parseSelection, SELECTION_PATTERN, selectionOf } from './file-selection';

describe('the file selection format', () => {
  const id = '0b6f2a4e-3c1d-4f5a-9b7e-2d8c6a1f0e3b';

  it('names an imported file by its id and a file found in Dropbox by its Dropbox id', () => {
    expect(parseSelection(`f:${id}`)).toEqual({ kind: 'imported', fileId: id });
    expect(parseSelection('d:id:AbC_12-x')).toEqual({ kind: 'dropbox', dropboxId: 'id:AbC_12-x' });
    expect(selectionOf({ imported: true, id, dropboxId: 'id:x' })).toBe(`f:${id}`);
    expect(selectionOf({ imported: false, id: null, dropboxId: 'id:x' })).toBe('d:id:x');
  });

  it.each([`f:${'-'.repeat(36)}`, `f:${id.replace(/-/g, '')}0000`, 'd:abc', `f:${id} `, 'x:id:abc', ''])(
    'refuses %j',
    (item) => {
      // `f:` then any 36 of [0-9a-f-] used to pass the share and collaboration DTOs and reach PostgreSQL as a uuid.
      expect(SELECTION_PATTERN.test(item)).toBe(false);
      expect(parseSelection(item)).toBeNull();
    },
  );
});
