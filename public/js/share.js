// Progressive enhancement of the playlist page: every player works without this file.
// One track at a time: starting a player pauses the others.
document.addEventListener('play', (event) => {
  if (!(event.target instanceof HTMLAudioElement)) return;
  for (const audio of document.querySelectorAll('audio')) {
    if (audio !== event.target && !audio.paused) audio.pause();
  }
}, true);
