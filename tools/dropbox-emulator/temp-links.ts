import { newSecret } from './ids';

export interface TempLinkRecord {
  token: string;
  /** The revision's bytes: the link keeps serving them after the file changes. */
  blob: string;
  size: number;
  name: string;
  rev: string;
  expiresAt: number;
}

/** Temporary links (`/_tl/<token>`), each bound to the file revision it was made for. */
export class TempLinkStore {
  private readonly links = new Map<string, TempLinkRecord>();

  constructor(records: TempLinkRecord[] = []) {
    for (const link of records) this.links.set(link.token, link);
  }

  /** Expired links are kept (they answer 410 Gone) until the next restart drops them. */
  toJSON(): TempLinkRecord[] {
    return [...this.links.values()].filter((link) => link.expiresAt > Date.now());
  }

  create(link: Omit<TempLinkRecord, 'token'>): TempLinkRecord {
    const record = { ...link, token: newSecret(24) };
    this.links.set(record.token, record);
    return record;
  }

  get(token: string): TempLinkRecord | undefined {
    return this.links.get(token);
  }
}
