// Live help on the prompt: which of the five elements it names (POST /v1/prompt/guidance), and
// whether the create's own admission checks would pass (POST /v1/prompt/check, a dry run).
import { call } from "./api.js";
import { $, el } from "./ui.js";

let latest = 0; // answers can arrive out of order: only the newest request's answer is shown

export async function refreshGuidance(draft) {
  const ticket = ++latest;
  const [guidance, check] = await Promise.allSettled([
    call("POST", "/v1/prompt/guidance", { json: { prompt: draft.prompt } }),
    draft.prompt.trim() ? call("POST", "/v1/prompt/check", { json: draft }) : Promise.resolve(null),
  ]);
  if (ticket !== latest) return;
  if (guidance.status === "fulfilled") renderGuidance(guidance.value);
  renderCheck(check, draft.prompt.trim() !== "");
}

function renderGuidance(guidance) {
  const items = guidance.elements.map((item) => el("li",
    { class: item.present ? "named" : "missing", "data-element": item.element },
    el("span", { class: "mark", "aria-hidden": "true", text: item.present ? "✓" : "+" }),
    el("strong", { text: item.label }),
    el("span", { class: "visually-hidden", text: item.present ? ": named" : ": missing" }),
    item.present
      ? el("span", { class: "found", text: ` — ${item.found.join(", ")}` })
      : el("span", { class: "suggestion", text: ` — ${item.suggestion}` }),
  ));
  $("guidance").replaceChildren(...items);
  $("guidance-example").textContent = guidance.example;
}

function renderCheck(check, hasPrompt) {
  const line = $("policy");
  line.className = "policy";
  if (!hasPrompt) { line.textContent = ""; return; }
  if (check.status === "fulfilled") {
    line.textContent = "✓ Passes the content policy and request checks.";
    line.classList.add("ok");
  } else {
    line.textContent = check.reason.message;
    line.classList.add(check.reason.code === "moderation_blocked" ? "refused" : "warn");
  }
}
