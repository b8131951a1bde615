// Follows one video until it ends: its event stream, resumed after a drop (Last-Event-ID),
// with a poll between attempts so a lost stream never freezes the status.
import { call, streamEvents } from "./api.js";
import { isActive } from "./ui.js";

function pause(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}

// onUpdate(video) on every change; onGone(error) if the video disappears. Returns stop().
export function watchVideo(id, onUpdate, onGone = () => {}) {
  const controller = new AbortController();
  const { signal } = controller;
  let lastEventId = null;
  let latest = null;
  const seen = (video) => { latest = video; onUpdate(video); };

  (async () => {
    for (let attempt = 0; !signal.aborted; attempt += 1) {
      try {
        lastEventId = await streamEvents(`/v1/videos/${id}/events`, (_type, video) => seen(video), signal, lastEventId);
        if (latest && !isActive(latest)) return;
      } catch (error) {
        if (signal.aborted) return;
        if (error.status === 404) { onGone(error); return; }
      }
      try {
        seen(await call("GET", `/v1/videos/${id}`, { signal }));
        if (!isActive(latest)) return;
      } catch (error) {
        if (signal.aborted) return;
        if (error.status === 404) { onGone(error); return; }
      }
      await pause(Math.min(5000, 250 * 2 ** attempt), signal);
    }
  })();
  return () => controller.abort();
}
