import { validateForm } from '../../../common/http/validation';
import { parseTime, PostCommentDto } from './comment.dto';

describe('comment times', () => {
  it('reads seconds, m:ss and h:mm:ss; anything else stays as given', () => {
    expect(parseTime('83')).toBe(83);
    expect(parseTime('83.4')).toBe(83.4);
    expect(parseTime('1:23')).toBe(83);
    expect(parseTime('1:02:03')).toBe(3723);
    expect(parseTime(' 0:01.5 ')).toBe(1.5);
    expect(parseTime(12)).toBe(12);
    expect(parseTime('1:2')).toBe('1:2');
    expect(parseTime('soon')).toBe('soon');
    expect(parseTime(undefined)).toBeUndefined();
  });

  it('a form post validates with the time as a number and the text trimmed', () => {
    const ok = validateForm(PostCommentDto, {
      _csrf: 'x',
      fileId: '0c962771-a032-4ac8-9ab3-ad90f790fc67',
      at: '1:05',
      body: '  Kick  ',
      name: ' Ana ',
    });
    expect(ok.errors).toBeNull();
    expect(ok.value).toMatchObject({ at: 65, body: 'Kick', name: 'Ana' });
    const bad = validateForm(PostCommentDto, { fileId: '0c962771-a032-4ac8-9ab3-ad90f790fc67', at: '', body: 'x' });
    expect(bad.errors?.map((e) => e.field)).toEqual(['at']);
  });
});
