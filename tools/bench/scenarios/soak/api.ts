import { MikroORM, RequestContext } from '@mikro-orm/postgresql';
import type { INestApplicationContext } from '@nestjs/common';
import { ApiTokensService } from '../../../../src/modules/accounts/api-tokens.service';

/** The producer's side of the API: a bearer token, and JSON requests sent with it. */
export interface SoakApi {
  auth: { Authorization: string };
  json(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
}

export async function soakApi(app: INestApplicationContext, base: string, userId: string): Promise<SoakApi> {
  const { secret } = await RequestContext.create(app.get(MikroORM).em, () =>
    app.get(ApiTokensService).create(userId, 'soak'),
  );
  const auth = { Authorization: `Bearer ${secret}` };
  const json = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { ...auth, Accept: 'application/json', ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as unknown) : null };
  };
  return { auth, json };
}
