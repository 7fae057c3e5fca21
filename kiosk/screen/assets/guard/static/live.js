// The cameras' live view: each <video data-live=URL> plays the kiosk's
// fragmented MP4 stream through Media Source Extensions. The stream is
// read with fetch, appended as it comes, kept near the live edge and
// trimmed behind; when it ends or stalls, the player reconnects by itself.
'use strict';
(function () {
  const STALL_MS = 10000;   // no bytes this long: reconnect
  const BEHIND_S = 2.0;     // further behind the live edge than this: jump
  const KEEP_S = 20;        // buffered video kept behind the playhead

  for (const video of document.querySelectorAll('video[data-live]')) play(video);

  function play(video) {
    const label = video.closest('figure').querySelector('.live-state');
    let retry = 1000;
    function show(zh, en, cls) {
      label.className = 'live-state ' + (cls || '');
      label.innerHTML = zh + ' <span class="en">' + en + '</span>';
    }

    async function run() {
      const ac = new AbortController();
      let stall = setTimeout(() => ac.abort(), STALL_MS);
      try {
        const resp = await fetch(video.dataset.live, { cache: 'no-store', signal: ac.signal });
        if (resp.status === 401) { location.href = '/guard/login?expired=1'; return; }
        if (resp.status === 404) { show('无实时画面', 'No live view', 'down'); return; }
        if (!resp.ok) throw new Error('HTTP ' + resp.status);
        const type = resp.headers.get('Content-Type') || '';
        if (!window.MediaSource || !MediaSource.isTypeSupported(type)) {
          ac.abort();
          show('此浏览器无法播放', 'This browser cannot play ' + type, 'down');
          return; // retrying would not help
        }
        const sb = await open(video, type);
        const queue = [];
        const pump = () => {
          if (sb.updating) return;
          if (queue.length === 0) { trim(video, sb); return; }
          try { sb.appendBuffer(concat(queue.splice(0))); } catch (e) { ac.abort(); }
        };
        sb.addEventListener('updateend', () => { chase(video); pump(); });
        const reader = resp.body.getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) throw new Error('stream ended');
          clearTimeout(stall);
          stall = setTimeout(() => ac.abort(), STALL_MS);
          queue.push(value);
          pump();
          if (video.readyState >= 2 && !label.classList.contains('playing')) {
            show('实时', 'Live', 'playing');
            retry = 1000;
          }
        }
      } catch (e) {
        show('重新连接中…', 'Reconnecting…', 'down');
        setTimeout(run, retry);
        retry = Math.min(retry * 2, 15000);
      } finally {
        clearTimeout(stall);
        ac.abort();
      }
    }
    run();
  }

  // open attaches a fresh MediaSource to the video and returns its buffer.
  function open(video, type) {
    return new Promise((resolve, reject) => {
      const ms = new MediaSource();
      const url = URL.createObjectURL(ms);
      ms.addEventListener('sourceopen', () => {
        URL.revokeObjectURL(url);
        try { resolve(ms.addSourceBuffer(type)); } catch (e) { reject(e); }
      }, { once: true });
      video.src = url;
    });
  }

  // chase keeps the playhead near the live edge.
  function chase(video) {
    const b = video.buffered;
    if (b.length === 0) return;
    const end = b.end(b.length - 1);
    if (end - video.currentTime > BEHIND_S || video.currentTime < b.start(b.length - 1)) {
      video.currentTime = Math.max(b.start(b.length - 1), end - 0.5);
    }
    if (video.paused) video.play().catch(() => {});
  }

  // trim drops the video long behind the playhead, so memory stays flat.
  function trim(video, sb) {
    const b = video.buffered;
    if (b.length > 0 && video.currentTime - b.start(0) > KEEP_S * 2) sb.remove(b.start(0), video.currentTime - KEEP_S);
  }

  function concat(chunks) {
    if (chunks.length === 1) return chunks[0];
    let n = 0;
    for (const c of chunks) n += c.length;
    const out = new Uint8Array(n);
    let at = 0;
    for (const c of chunks) { out.set(c, at); at += c.length; }
    return out;
  }
})();
