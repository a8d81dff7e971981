/**
 * The owner's share forms (Share tab, settings, contents editor) as the API's DTOs: plain HTML forms post tick
 * boxes and `<trackId>/f:…` values, the services take `tracks: [{trackId, files, follow}]`.
 */
import { FILE_CATEGORIES } from '../files/file-categories';

export type FormBody = Record<string, unknown>;

export const list = (value: unknown): string[] =>
  Array.isArray(value) ? value.map(String) : value === undefined ? [] : [String(value)];
export const checked = (value: unknown) => value === 'on' || value === 'true' || value === '1';

/** The Share tab's form as the API's DTO: `files` values are `f:…`/`d:…`, or `<trackId>/f:…` for several tracks. */
export function createFromForm(body: FormBody, trackIds: string[]) {
  const perTrack = new Map(trackIds.map((id) => [id, [] as string[]]));
  const follow = new Map(trackIds.map((id) => [id, [] as string[]]));
  const stray: string[] = [];
  for (const value of list(body.follow)) {
    const slash = value.indexOf('/');
    const bucket = follow.get(value.slice(0, Math.max(slash, 0)));
    if (bucket) bucket.push(value.slice(slash + 1));
    else stray.push(value);
  }
  for (const value of list(body.files)) {
    const slash = value.indexOf('/');
    const [trackId, selection] =
      slash > 0 ? [value.slice(0, slash), value.slice(slash + 1)] : [trackIds.length === 1 ? trackIds[0] : '', value];
    const bucket = perTrack.get(trackId);
    if (bucket) bucket.push(selection);
    else stray.push(value);
  }
  return {
    plain: {
      tracks: trackIds.map((trackId) => ({
        trackId,
        files: perTrack.get(trackId) ?? [],
        follow: follow.get(trackId) ?? [],
      })),
      title: body.title,
      message: body.message,
      password: body.password,
      expiry: body.expiry,
      downloads: Object.fromEntries(FILE_CATEGORIES.map((c) => [c, checked(body[`download_${c}`])])),
      streamOriginals: checked(body.stream_originals),
      comments: checked(body.comments),
      commentsPublic: checked(body.comments_public),
    },
    stray,
    selected: new Set(list(body.files)),
  };
}

export function updateFromForm(body: FormBody) {
  const plain: Record<string, unknown> = {
    title: body.title,
    message: body.message,
    downloads: Object.fromEntries(FILE_CATEGORIES.map((c) => [c, checked(body[`download_${c}`])])),
    streamOriginals: checked(body.stream_originals),
    comments: checked(body.comments),
    commentsPublic: checked(body.comments_public),
  };
  if (body.expiry && body.expiry !== 'keep') plain.expiry = body.expiry;
  if (checked(body.remove_password)) plain.password = null;
  else if (typeof body.password === 'string' && body.password !== '') plain.password = body.password;
  return plain;
}

/**
 * The contents editor's form as `tracks` of the API: the listed tracks minus removed ones, sorted by their order
 * field (ties keep the listed order), each with its files (`<trackId>/f:…`) and followed categories
 * (`<trackId>/<category>`).
 */
export function contentsFromForm(body: FormBody) {
  const removed = new Set(list(body.remove));
  const listed = [...new Set(list(body.tracks))];
  const order = (id: string, i: number) => {
    const n = Number(body[`order_${id}`]);
    return Number.isFinite(n) ? n : i + 1;
  };
  const kept = listed
    .map((id, i) => ({ id, i, n: order(id, i) }))
    .filter((t) => !removed.has(t.id))
    .sort((a, b) => a.n - b.n || a.i - b.i)
    .map((t) => t.id);
  const perTrack = (field: unknown) => {
    const map = new Map<string, string[]>();
    const stray: string[] = [];
    for (const value of list(field)) {
      const slash = value.indexOf('/');
      const trackId = slash > 0 ? value.slice(0, slash) : '';
      if (!listed.includes(trackId)) stray.push(value);
      else map.set(trackId, [...(map.get(trackId) ?? []), value.slice(slash + 1)]);
    }
    return { map, stray };
  };
  const files = perTrack(body.files);
  const follow = perTrack(body.follow);
  return {
    plain: {
      tracks: kept.map((trackId) => ({
        trackId,
        files: files.map.get(trackId) ?? [],
        follow: follow.map.get(trackId) ?? [],
      })),
    },
    stray: [...files.stray, ...follow.stray],
    trackIds: kept,
  };
}

/** `?tracks=a,b` (a typed link) or `?tracks=a&tracks=b` (the tracks list's tick boxes), duplicates dropped. */
export function parseTrackList(value: unknown): string[] {
  const parts = list(value).flatMap((v) => v.split(','));
  return [...new Set(parts.map((s) => s.trim()).filter(Boolean))];
}
