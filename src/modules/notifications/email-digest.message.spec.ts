import { digestMessage } from './email-digest.message';

const event = (type: string, data: Record<string, unknown>) => ({
  id: 'e',
  type,
  ownerId: 'o',
  createdAt: '2026-12-01T10:00:00.000Z',
  data,
});

describe('digest message', () => {
  const publicUrl = 'https://studio.example';

  it('adds the extend link of a request for more time, in text and HTML, escaped', () => {
    const url = `${publicUrl}/shares/s1/extend?request=r1&expires=1&sig=ab`;
    const m = digestMessage(
      [
        event('access.requested', {
          shareId: 's1',
          title: 'A & B',
          name: 'Kim <K>',
          message: 'Friday?',
          extendUrl: url,
        }),
      ],
      publicUrl,
    );
    expect(m.text).toContain(`(Kim <K>, Friday?)\n  Extend the link by 7 days: ${url}`);
    expect(m.html).toContain(
      `<a href="${publicUrl}/shares/s1/extend?request=r1&#38;expires=1&#38;sig=ab">Extend the link by 7 days</a>`,
    );
    expect(m.html).toContain('Kim &#60;K&#62;');
  });

  it('never links anywhere but this server, and cuts long comment bodies short in the line', () => {
    const m = digestMessage(
      [
        event('access.requested', { shareId: 's1', title: 'T', name: 'X', extendUrl: 'https://evil.example/phish' }),
        event('comment.created', { shareId: 's1', title: 'T', name: 'Y', body: 'z'.repeat(500) }),
      ],
      publicUrl,
    );
    expect(m.text).not.toContain('evil.example');
    expect(m.html).not.toContain('evil.example');
    expect(m.text).toContain(`${'z'.repeat(200)}…`);
    expect(m.text).not.toContain('z'.repeat(201));
  });
});
