// Live collaboration panel: while the pipeline runs, poll its JSON status and, when anything changed, swap in
// the freshly rendered panel (the server stays the only place that renders it). Without this file the page
// reloads itself (a <noscript> refresh) and every button still works.
(() => {
  const panel = document.querySelector('[data-collab-panel]');
  if (!panel) return;
  const statusUrl = panel.getAttribute('data-status-url');
  const LIVE = new Set(['running', 'stuck']);
  let last = ''; // the page may be older than the first answer: the first poll always refreshes the panel
  let delay = 1000;

  const fingerprint = (s) =>
    JSON.stringify([
      s.status,
      s.step,
      s.files,
      s.invites,
      s.error,
      s.notice,
      s.folder,
      s.access,
      s.members.map((m) => [m.collaboratorId, m.state, m.error]),
    ]);
  // Removing collaborators when access ends runs in the background too.
  const isLive = (s) => LIVE.has(s.status) || (s.access && s.access.state === 'ending');

  async function swapPanel() {
    const response = await fetch(window.location.pathname, {
      headers: { Accept: 'text/html' },
      credentials: 'same-origin',
    });
    if (!response.ok) return;
    const html = new DOMParser().parseFromString(await response.text(), 'text/html');
    const fresh = html.querySelector('[data-collab-panel]');
    const current = document.querySelector('[data-collab-panel]');
    if (fresh && current) current.replaceWith(fresh);
  }

  async function poll() {
    let status;
    try {
      const response = await fetch(statusUrl, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
      if (!response.ok) throw new Error(String(response.status));
      status = await response.json();
      delay = 1000;
    } catch {
      delay = Math.min(delay * 2, 15000); // the server is away: back off, keep trying
      setTimeout(poll, delay);
      return;
    }
    const print = fingerprint(status);
    if (print !== last) await swapPanel().catch(() => undefined);
    last = print;
    if (isLive(status)) setTimeout(poll, delay);
  }

  if (panel.getAttribute('data-live') === 'true') setTimeout(poll, 500);
})();
