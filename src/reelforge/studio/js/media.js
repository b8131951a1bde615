// Videos and their previews, fetched with the API key and shown through object URLs.
import { mediaUrl } from "./api.js";
import { el } from "./ui.js";

const previews = new Map(); // "id:variant" -> Promise<object URL>; small files, kept

export function previewUrl(id, variant) {
  const slot = `${id}:${variant}`;
  if (!previews.has(slot)) {
    const url = mediaUrl(`/v1/videos/${id}/content?variant=${variant}`);
    previews.set(slot, url.catch((error) => { previews.delete(slot); throw error; }));
  }
  return previews.get(slot);
}

export function forgetPreviews(id) {
  for (const variant of ["thumbnail", "spritesheet"]) {
    const slot = `${id}:${variant}`;
    previews.get(slot)?.then((url) => URL.revokeObjectURL(url), () => {});
    previews.delete(slot);
  }
}

// A player for a completed video in `container`, and `download` pointed at the file.
// Returns the object URL; the caller revokes it when the player goes away.
export async function showPlayer(container, video, download) {
  container.replaceChildren(el("p", { class: "help", text: "Loading the video…" }));
  const url = await mediaUrl(`/v1/videos/${video.id}/content`);
  const player = el("video", {
    controls: true, playsinline: true, preload: "metadata", src: url,
    "aria-label": `Video: ${video.prompt ?? video.id}`,
  });
  container.replaceChildren(player);
  download.href = url;
  download.download = `${video.id}.mp4`;
  download.hidden = false;
  return url;
}

// Hover (or focus) over a card's picture scrubs through the 5x5 spritesheet: tile k shows the
// middle of the k-th of 25 equal slices of the video.
const GRID = 5;

export function attachScrub(frame, id) {
  let sheet = null;
  const show = (fraction) => {
    const tile = Math.min(GRID * GRID - 1, Math.floor(fraction * GRID * GRID));
    const x = (tile % GRID) * (100 / (GRID - 1));
    const y = Math.floor(tile / GRID) * (100 / (GRID - 1));
    frame.style.backgroundPosition = `${x}% ${y}%`;
  };
  const start = async () => {
    try { sheet = sheet ?? await previewUrl(id, "spritesheet"); } catch { return; }
    frame.style.backgroundImage = `url("${sheet}")`;
    frame.classList.add("scrubbing");
  };
  const stop = () => frame.classList.remove("scrubbing");
  frame.addEventListener("pointerenter", start);
  frame.addEventListener("pointermove", (event) => {
    const box = frame.getBoundingClientRect();
    show(Math.max(0, Math.min(0.999, (event.clientX - box.left) / box.width)));
  });
  frame.addEventListener("pointerleave", stop);
}
