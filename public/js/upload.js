// Uploads with a progress bar per file. Without this script the form still works: it posts every file at once
// to the page route and the page reloads. With it, each file is its own request to the JSON API, its bar shows
// the bytes sent to the server (first half), then the server's progress into Dropbox (second half).
(() => {
  'use strict';
  const form = document.getElementById('upload-form');
  if (!form || !window.XMLHttpRequest || !window.FormData || !window.fetch) return;

  const trackId = form.getAttribute('data-track-id');
  const list = document.getElementById('upload-progress');
  const announcer = document.getElementById('upload-announcer');
  const fileInput = form.querySelector('input[type="file"]');
  const categorySelect = form.querySelector('select[name="category"]');
  const POLL_MS = 700;
  const PARALLEL = 2;
  /** upload id → row, for uploads the server has and that are not finished yet */
  const inDropbox = new Map();
  const queue = [];
  let sending = 0;
  let pollTimer = null;
  let refreshing = null;
  let refreshAgain = false;

  const csrfToken = () => {
    const field = form.querySelector('input[name="_csrf"]') || document.querySelector('input[name="_csrf"]');
    return field ? field.value : '';
  };

  const announce = (text) => {
    if (announcer) announcer.textContent = text;
  };

  function addRow(file) {
    const item = document.createElement('li');
    item.className = 'upload-item';
    const name = document.createElement('span');
    name.className = 'upload-name';
    name.textContent = file.name;
    const bar = document.createElement('progress');
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute('aria-label', `Upload of ${file.name}`);
    const status = document.createElement('span');
    status.className = 'upload-status';
    status.textContent = '0% · waiting to send';
    item.append(name, bar, status);
    list.append(item);
    return { file, item, bar, status, name: file.name };
  }

  function show(row, percent, words) {
    const value = Math.max(0, Math.min(100, Math.floor(percent)));
    // A bar never goes backwards: a poll may report less than the browser already showed.
    if (value >= row.bar.value) row.bar.value = value;
    row.status.textContent = `${Math.floor(row.bar.value)}% · ${words}`;
  }

  function finish(row, upload) {
    row.bar.value = 100;
    const renamed = upload && upload.storedAs && upload.storedAs !== row.name;
    const words =
      upload && upload.conflict === 'replace'
        ? 'stored as a new version'
        : renamed
          ? `stored in your Dropbox as “${upload.storedAs}” (both kept)`
          : 'stored in your Dropbox';
    row.status.textContent = `100% · ${words}`;
    row.item.classList.add('upload-done');
    announce(`${row.name} is ${words}.`);
  }

  function fail(row, message) {
    row.item.classList.add('upload-failed');
    row.status.textContent = `Not uploaded: ${message}`;
    announce(`${row.name} was not uploaded: ${message}`);
  }

  function explain(status, body) {
    const message = body && typeof body.message === 'string' ? body.message : '';
    if (status === 401) return 'you were signed out; sign in again and retry';
    if (status === 403) return 'the page is out of date (security token); reload the page and retry';
    if (status === 404) return 'this track no longer exists';
    if (status === 413) return message || 'the file is larger than this server accepts';
    if (status === 0) return 'the connection to the server was lost';
    return message || `the server answered ${status}`;
  }

  function sendNext() {
    while (sending < PARALLEL && queue.length) {
      const job = queue.shift();
      sending += 1;
      send(job.row, job.category, job.conflict).finally(() => {
        sending -= 1;
        sendNext();
      });
    }
  }

  function send(row, category, conflict) {
    return new Promise((resolve) => {
      const data = new FormData();
      // The category and conflict fields must come before the file: they apply to the files after them.
      if (category && category !== 'auto') data.append('category', category);
      if (conflict) data.append('conflict', conflict);
      data.append('files', row.file, row.file.name);
      const xhr = new XMLHttpRequest();
      xhr.open('POST', `/api/v1/tracks/${encodeURIComponent(trackId)}/uploads`);
      xhr.setRequestHeader('X-CSRF-Token', csrfToken());
      xhr.setRequestHeader('Accept', 'application/json');
      show(row, 0, 'sending to the server');
      xhr.upload.addEventListener('progress', (event) => {
        if (event.lengthComputable && event.total > 0)
          show(row, (event.loaded / event.total) * 50, 'sending to the server');
      });
      xhr.addEventListener('load', () => {
        let body = null;
        try {
          body = JSON.parse(xhr.responseText);
        } catch (_) {
          body = null;
        }
        if (xhr.status >= 200 && xhr.status < 300 && Array.isArray(body) && body[0] && body[0].id) {
          show(row, 50, 'received; storing in Dropbox');
          inDropbox.set(body[0].id, row);
          schedulePoll(0);
        } else {
          fail(row, explain(xhr.status, body));
        }
        resolve();
      });
      xhr.addEventListener('error', () => {
        fail(row, explain(0, null));
        resolve();
      });
      xhr.addEventListener('abort', () => {
        fail(row, 'the upload was cancelled');
        resolve();
      });
      xhr.send(data);
    });
  }

  function schedulePoll(delay) {
    if (pollTimer !== null || inDropbox.size === 0) return;
    pollTimer = setTimeout(poll, delay);
  }

  async function poll() {
    let finished = false;
    try {
      const res = await fetch(`/api/v1/tracks/${encodeURIComponent(trackId)}/uploads`, {
        headers: { Accept: 'application/json' },
        credentials: 'same-origin',
      });
      if (res.ok) {
        const uploads = await res.json();
        for (const upload of uploads) {
          const row = inDropbox.get(upload.id);
          if (!row) continue;
          if (upload.status === 'done') {
            inDropbox.delete(upload.id);
            finish(row, upload);
            finished = true;
          } else if (upload.status === 'failed') {
            inDropbox.delete(upload.id);
            fail(row, upload.error || 'Dropbox did not take the file');
          } else {
            const words =
              upload.status === 'uploading'
                ? 'storing in Dropbox'
                : upload.error
                  ? `waiting to retry (${upload.error})`
                  : 'waiting for Dropbox';
            // 100% means stored and listed: the last bytes into Dropbox still leave the commit to wait for.
            show(row, Math.min(99, 50 + upload.percent / 2), words);
          }
        }
      }
    } catch (_) {
      // A network hiccup: the next poll tries again.
    }
    pollTimer = null;
    if (finished) refreshLibrary();
    schedulePoll(POLL_MS);
  }

  /** Fetches the page again and swaps in its library section, so new files appear with their facts. */
  async function refreshLibrary() {
    if (refreshing) {
      refreshAgain = true;
      return;
    }
    refreshing = (async () => {
      try {
        const res = await fetch(window.location.pathname, {
          headers: { Accept: 'text/html' },
          credentials: 'same-origin',
        });
        if (!res.ok) return;
        const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
        const fresh = doc.getElementById('library');
        const current = document.getElementById('library');
        if (fresh && current) {
          current.replaceWith(document.importNode(fresh, true));
          document.dispatchEvent(new CustomEvent('library:updated'));
        }
      } catch (_) {
        // The files are in Dropbox all the same; a reload shows them.
      }
    })();
    await refreshing;
    refreshing = null;
    if (refreshAgain) {
      refreshAgain = false;
      refreshLibrary();
    }
  }

  // Names already in each category: a file with one of them asks "Replace (new version)" or "Keep both" first.
  let existing = {};
  try {
    existing = JSON.parse(form.getAttribute('data-existing-names') || '{}');
  } catch (_) {
    existing = {};
  }
  const question = document.getElementById('upload-conflict-question');
  let answered = false;
  form.addEventListener('change', (event) => {
    if (event.target.name === 'conflict') answered = true;
  });
  const taken = (name, category) => {
    const lower = name.toLowerCase();
    const lists = category === 'auto' ? Object.values(existing) : [existing[category] || []];
    return lists.some((names) => names.includes(lower));
  };

  form.addEventListener('submit', (event) => {
    const files = Array.from(fileInput.files || []);
    if (files.length === 0) return; // the browser (or the server) says to choose a file
    event.preventDefault();
    const category = categorySelect ? categorySelect.value : 'auto';
    const clashing = files.filter((file) => taken(file.name, category)).map((file) => file.name);
    if (clashing.length && !answered && question) {
      question.hidden = false;
      question.textContent = `${clashing.join(', ')} ${clashing.length === 1 ? 'is' : 'are'} already there: choose Replace (new version) or Keep both, then press Upload again.`;
      const first =
        form.querySelector('input[name="conflict"]:checked') || form.querySelector('input[name="conflict"]');
      if (first) first.focus();
      answered = true;
      return;
    }
    if (question) question.hidden = true;
    const checked = form.querySelector('input[name="conflict"]:checked');
    const conflict = checked ? checked.value : 'rename';
    for (const file of files) queue.push({ row: addRow(file), category, conflict });
    fileInput.value = '';
    announce(`Uploading ${files.length} file${files.length === 1 ? '' : 's'}.`);
    sendNext();
  });
})();
