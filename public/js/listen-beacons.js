// Listens, not requests: reports what the page's player actually played, so the producer sees listens (30 s or half
// of a file, once per play) instead of requests. Loaded before player.js on share pages: it marks the player's
// audio requests (`via=player`, so the server doesn't estimate them from Range requests as it does for players
// without JavaScript), then follows window.pdPlayer's audio and sends beacons to /s/<token>/listens.
(() => {
  'use strict';
  for (const el of document.querySelectorAll('[data-listen][data-src]')) {
    const url = new URL(el.dataset.src, location.href);
    url.searchParams.set('via', 'player');
    el.dataset.src = url.pathname + url.search;
  }

  const base = location.pathname.replace(/\/+$/, '');
  const endpoint = `${base}/listens`;
  const EVERY_MS = 10_000;
  let csrf = null;
  let session = null;

  const newId = () => {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return btoa(String.fromCharCode(...bytes))
      .replace(/\+/g, '-')
      .replace(/\//g, '_')
      .replace(/=+$/, '');
  };

  async function token() {
    if (csrf) return csrf;
    try {
      const res = await fetch(`${endpoint}/csrf`, {
        credentials: 'same-origin',
        headers: { Accept: 'application/json' },
      });
      if (res.ok) csrf = (await res.json()).csrfToken;
    } catch {
      /* offline: listens of this page are not reported */
    }
    return csrf;
  }

  /** One report of the session so far; on the way out of the page a beacon, which the browser delivers after it. */
  function send(s) {
    if (!s || !csrf || !s.file) return;
    const body = new URLSearchParams({
      _csrf: csrf,
      fileId: s.file,
      session: s.id,
      heard: s.heard.toFixed(2),
      position: s.position.toFixed(2),
    });
    if (s.duration) body.set('duration', s.duration.toFixed(2));
    s.sentAt = Date.now();
    if (navigator.sendBeacon && navigator.sendBeacon(endpoint, body)) return;
    fetch(endpoint, { method: 'POST', body, credentials: 'same-origin', keepalive: true }).catch(() => undefined);
  }

  function start() {
    const player = window.pdPlayer;
    if (!player) return;
    const audio = player.audio;
    const begin = () => {
      if (session) send(session);
      session = {
        id: newId(),
        file: player.current,
        heard: 0,
        position: audio.currentTime || 0,
        duration: 0,
        last: null,
        lastWall: 0,
        sentAt: Date.now(),
        ended: false,
      };
      void token().then(() => send(session));
    };
    const current = () => {
      if (!session || session.ended || session.file !== player.current) begin();
      return session;
    };
    audio.addEventListener('play', () => {
      current();
    });
    audio.addEventListener('timeupdate', () => {
      if (!player.current) return;
      const s = current();
      const now = Date.now();
      const t = audio.currentTime;
      if (Number.isFinite(audio.duration) && audio.duration > 0) s.duration = audio.duration;
      // Only time actually played counts: a seek (or a jump larger than the playback rate allows) is not heard.
      if (!audio.paused && !audio.seeking && s.last !== null) {
        const delta = t - s.last;
        const allowed = ((now - s.lastWall) / 1000) * (audio.playbackRate || 1) * 1.5 + 1;
        if (delta > 0 && delta <= allowed) s.heard += delta;
      }
      s.last = t;
      s.lastWall = now;
      s.position = t;
      if (now - s.sentAt >= EVERY_MS) send(s);
    });
    audio.addEventListener('seeking', () => {
      if (session) session.last = null;
    });
    audio.addEventListener('pause', () => send(session));
    audio.addEventListener('ended', () => {
      if (!session) return;
      session.position = session.duration || audio.currentTime;
      send(session);
      session.ended = true;
    });
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'hidden') send(session);
    });
    window.addEventListener('pagehide', () => send(session));
    // For tests: the session being measured.
    window.pdListens = {
      get session() {
        return session && { ...session };
      },
      flush: () => send(session),
    };
  }

  // This runs before player.js (both deferred, in order); DOMContentLoaded comes after every deferred script.
  if (window.pdPlayer) start();
  else document.addEventListener('DOMContentLoaded', start, { once: true });
})();
