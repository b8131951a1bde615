// The studio: sign in with an API key (kept in this tab's sessionStorage only), then the
// views behind #create, #gallery and #operator.
import { ApiError, call, session } from "./api.js";
import { setUpCreate, showCreate } from "./create.js";
import { resetGallery, setUpGallery, showGallery } from "./gallery.js";
import { isAdmin, setUpOperator, showOperator } from "./operator.js";
import { $, showMessage } from "./ui.js";

const VIEWS = { create: showCreate, gallery: showGallery, operator: showOperator };

function route() {
  const signedIn = Boolean(session.key);
  let name = location.hash.slice(1);
  if (!signedIn) name = "signin";
  else if (!(name in VIEWS) || (name === "operator" && $("nav-operator").hidden)) name = "create";
  for (const view of document.querySelectorAll(".view")) view.hidden = view.id !== `view-${name}`;
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.dataset.view === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  $("nav").hidden = !signedIn;
  showMessage($("notice"), null);
  document.title = `${name === "signin" ? "Sign in" : name[0].toUpperCase() + name.slice(1)} · ReelForge studio`;
  $(`view-${name}`).querySelector("h2").focus({ preventScroll: true });
  VIEWS[name]?.();
}

// A key is good if it can list its videos; admin keys also get the operator page.
async function signIn(key) {
  session.key = key;
  try {
    await call("GET", "/v1/videos?limit=1");
  } catch (error) {
    session.key = null;
    throw error;
  }
  $("nav-operator").hidden = !(await isAdmin());
}

async function onSignIn(event) {
  event.preventDefault();
  const error = $("signin-error");
  showMessage(error, null);
  const key = $("api-key").value.trim();
  if (!key) { showMessage(error, "Paste your API key first."); return; }
  try {
    await signIn(key);
  } catch (failure) {
    showMessage(error, failure instanceof ApiError ? failure.message : String(failure));
    return;
  }
  $("api-key").value = "";
  if (location.hash === "#create") route();
  else location.hash = "#create"; // routes on hashchange
}

function signOut() {
  session.key = null;
  resetGallery();
  $("nav-operator").hidden = true;
  history.replaceState(null, "", location.pathname);
  route();
}

async function start() {
  for (const heading of document.querySelectorAll(".view h2")) heading.tabIndex = -1;
  $("signin-form").addEventListener("submit", onSignIn);
  $("sign-out").addEventListener("click", signOut);
  setUpCreate();
  setUpGallery();
  setUpOperator();
  window.addEventListener("hashchange", route);
  if (session.key) {
    try {
      await signIn(session.key); // a reload: check the key is still good
    } catch (error) {
      showMessage($("signin-error"), error.message);
    }
  }
  route();
}

start();
