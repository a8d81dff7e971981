// The playlist player: progressive enhancement of pages with [data-listen] items and the #player-bar partial.
// Without this file every native <audio> player still works; with it, one player plays through the playlist,
// the server-drawn waveforms become seek bars, and phones get lock-screen controls.
(() => {
  'use strict';
  const bar = document.getElementById('player-bar');
  const items = [...document.querySelectorAll('[data-listen]')].map((el, index) => ({
    el,
    index,
    file: el.dataset.file,
    src: el.dataset.src,
    title: el.dataset.title || '',
    artist: el.dataset.artist || '',
    art: el.dataset.art || null,
    main: el.hasAttribute('data-main'),
    duration: Number(el.dataset.duration) || 0,
  }));
  if (!bar || items.length === 0) return;

  const $ = (selector) => bar.querySelector(selector);
  const ui = {
    title: $('[data-bar-title]'),
    status: $('[data-bar-status]'),
    art: Object.assign(document.createElement('img'), {
      className: 'player-art',
      alt: '',
      width: 48,
      height: 48,
      hidden: true,
    }),
    toggle: $('[data-bar="toggle"]'),
    prev: $('[data-bar="prev"]'),
    next: $('[data-bar="next"]'),
    seek: $('[data-bar-seek]'),
    elapsed: $('[data-bar-elapsed]'),
    total: $('[data-bar-total]'),
    announce: $('[data-bar-announce]'),
  };
  const mains = items.filter((i) => i.main);
  const playlist = mains.length ? mains : items;
  const audio = new Audio();
  audio.preload = 'metadata';
  const storageKey = (item) => `pd-position:${location.pathname}:${item.file}`;
  let current = null;
  let retryTimer = null;
  let retries = 0;
  let lastSaved = 0;

  // Take over from the native players (kept in the page for visitors without JavaScript).
  document.documentElement.classList.add('player-js');
  for (const native of document.querySelectorAll('[data-listen] audio')) {
    native.pause();
    native.preload = 'none';
  }
  for (const button of document.querySelectorAll('[data-play]')) button.hidden = false;
  // The artwork is in the bar only while the current track has some (an <img> without a source is not valid HTML).
  bar.hidden = false;

  const clock = (s) => {
    if (!Number.isFinite(s) || s < 0) s = 0;
    const total = Math.floor(s);
    const h = Math.floor(total / 3600);
    const m = Math.floor((total % 3600) / 60);
    const sec = String(total % 60).padStart(2, '0');
    return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
  };
  const duration = () =>
    Number.isFinite(audio.duration) && audio.duration > 0 ? audio.duration : current?.duration || 0;
  const say = (text) => {
    ui.status.textContent = text;
  };

  // Waveforms as sliders: click, tap or drag to seek; arrows, Home and End from the keyboard.
  for (const item of items) {
    const wave = item.el.querySelector('[data-seek]');
    item.wave = wave;
    item.progress = wave?.querySelector('[data-progress]') ?? null;
    if (!wave) continue;
    wave.tabIndex = 0;
    wave.setAttribute('role', 'slider');
    wave.setAttribute('aria-label', `Seek in ${item.title}`);
    wave.setAttribute('aria-valuemin', '0');
    wave.setAttribute('aria-valuemax', String(Math.round(item.duration)));
    wave.setAttribute('aria-valuenow', '0');
    wave.setAttribute('aria-valuetext', `0:00 of ${clock(item.duration)}`);
    const seekTo = (event) => {
      const box = wave.getBoundingClientRect();
      const fraction = Math.min(1, Math.max(0, (event.clientX - box.left) / box.width));
      play(item, { fraction });
    };
    wave.addEventListener('pointerdown', (event) => {
      seekTo(event);
      wave.setPointerCapture?.(event.pointerId);
      const move = (e) => {
        if (current === item && duration()) audio.currentTime = fractionOf(e, wave) * duration();
      };
      const up = () => {
        wave.removeEventListener('pointermove', move);
        wave.removeEventListener('pointerup', up);
      };
      wave.addEventListener('pointermove', move);
      wave.addEventListener('pointerup', up);
    });
    wave.addEventListener('keydown', (event) => {
      const step = { ArrowLeft: -5, ArrowDown: -5, ArrowRight: 5, ArrowUp: 5 }[event.key];
      if (step !== undefined) {
        event.preventDefault();
        event.stopPropagation();
        if (current !== item) return play(item);
        audio.currentTime = Math.min(duration(), Math.max(0, audio.currentTime + step));
      } else if (event.key === 'Home' || event.key === 'End') {
        event.preventDefault();
        play(item, { fraction: event.key === 'Home' ? 0 : 0.999 });
      }
    });
  }
  const fractionOf = (event, el) => {
    const box = el.getBoundingClientRect();
    return Math.min(1, Math.max(0, (event.clientX - box.left) / box.width));
  };

  function play(item, options = {}) {
    clearTimeout(retryTimer);
    if (current !== item) {
      if (current) savePosition();
      current = item;
      retries = 0;
      audio.src = item.src;
      const start = options.fraction !== undefined ? null : Number(localStorage.getItem(storageKey(item)) || 0);
      audio.addEventListener(
        'loadedmetadata',
        () => {
          const d = duration();
          if (options.fraction !== undefined) audio.currentTime = options.fraction * d;
          else if (start > 3 && (!d || start < d - 3)) audio.currentTime = start;
        },
        { once: true },
      );
      ui.title.textContent = item.artist && !item.main ? `${item.title} · ${item.artist}` : item.title;
      if (item.art) {
        ui.art.src = item.art;
        ui.art.hidden = false;
        bar.prepend(ui.art);
      } else ui.art.remove();
      ui.announce.textContent = `Now playing: ${item.title}${item.artist ? `, ${item.artist}` : ''}`;
      say('');
      updateMediaSession(item);
      render();
    } else if (options.fraction !== undefined && duration()) {
      audio.currentTime = options.fraction * duration();
    }
    audio.play().catch(() => undefined);
  }

  function toggle(item) {
    if (item && item !== current) return play(item);
    if (!current) return play(playlist[0]);
    if (audio.paused) audio.play().catch(() => undefined);
    else audio.pause();
  }

  /** Continuous play goes through the tracks' main files; a stem played alone hands over to the next track. */
  function neighbour(offset) {
    if (!current) return playlist[0];
    const anchorIndex = current.main
      ? playlist.indexOf(current)
      : playlist.findIndex((m) => m.index > current.index) - (offset > 0 ? 1 : 0);
    return playlist[anchorIndex + offset] ?? null;
  }
  function next() {
    const item = neighbour(1);
    if (item) play(item);
  }
  function prev() {
    if (current && audio.currentTime > 3) {
      audio.currentTime = 0;
      return;
    }
    const item = neighbour(-1);
    if (item) play(item);
  }

  function savePosition() {
    if (!current) return;
    const t = audio.currentTime;
    try {
      if (t > 3 && (!duration() || t < duration() - 3))
        localStorage.setItem(storageKey(current), String(Math.floor(t)));
      else localStorage.removeItem(storageKey(current));
    } catch {
      /* private mode: positions are not kept */
    }
  }

  function render() {
    const d = duration();
    const t = audio.currentTime || 0;
    ui.elapsed.textContent = clock(t);
    ui.total.textContent = clock(d);
    ui.seek.max = String(d || 0);
    if (document.activeElement !== ui.seek) ui.seek.value = String(t);
    ui.seek.setAttribute('aria-valuetext', `${clock(t)} of ${clock(d)}`);
    const playing = !audio.paused && !audio.ended;
    ui.toggle.setAttribute('aria-label', playing ? 'Pause' : 'Play');
    ui.toggle.classList.toggle('is-playing', playing);
    ui.prev.disabled = !current;
    ui.next.disabled = !neighbour(1);
    for (const item of items) {
      const active = item === current;
      const fraction = active && d ? t / d : 0;
      if (item.progress) item.progress.setAttribute('width', String(Math.round(fraction * 800)));
      if (item.wave && (active || item.wave.getAttribute('aria-valuenow') !== '0')) {
        item.wave.setAttribute('aria-valuenow', String(Math.round(active ? t : 0)));
        item.wave.setAttribute('aria-valuetext', `${clock(active ? t : 0)} of ${clock(active ? d : item.duration)}`);
      }
      for (const button of document.querySelectorAll(`[data-play="${item.file}"]`)) {
        button.classList.toggle('is-playing', active && playing);
        button.setAttribute('aria-label', `${active && playing ? 'Pause' : 'Play'} ${item.title}`);
        button.setAttribute('aria-pressed', String(active && playing));
      }
    }
    if ('mediaSession' in navigator) {
      navigator.mediaSession.playbackState = playing ? 'playing' : 'paused';
      if (d && navigator.mediaSession.setPositionState) {
        try {
          navigator.mediaSession.setPositionState({
            duration: d,
            position: Math.min(t, d),
            playbackRate: audio.playbackRate,
          });
        } catch {
          /* not yet known */
        }
      }
    }
  }

  function updateMediaSession(item) {
    if (!('mediaSession' in navigator) || typeof MediaMetadata === 'undefined') return;
    const album = document.querySelector('h1')?.textContent?.trim() ?? '';
    navigator.mediaSession.metadata = new MediaMetadata({
      title: item.title,
      artist: item.main ? item.artist : item.artist || '',
      album,
      artwork: item.art ? [{ src: new URL(item.art, location.href).href, sizes: '600x600', type: 'image/jpeg' }] : [],
    });
  }
  if ('mediaSession' in navigator) {
    const actions = {
      play: () => audio.play().catch(() => undefined),
      pause: () => audio.pause(),
      previoustrack: prev,
      nexttrack: next,
      seekbackward: () => {
        audio.currentTime = Math.max(0, audio.currentTime - 10);
      },
      seekforward: () => {
        audio.currentTime = Math.min(duration(), audio.currentTime + 10);
      },
      seekto: (details) => {
        if (Number.isFinite(details.seekTime)) audio.currentTime = details.seekTime;
      },
    };
    for (const [action, handler] of Object.entries(actions)) {
      try {
        navigator.mediaSession.setActionHandler(action, handler);
      } catch {
        /* unsupported action */
      }
    }
  }

  /** The play route says why it sent no audio: a preview still being built is asked for again. */
  async function explainFailure() {
    const item = current;
    if (!item) return;
    let res;
    try {
      res = await fetch(item.src, { method: 'HEAD', credentials: 'same-origin' });
    } catch {
      return say('The connection was lost. Press play to try again.');
    }
    if (item !== current) return;
    if (res.status === 503 && retries < 60) {
      retries += 1;
      const wait = Math.min(30, Number(res.headers.get('Retry-After')) || 5);
      say('Preparing the preview…');
      retryTimer = setTimeout(() => {
        if (item === current) {
          audio.src = item.src;
          audio.play().catch(() => undefined);
        }
      }, wait * 1000);
      return;
    }
    if (res.ok) return say('This track could not be played in this browser.');
    const body = await fetch(item.src, { headers: { Accept: 'application/json' }, credentials: 'same-origin' })
      .then((r) => r.json())
      .catch(() => null);
    say(body?.message || "This track can't be played right now.");
  }

  audio.addEventListener('error', () => {
    void explainFailure();
  });
  audio.addEventListener('playing', () => {
    say('');
    retries = 0;
  });
  audio.addEventListener('waiting', () => {
    if (!audio.paused) say('Loading…');
  });
  audio.addEventListener('timeupdate', () => {
    render();
    if (Date.now() - lastSaved > 2000) {
      lastSaved = Date.now();
      savePosition();
    }
  });
  for (const type of ['play', 'pause', 'durationchange', 'loadedmetadata', 'seeked'])
    audio.addEventListener(type, render);
  audio.addEventListener('pause', savePosition);
  audio.addEventListener('ended', () => {
    try {
      localStorage.removeItem(storageKey(current));
    } catch {
      /* ignore */
    }
    const item = neighbour(1);
    if (item) play(item);
    else render();
  });
  window.addEventListener('pagehide', savePosition);

  ui.toggle.addEventListener('click', () => toggle());
  ui.prev.addEventListener('click', prev);
  ui.next.addEventListener('click', next);
  ui.seek.addEventListener('input', () => {
    if (current) audio.currentTime = Number(ui.seek.value);
  });
  document.addEventListener('click', (event) => {
    const button = event.target.closest('[data-play]');
    if (!button) return;
    const item = items.find((i) => i.file === button.dataset.play);
    if (item) toggle(item);
  });
  document.addEventListener('keydown', (event) => {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
    const target = event.target;
    if (target.closest?.('input, textarea, select, [contenteditable="true"]')) return;
    const key = event.key;
    if (key === ' ' || key === 'Spacebar') {
      // A focused button or link answers Space itself.
      if (target.closest?.('button, a')) return;
      event.preventDefault();
      toggle();
    } else if ((key === 'ArrowLeft' || key === 'ArrowRight') && current) {
      event.preventDefault();
      audio.currentTime = Math.min(duration(), Math.max(0, audio.currentTime + (key === 'ArrowLeft' ? -5 : 5)));
    } else if (key === 'n' || key === 'N') {
      next();
    } else if (key === 'p' || key === 'P') {
      prev();
    }
  });
  render();
  // For tests and the curious: what the player is doing.
  window.pdPlayer = {
    audio,
    get current() {
      return current?.file ?? null;
    },
    play: (file) => play(items.find((i) => i.file === file)),
  };
})();
