// Small enhancements of the track and collaborator pages; every form works without them.
(() => {
  'use strict';
  document.documentElement.classList.add('js');

  // Destructive buttons ask first (the server still decides; deleting a track also needs its tick box).
  document.addEventListener('submit', (event) => {
    const button = event.submitter;
    const message = button && button.getAttribute('data-confirm');
    if (message && !window.confirm(message)) event.preventDefault();
  });

  // "Select all not imported" in each library group, "Select all" on the tracks list; delegated, so it survives
  // the library being refreshed.
  document.addEventListener('change', (event) => {
    const toggle = event.target.closest('input[data-select-all]');
    if (!toggle) return;
    const group = toggle.getAttribute('data-select-all');
    for (const box of document.querySelectorAll(
      `input[name="dropboxIds"][data-group="${group}"], input[data-select="${group}"]`,
    ))
      box.checked = toggle.checked;
  });
})();
