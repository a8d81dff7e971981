import { startTestApp, TestApp } from '../support/app';

describe('OpenAPI document', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startTestApp()));
  afterAll(async () => t?.close());

  it('describes every /api/v1 route and nothing else', async () => {
    const res = await t.client().get('/api/docs-json');
    expect(res.status).toBe(200);
    const paths = Object.keys(res.body.paths);
    expect(paths).toEqual(
      expect.arrayContaining(['/api/v1/me', '/api/v1/tokens', '/api/v1/tokens/{id}', '/api/v1/admin/users']),
    );
    expect(paths.every((p) => p.startsWith('/api/v1/'))).toBe(true);
    expect(res.body.components.securitySchemes).toHaveProperty('bearer');
  });

  it('gives every property of every schema its real type (no untyped "object" for text, numbers or e-mails)', async () => {
    const res = await t.client().get('/api/docs-json');
    type Schema = {
      type?: string;
      $ref?: string;
      allOf?: unknown;
      oneOf?: unknown;
      properties?: Record<string, Schema>;
      items?: Schema;
      enum?: unknown;
    };
    const untyped: string[] = [];
    const visit = (where: string, schema: Schema) => {
      if (!schema.type && !schema.$ref && !schema.allOf && !schema.oneOf) untyped.push(`${where}: no type`);
      if (schema.type === 'object' && !schema.properties) untyped.push(`${where}: object without properties`);
      for (const [name, prop] of Object.entries(schema.properties ?? {})) visit(`${where}.${name}`, prop);
      if (schema.items) visit(`${where}[]`, schema.items);
    };
    for (const [name, schema] of Object.entries(res.body.components.schemas as Record<string, Schema>))
      visit(name, schema);
    expect(untyped).toEqual([]);
    const schemas = res.body.components.schemas;
    expect(schemas.CreateShareDto.properties.title).toMatchObject({ type: 'string', nullable: true });
    expect(schemas.CreateShareDto.properties.message).toMatchObject({ type: 'string' });
    expect(schemas.UpdateShareDto.properties.password).toMatchObject({
      type: 'string',
      format: 'password',
      nullable: true,
    });
    expect(schemas.CollaboratorDto.properties.email).toMatchObject({ type: 'string', format: 'email' });
    expect(schemas.CreateTrackDto.properties.bpm).toMatchObject({ type: 'integer' });
    expect(schemas.UpdateShareDto.properties.tracks).toMatchObject({
      type: 'array',
      items: { $ref: '#/components/schemas/ShareTrackSelectionDto' },
    });
  });

  it('serves the human-readable docs page', async () => {
    const res = await t.client().get('/api/docs/');
    expect(res.status).toBe(200);
    expect(res.text).toContain('/api/docs/swagger-ui-bundle.js');
    // No inline script or style for the Content-Security-Policy to refuse (the browser spec renders it).
    expect(res.text).not.toMatch(/<style|style=|<script>(?!<\/script>)/);
    expect((await t.client().get('/api/docs/swagger-ui.css')).status).toBe(200);
  });
});
