import { startTestApp, TestApp } from '../support/app';

describe('OpenAPI document', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startTestApp()));
  afterAll(async () => t?.close());

  it('describes every /api/v1 route and nothing else', async () => {
    const res = await t.client().get('/api/docs-json');
    expect(res.status).toBe(200);
    const paths = Object.keys(res.body.paths);
    expect(paths).toEqual(expect.arrayContaining(['/api/v1/me', '/api/v1/tokens', '/api/v1/tokens/{id}', '/api/v1/admin/users']));
    expect(paths.every((p) => p.startsWith('/api/v1/'))).toBe(true);
    expect(res.body.components.securitySchemes).toHaveProperty('bearer');
  });

  it('serves the human-readable docs page', async () => {
    const res = await t.client().get('/api/docs/');
    expect(res.status).toBe(200);
    expect(res.text).toContain('swagger');
  });
});
