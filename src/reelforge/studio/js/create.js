// The create view: prompt with live guidance, settings, first frame, submit, live status.
import { call, newIdempotencyKey } from "./api.js";
import { refreshGuidance } from "./guidance.js";
import { showPlayer } from "./media.js";
import { watchVideo } from "./watch.js";
import { $, debounce, describeVideo, isActive, showMessage } from "./ui.js";

const form = () => $("create-form");
let frame = null;        // { file, width, height } of the chosen first frame
let stopWatching = () => {};
let playerUrl = null;
let current = null;      // the video shown in the job panel

function chosen(name) {
  return form().querySelector(`input[name="${name}"]:checked`).value;
}

// The JSON create body (without the first frame).
function draft() {
  const body = { prompt: $("prompt").value, model: $("model").value, size: chosen("size"), seconds: chosen("seconds") };
  const seed = $("seed").value.trim();
  if (seed !== "") body.seed = Number(seed);
  return body;
}

const liveHelp = debounce(() => refreshGuidance(draft()).catch(() => {}), 300);

async function readImage(file) {
  const url = URL.createObjectURL(file);
  const image = new Image();
  image.src = url;
  try {
    await image.decode();
  } catch {
    URL.revokeObjectURL(url);
    throw new Error("This file could not be read as an image; choose a JPEG, PNG or WebP.");
  }
  return { file, url, width: image.naturalWidth, height: image.naturalHeight };
}

// The first frame must have exactly the chosen size: say so before the upload.
function frameProblem() {
  if (!frame) return null;
  const [width, height] = chosen("size").split("x").map(Number);
  if (frame.width === width && frame.height === height) return null;
  return `The image is ${frame.width}×${frame.height}; the first frame must be exactly ${width}×${height}, ` +
    "the size chosen above. Resize or crop it, or choose the other size.";
}

function showFrameCheck() {
  const problem = frameProblem();
  const line = $("frame-check");
  line.textContent = !frame ? "" : problem ?? `✓ ${frame.width}×${frame.height} matches the chosen size.`;
  line.className = problem ? "error" : "help";
}

async function onFrameChosen() {
  const file = $("first-frame").files[0];
  clearFrame(false);
  if (!file) return;
  try {
    frame = await readImage(file);
  } catch (error) {
    $("frame-check").textContent = error.message;
    $("frame-check").className = "error";
    return;
  }
  $("frame-preview").src = frame.url;
  $("frame-preview").parentElement.hidden = false;
  showFrameCheck();
}

function clearFrame(resetInput = true) {
  if (frame) URL.revokeObjectURL(frame.url);
  frame = null;
  if (resetInput) $("first-frame").value = "";
  $("frame-preview").removeAttribute("src");
  $("frame-preview").parentElement.hidden = true;
  showFrameCheck();
}

function createRequest() {
  const body = draft();
  if (!frame) return { json: body };
  const data = new FormData();
  for (const [name, value] of Object.entries(body)) data.append(name, String(value));
  data.append("input_reference", frame.file, frame.file.name);
  return { form: data };
}

async function submit(event) {
  event.preventDefault();
  const error = $("create-error");
  showMessage(error, null);
  if (!$("prompt").value.trim()) {
    showMessage(error, "Write a prompt first: describe what the video should show.");
    $("prompt").focus();
    return;
  }
  const problem = frameProblem();
  if (problem) { showMessage(error, problem); $("first-frame").focus(); return; }
  $("submit").disabled = true;
  try {
    const video = await call("POST", "/v1/videos", { ...createRequest(), idempotencyKey: newIdempotencyKey() });
    follow(video);
  } catch (failure) {
    showMessage(error, failure.message);
  } finally {
    $("submit").disabled = false;
  }
}

// Show a video in the job panel and follow it live until it ends.
export function follow(video) {
  stopWatching();
  if (playerUrl) URL.revokeObjectURL(playerUrl);
  playerUrl = null;
  current = null;
  $("job").hidden = false;
  $("job-prompt").textContent = video.prompt;
  $("job-player").replaceChildren();
  $("job-download").hidden = true;
  render(video);
  $("job-title").focus();
  stopWatching = watchVideo(video.id, render, (gone) => { $("job-status").textContent = gone.message; });
}

function render(video) {
  const previous = current;
  // A cancel's answer can arrive after the stream said "cancelled": never step back.
  if (previous?.id === video.id && !isActive(previous) && isActive(video)) return;
  current = video;
  $("job").dataset.status = video.status;
  $("job-status").textContent = describeVideo(video);
  $("job-progress").value = video.status === "completed" ? 100 : video.progress;
  $("job-progress").hidden = !isActive(video);
  $("job-cancel").hidden = !isActive(video);
  if (video.status === "completed" && previous?.status !== "completed") {
    showPlayer($("job-player"), video, $("job-download"))
      .then((url) => { playerUrl = url; })
      .catch((error) => { $("job-status").textContent = error.message; });
  }
}

async function cancel() {
  if (!current) return;
  try {
    render(await call("POST", `/v1/videos/${current.id}/cancel`));
  } catch (error) {
    $("job-status").textContent = error.message;
  }
}

export function setUpCreate() {
  $("job-title").tabIndex = -1;
  form().addEventListener("submit", submit);
  form().addEventListener("input", (event) => { if (event.target.id !== "first-frame") liveHelp(); });
  form().addEventListener("change", (event) => { if (event.target.name === "size") showFrameCheck(); });
  $("first-frame").addEventListener("change", onFrameChosen);
  $("frame-clear").addEventListener("click", () => clearFrame());
  $("job-cancel").addEventListener("click", cancel);
}

export function showCreate() {
  refreshGuidance(draft()).catch(() => {});
}
