// The operator page (admin keys): readiness, the queue, workers and their engines, GPU memory,
// from GET /v1/admin/status; refreshed every few seconds while open.
import { call } from "./api.js";
import { $, el, when } from "./ui.js";

const REFRESH_MS = 5000;
let timer = null;

export async function isAdmin() {
  try {
    await call("GET", "/v1/admin/status");
    return true;
  } catch {
    return false;
  }
}

const gib = (bytes) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;

function table(caption, headings, rows) {
  return el("div", { class: "table-scroll", tabindex: "0", role: "region", "aria-label": caption },
    el("table", {},
      el("caption", { text: caption }),
      el("thead", {}, el("tr", {}, ...headings.map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, ...rows.map((cells) => el("tr", {}, ...cells.map((c) => el("td", { text: c }))))),
    ),
  );
}

function summary(status) {
  const alive = status.workers.filter((w) => w.alive);
  const counts = status.queue.counts;
  const oldest = status.queue.oldest_queued_age_seconds;
  const items = [
    ["Ready", status.ready ? "yes" : `no: ${status.not_ready_reason ?? "unknown reason"}`],
    ["Engine", status.engine],
    ["Workers alive", `${alive.length} of ${status.workers.length} seen`],
    ["Queued", `${counts.queued ?? 0}${oldest === null ? "" : ` (oldest waiting ${Math.round(oldest)} s)`}`],
    ["Running", String(counts.running ?? 0)],
    ["Completed", String(counts.completed ?? 0)],
    ["Failed / cancelled", `${counts.failed ?? 0} / ${counts.cancelled ?? 0}`],
  ];
  return el("dl", { class: "facts summary", id: "operator-summary" },
    ...items.flatMap(([term, value]) => [el("dt", { text: term }), el("dd", { text: value })]));
}

function workerRow(worker) {
  const gpu = worker.gpu
    ? `${worker.gpu.device}: ${gib(worker.gpu.memory_used_bytes)} of ${gib(worker.gpu.memory_total_bytes)}`
    : "none";
  return [
    worker.name, worker.alive ? "alive" : "gone",
    `${worker.engine} (${worker.state}${worker.error ? `: ${worker.error}` : ""})`,
    worker.models.join(", ") || "—", `${worker.running_jobs} / ${worker.concurrency}`,
    `${Math.round(worker.last_seen_age_seconds)} s ago`, gpu,
  ];
}

function render(status) {
  const parts = [
    summary(status),
    table("Workers", ["Worker", "Alive", "Engine", "Models", "Running", "Last seen", "GPU memory"],
      status.workers.map(workerRow)),
  ];
  if (status.engine_errors.length) {
    parts.push(table("Engine load errors", ["Worker", "Engine", "Error"],
      status.engine_errors.map((e) => [e.worker, e.engine, e.error])));
  }
  parts.push(el("p", { class: "help", text: `As of ${when(status.generated_at)}.` }));
  $("operator").replaceChildren(...parts);
}

export async function showOperator() {
  clearTimeout(timer);
  try {
    render(await call("GET", "/v1/admin/status"));
  } catch (error) {
    $("operator").replaceChildren(el("p", { class: "error", role: "alert", text: error.message }));
    return;
  }
  if (!$("view-operator").hidden) timer = setTimeout(showOperator, REFRESH_MS);
}

export function setUpOperator() {
  $("operator-refresh").addEventListener("click", showOperator);
}
