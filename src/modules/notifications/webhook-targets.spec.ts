import { checkWebhookTarget, isPrivateAddress, WebhookTargetRefused } from './webhook-targets';

describe('webhook targets', () => {
  it.each([
    '127.0.0.1',
    '127.8.9.10',
    '10.0.0.1',
    '172.16.5.4',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '::1',
    '::',
    'fe80::1',
    'fd00::1',
    'fc12::3',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:a9fe:a9fe',
    '64:ff9b::a00:1',
    '2002:7f00:1::1',
    'ff02::1',
  ])('refuses %s', (address) => expect(isPrivateAddress(address)).toBe(true));

  it.each(['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8', '172.32.0.1'])(
    'accepts %s',
    (address) => expect(isPrivateAddress(address)).toBe(false),
  );

  it('refuses a host name resolving to loopback, and IP literals, without sending anything', async () => {
    for (const url of [
      'http://localhost:8080/hook',
      'http://127.0.0.1/',
      'http://[::1]/',
      'http://10.0.0.1/',
      'http://169.254.169.254/latest',
    ]) {
      await expect(checkWebhookTarget(new URL(url), false)).rejects.toBeInstanceOf(WebhookTargetRefused);
    }
  });

  it('lets private targets through when they are allowed', async () => {
    await expect(checkWebhookTarget(new URL('http://127.0.0.1:9/'), true)).resolves.toBeUndefined();
  });
});
