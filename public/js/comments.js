// Comments at a time, progressively enhanced: without this file the page's form posts and redirects as any form.
// With it, the form takes the player's current file and time, posts without leaving the page, and every comment
// the visitor may see is drawn as a marker under its file's waveform (a click plays from there).
(() => {
  'use strict';
  const section = document.querySelector('[data-comments]');
  if (!section) return;
  const form = section.querySelector('[data-comment-form]');
  const list = section.querySelector('[data-comment-list]');
  const status = section.querySelector('[data-comment-status]');
  const fileField = form.elements.namedItem('fileId');
  const atField = form.elements.namedItem('at');
  const bodyField = form.elements.namedItem('body');
  const known = new Set();
  const pending = [];

  const clock = (s) => {
    const total = Math.max(0, Math.floor(Number(s) || 0));
    return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, '0')}`;
  };
  const player = () => window.pdPlayer || null;
  const byFile = (selector, fileId) =>
    [...document.querySelectorAll(selector)].find((el) => el.dataset.file === fileId || el.dataset.seek === fileId);

  function durationOf(fileId) {
    const p = player();
    if (p && p.current === fileId && Number.isFinite(p.audio.duration) && p.audio.duration > 0) return p.audio.duration;
    const listen = byFile('[data-listen]', fileId);
    if (listen && Number(listen.dataset.duration) > 0) return Number(listen.dataset.duration);
    const option = [...fileField.options].find((o) => o.value === fileId);
    return option && Number(option.dataset.duration) > 0 ? Number(option.dataset.duration) : 0;
  }

  function strip(fileId) {
    const wave = byFile('[data-seek]', fileId);
    if (!wave) return null;
    let row = wave.nextElementSibling;
    if (!row || !row.classList.contains('comment-markers')) {
      row = document.createElement('div');
      row.className = 'comment-markers';
      row.dataset.markersFor = fileId;
      wave.after(row);
    }
    return row;
  }

  function seek(comment) {
    const p = player();
    if (!p) return;
    if (p.current !== comment.fileId) p.play(comment.fileId);
    const go = () => {
      p.audio.currentTime = comment.at;
    };
    if (p.audio.readyState >= 1) go();
    else p.audio.addEventListener('loadedmetadata', go, { once: true });
  }

  function marker(comment) {
    const row = strip(comment.fileId);
    const duration = durationOf(comment.fileId);
    if (!row) return;
    if (!duration) {
      pending.push(comment);
      return;
    }
    const button = document.createElement('button');
    button.type = 'button';
    button.className = `comment-marker${comment.resolved ? ' is-resolved' : ''}`;
    button.dataset.commentId = comment.id;
    button.style.left = `${Math.min(100, (comment.at / duration) * 100)}%`;
    const label = `${comment.name} at ${clock(comment.at)}: ${comment.body}`;
    button.title = label;
    button.setAttribute('aria-label', `Comment by ${label}`);
    button.addEventListener('click', () => seek(comment));
    row.append(button);
  }

  function item(comment) {
    const li = document.createElement('li');
    li.className = `comment${comment.resolved ? ' is-resolved' : ''}`;
    li.id = `comment-${comment.id}`;
    const meta = document.createElement('p');
    meta.className = 'comment-meta';
    const name = document.createElement('strong');
    name.textContent = comment.name;
    const where = document.createElement('span');
    where.className = 'muted';
    where.textContent = ` at ${clock(comment.at)}${comment.fileName ? ` of ${comment.fileName}` : ''}${comment.resolved ? ' · resolved' : ''}`;
    meta.append(name, where);
    const text = document.createElement('p');
    text.className = 'comment-body';
    text.textContent = comment.body;
    li.append(meta, text);
    if (comment.replies && comment.replies.length) {
      const replies = document.createElement('ol');
      replies.className = 'comment-replies';
      for (const r of comment.replies) {
        const rli = document.createElement('li');
        rli.className = 'comment comment-reply';
        const rmeta = document.createElement('p');
        rmeta.className = 'comment-meta';
        const rname = document.createElement('strong');
        rname.textContent = r.name;
        rmeta.append(rname);
        const rtext = document.createElement('p');
        rtext.className = 'comment-body';
        rtext.textContent = r.body;
        rli.append(rmeta, rtext);
        replies.append(rli);
      }
      li.append(replies);
    }
    list.append(li);
    list.hidden = false;
  }

  function show(comment) {
    if (known.has(comment.id)) return;
    known.add(comment.id);
    item(comment);
    marker(comment);
  }

  // Durations the page did not know arrive with the audio's metadata.
  const p = player();
  if (p) {
    p.audio.addEventListener('loadedmetadata', () => {
      for (const comment of pending.splice(0)) marker(comment);
    });
  }

  // The player's current file and time, unless the visitor typed a time of their own.
  atField.addEventListener('input', () => {
    atField.dataset.typed = '1';
  });
  const fillFromPlayer = () => {
    const current = player();
    if (!current || !current.current || atField.dataset.typed) return;
    if ([...fileField.options].some((o) => o.value === current.current)) fileField.value = current.current;
    if (fileField.value === current.current)
      atField.value = (Math.floor(current.audio.currentTime * 10) / 10).toFixed(1);
  };
  form.addEventListener('focusin', fillFromPlayer);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    fillFromPlayer();
    status.textContent = 'Posting…';
    try {
      const res = await fetch(form.action, {
        method: 'POST',
        headers: { Accept: 'application/json', 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(new FormData(form)),
        credentials: 'same-origin',
      });
      const answer = await res.json().catch(() => ({}));
      if (!res.ok) {
        status.textContent = answer.message || `Not posted (${res.status}).`;
        return;
      }
      show(answer);
      bodyField.value = '';
      delete atField.dataset.typed;
      status.textContent = 'Posted. The producer will see it.';
    } catch {
      status.textContent = 'Not posted: the connection failed. Please try again.';
    }
  });

  fetch(section.dataset.listUrl, { headers: { Accept: 'application/json' }, credentials: 'same-origin' })
    .then((res) => (res.ok ? res.json() : { items: [] }))
    .then((answer) => {
      for (const comment of answer.items || []) show(comment);
    })
    .catch(() => undefined);
})();
