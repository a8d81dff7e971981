import { ServerResponse } from 'node:http';
import { Emulator } from '../emulator';
import { nameOf } from '../paths';

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * `GET /scl/fo/<shared folder id>[?path=<sub folder>]`: the page a shared folder's `preview_url` opens, standing in
 * for Dropbox's web view so that "Open in Dropbox" in the demo leads somewhere real. Read-only, no sign-in: it
 * lists what the folder holds, like the owner would see it.
 */
export function handleBrowse(emulator: Emulator, url: URL, res: ServerResponse): void {
  const id = decodeURIComponent(url.pathname.split('/')[3] ?? '');
  const folder = emulator.state.sharedFolders.get(id);
  const namespace = folder ? emulator.state.namespace(folder.ownerAccountId) : undefined;
  const root = folder && namespace?.find({ kind: 'id', id: folder.folderId });
  if (!folder || !namespace || !root || root.tag !== 'folder')
    return page(res, 404, 'Not found', '<p>This shared folder does not exist (any more).</p>');

  const sub = (url.searchParams.get('path') ?? '').replace(/^\/+|\/+$/g, '');
  const here = sub ? namespace.byPathLower(`${root.pathLower}/${sub.toLowerCase()}`) : root;
  if (!here || here.tag !== 'folder' || (here !== root && !here.pathLower.startsWith(`${root.pathLower}/`))) {
    return page(res, 404, 'Not found', '<p>No such folder in this shared folder.</p>');
  }
  const link = (path: string) => `/scl/fo/${encodeURIComponent(id)}${path ? `?path=${encodeURIComponent(path)}` : ''}`;
  const rows = namespace.list(here.pathLower, false).map((entry) => {
    const relative = entry.pathDisplay.slice(root.pathDisplay.length + 1);
    const name = escape(nameOf(entry.pathDisplay));
    return entry.tag === 'folder'
      ? `<li>📁 <a href="${link(relative)}">${name}</a></li>`
      : `<li>${name} <small>${entry.size} bytes · ${escape(entry.serverModified)}</small></li>`;
  });
  const up =
    here === root
      ? ''
      : `<p><a href="${link(
          here.pathDisplay
            .slice(root.pathDisplay.length + 1)
            .split('/')
            .slice(0, -1)
            .join('/'),
        )}">↑ Up</a></p>`;
  page(
    res,
    200,
    escape(nameOf(here.pathDisplay)),
    `<p><small>Dropbox emulator · shared folder ${escape(root.pathDisplay)}</small></p>${up}<ul>${rows.join('') || '<li><em>empty</em></li>'}</ul>`,
  );
}

function page(res: ServerResponse, status: number, title: string, body: string): void {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title}</title></head><body><h1>${title}</h1>${body}</body></html>`;
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': Buffer.byteLength(html),
    'Cache-Control': 'no-store',
  });
  res.end(html);
}
