// Small DOM and wording helpers shared by the views.

export const $ = (id) => document.getElementById(id);

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

export function showMessage(node, message) {
  node.textContent = message ?? "";
  node.hidden = !message;
}

export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

const seconds = (value) => Math.max(0, Math.round(value));

function inWords(totalSeconds) {
  const s = seconds(totalSeconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function ago(unixSeconds) {
  const delta = Date.now() / 1000 - unixSeconds;
  if (delta < 5) return "just now";
  return `${inWords(delta)} ago`;
}

export function when(unixSeconds) {
  return new Date(unixSeconds * 1000).toLocaleString();
}

const PHASES = {
  queued: "waiting in the queue",
  loading: "loading the model",
  denoising: "generating frames",
  encoding: "encoding the video",
};

// One line saying where a video is: status, phase, queue position, ETA.
export function describeVideo(video) {
  const now = Date.now() / 1000;
  if (video.status === "completed") return "Completed.";
  if (video.status === "failed") {
    if (video.error?.code === "cancelled") return "Cancelled.";
    return `Failed: ${video.error?.message ?? "the video could not be generated"}.`;
  }
  const parts = [];
  if (video.status === "queued") {
    const position = video.queue_position;
    parts.push(position === null || position === undefined
      ? "Queued"
      : position === 0 ? "Queued: next to start" : `Queued: ${position} ahead`);
    if (video.estimated_start_at) parts.push(`starts in about ${inWords(video.estimated_start_at - now)}`);
  } else {
    parts.push(`In progress: ${video.progress}%`);
    if (video.phase) parts.push(PHASES[video.phase] ?? video.phase);
    if (video.estimated_completion_at) parts.push(`done in about ${inWords(video.estimated_completion_at - now)}`);
  }
  return `${parts.join(", ")}.`;
}

export const isActive = (video) => video.status === "queued" || video.status === "in_progress";

export function statusLabel(video) {
  if (video.status === "failed" && video.error?.code === "cancelled") return "cancelled";
  return video.status.replace("_", " ");
}
