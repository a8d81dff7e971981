import type { Request } from 'express';
import { parseRecipientLine } from './share-recipient-lines';
import { isUnfurler } from './unfurlers';

describe('a line of the recipients box', () => {
  it.each([
    ['Label A <a@label.test>', { name: 'Label A', email: 'a@label.test' }],
    ['"Smith, Jo" <jo@example.com>', { name: 'Smith, Jo', email: 'jo@example.com' }],
    ['  Mix engineer  ', { name: 'Mix engineer', email: null }],
    ['publisher@example.com', { name: 'publisher@example.com', email: 'publisher@example.com' }],
    ['<only@mail.test>', { name: 'only@mail.test', email: 'only@mail.test' }],
    ['Broken <not an email>', { name: 'Broken <not an email>', email: null }],
  ])('%s', (line, expected) => {
    expect(parseRecipientLine(line)).toEqual(expected);
  });
});

describe('link unfurlers', () => {
  const req = (ua?: string) => ({ headers: ua === undefined ? {} : { 'user-agent': ua } }) as unknown as Request;
  it.each([
    'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)',
    'facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)',
    'WhatsApp/2.23.20.0',
    'Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)',
    'TelegramBot (like TwitterBot)',
    'Twitterbot/1.0',
    'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  ])('%s does not count', (ua) => expect(isUnfurler(req(ua))).toBe(true));
  it.each([
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1',
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/140.0.0.0 Safari/537.36',
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0',
  ])('%s counts', (ua) => expect(isUnfurler(req(ua))).toBe(false));
  it('no user agent counts', () => expect(isUnfurler(req())).toBe(false));
});
