// The gallery of this key's videos, and the detail dialog: player, download, remix, cancel,
// delete. Active videos refresh every few seconds while the gallery is open.
import { call } from "./api.js";
import { follow } from "./create.js";
import { attachScrub, forgetPreviews, previewUrl, showPlayer } from "./media.js";
import { watchVideo } from "./watch.js";
import { $, ago, describeVideo, el, isActive, showMessage, statusLabel, when } from "./ui.js";

const PAGE = 24;
const REFRESH_MS = 3000;
const cards = new Map(); // video id -> { video, node }
let lastId = null;
let timer = null;
let open = null; // { video, stop, url } of the detail dialog

function pictureFor(video) {
  const [width, height] = video.size.split("x").map(Number);
  const frame = el("div", { class: "frame" });
  frame.style.aspectRatio = `${width} / ${height}`;
  if (video.status === "completed") {
    const image = el("img", { alt: "", loading: "lazy" });
    previewUrl(video.id, "thumbnail").then((url) => { image.src = url; }, () => {});
    frame.append(image);
    attachScrub(frame, video.id);
  } else {
    frame.append(el("span", { class: "frame-status", text: statusLabel(video) }));
  }
  return frame;
}

function card(video) {
  const button = el("button", { type: "button", class: "open", "aria-label": `Open video: ${video.prompt}`, onclick: () => openDetail(video.id) },
    pictureFor(video),
  );
  return el("li", { class: `tile status-${video.status}`, "data-id": video.id },
    button,
    el("p", { class: "tile-prompt", text: video.prompt }),
    el("p", { class: "tile-meta" },
      el("span", { class: "badge", text: statusLabel(video) }),
      el("time", { datetime: new Date(video.created_at * 1000).toISOString(), title: when(video.created_at), text: ago(video.created_at) }),
      isActive(video) ? el("span", { text: ` · ${video.progress}%` }) : null,
    ),
  );
}

function place(video, atEnd = true) {
  const known = cards.get(video.id);
  if (known && known.video.status === video.status && known.video.progress === video.progress) return;
  const node = card(video);
  if (known) known.node.replaceWith(node);
  else if (atEnd) $("gallery").append(node);
  else $("gallery").prepend(node);
  cards.set(video.id, { video, node });
}

async function loadPage(after = null) {
  const query = new URLSearchParams({ limit: String(PAGE) });
  if (after) query.set("after", after);
  const page = await call("GET", `/v1/videos?${query}`);
  for (const video of page.data) place(video);
  if (page.last_id) lastId = page.last_id;
  $("gallery-more").hidden = !page.has_more;
  $("gallery-empty").hidden = cards.size > 0;
  return page;
}

// Newer videos go on top; known ones update in place.
async function refresh() {
  const page = await call("GET", `/v1/videos?limit=${PAGE}`);
  for (const video of [...page.data].reverse()) place(video, cards.has(video.id));
  $("gallery-empty").hidden = cards.size > 0;
}

function scheduleRefresh() {
  clearTimeout(timer);
  const anyActive = [...cards.values()].some(({ video }) => isActive(video));
  if (anyActive && !$("view-gallery").hidden) {
    timer = setTimeout(() => refresh().catch(() => {}).finally(scheduleRefresh), REFRESH_MS);
  }
}

export async function showGallery() {
  const notice = $("notice");
  try {
    if (cards.size === 0) await loadPage();
    else await refresh();
    showMessage(notice, null);
  } catch (error) {
    showMessage(notice, error.message);
  }
  scheduleRefresh();
}

// -- the detail dialog -------------------------------------------------------------------

function facts(video) {
  const rows = [
    ["Status", describeVideo(video)], ["Size", video.size], ["Seconds", video.seconds],
    ["Model", video.model], ["Created", when(video.created_at)], ["Id", video.id],
  ];
  if (video.remixed_from_video_id) rows.push(["Remix of", video.remixed_from_video_id]);
  return rows.flatMap(([term, value]) => [el("dt", { text: term }), el("dd", { text: value })]);
}

function renderDetail(video) {
  if (!open) return; // closed meanwhile
  const shown = open.video;
  if (shown?.id === video.id && !isActive(shown) && isActive(video)) return; // never step back
  const wasCompleted = shown?.status === "completed";
  open.video = video;
  place(video);
  $("detail-prompt").textContent = video.prompt;
  $("detail-facts").replaceChildren(...facts(video));
  $("detail-status").textContent = describeVideo(video);
  $("detail-cancel").hidden = !isActive(video);
  $("remix-form").hidden = video.status !== "completed";
  if (video.status === "completed" && !wasCompleted) {
    const dialog = open;
    showPlayer($("detail-player"), video, $("detail-download"))
      .then((url) => { if (open === dialog) dialog.url = url; else URL.revokeObjectURL(url); })
      .catch((error) => showMessage($("detail-error"), error.message));
  }
}

async function openDetail(id) {
  const dialog = $("detail");
  $("detail-player").replaceChildren();
  $("detail-download").hidden = true;
  $("detail-delete").textContent = "Delete";
  $("remix-prompt").value = "";
  showMessage($("detail-error"), null);
  open = { video: null, stop: () => {}, url: null };
  dialog.showModal();
  try {
    renderDetail(await call("GET", `/v1/videos/${id}`));
  } catch (error) {
    showMessage($("detail-error"), error.message);
    return;
  }
  if (open?.video && isActive(open.video)) open.stop = watchVideo(id, renderDetail);
}

function closeDetail() {
  if (!open) return;
  open.stop();
  if (open.url) URL.revokeObjectURL(open.url);
  $("detail-player").replaceChildren();
  open = null;
  scheduleRefresh();
}

async function act(work) {
  showMessage($("detail-error"), null);
  try {
    await work(open.video);
  } catch (error) {
    showMessage($("detail-error"), error.message);
  }
}

const cancelOpen = () => act(async (video) => renderDetail(await call("POST", `/v1/videos/${video.id}/cancel`)));

// Two clicks, so a slip of the keyboard never deletes a video.
const deleteOpen = () => act(async (video) => {
  const button = $("detail-delete");
  if (button.textContent === "Delete") { button.textContent = "Confirm delete"; return; }
  await call("DELETE", `/v1/videos/${video.id}`);
  cards.get(video.id)?.node.remove();
  cards.delete(video.id);
  forgetPreviews(video.id);
  $("detail").close();
});

const remixOpen = (event) => act(async (video) => {
  event.preventDefault();
  const prompt = $("remix-prompt").value.trim();
  if (!prompt) throw new Error("Write the new prompt for the remix first.");
  const remix = await call("POST", `/v1/videos/${video.id}/remix`, { json: { prompt } });
  $("detail").close();
  location.hash = "#create";
  follow(remix);
});

export function setUpGallery() {
  $("gallery-more").addEventListener("click", () => loadPage(lastId).catch((error) => showMessage($("notice"), error.message)));
  $("gallery-refresh").addEventListener("click", () => showGallery());
  $("detail").addEventListener("close", closeDetail);
  $("detail-cancel").addEventListener("click", cancelOpen);
  $("detail-delete").addEventListener("click", deleteOpen);
  $("remix-form").addEventListener("submit", remixOpen);
}

export function resetGallery() {
  clearTimeout(timer);
  cards.clear();
  lastId = null;
  $("gallery").replaceChildren();
}
