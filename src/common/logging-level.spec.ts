import { TOKEN, appLogging } from './logging.spec-support';

// A file of its own: nestjs-pino keeps the first app's root logger, and so its level, for the whole process.
describe('request logging below the info level', () => {
  it('writes nothing for the share page below the info level', async () => {
    const app = await appLogging('warn');
    try {
      await app.get(`/s/${TOKEN}`);
      expect(app.lines()).toEqual([]);
    } finally {
      await app.close();
    }
  });
});
