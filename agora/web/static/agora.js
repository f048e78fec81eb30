// Agora's web app: small enhancements over server-rendered pages. Everything here is optional —
// without it, forms post and links navigate. With it: a character counter, image previews with
// alt text, live "N new posts", notification and chat badges over the streaming API, and toasts.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function configureHtmx() {
    if (!window.htmx) return;
    // Swap 2xx, and 422 (a form sent back with the messages beside its fields); report the rest.
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "422", swap: true, error: false },
      { code: "[45]..", swap: false, error: true },
    ];
    htmx.config.scrollIntoViewOnBoost = false;
  }

  // Interface text lives in the page (data-msg-*), translated by the server like everything else.
  function message(name) { return document.body.dataset["msg" + name[0].toUpperCase() + name.slice(1)] || name; }

  function toast(text) {
    const box = document.getElementById("toast");
    if (!box) return;
    box.textContent = text;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { box.textContent = ""; }, 4000);
  }

  // --- compose: character counter and image previews -------------------------------------------
  const maxChars = () => parseInt(document.body.dataset.maxChars || "500", 10);

  function updateCounter(textarea) {
    const output = document.getElementById(textarea.dataset.counter);
    if (!output) return;
    const left = maxChars() - [...textarea.value].length; // code points, as the server counts
    output.textContent = String(left);
    output.classList.toggle("over", left < 0);
    const submit = textarea.form && textarea.form.querySelector("button[type=submit]");
    if (submit) submit.disabled = left < 0;
  }

  function showPreviews(input) {
    const box = document.getElementById(input.dataset.preview);
    if (!box) return;
    box.querySelectorAll(".preview").forEach((el) => el.remove());
    const files = Array.from(input.files || []);
    // One alt-text field per chosen image replaces the single no-script field.
    box.querySelectorAll(".alt-static").forEach((el) => { el.hidden = files.length > 0; el.disabled = files.length > 0; });
    files.forEach((file, index) => {
      const item = document.createElement("div");
      item.className = "preview";
      const img = document.createElement("img");
      img.src = URL.createObjectURL(file);
      img.alt = "";
      const id = input.id + "-alt-" + index;
      const label = document.createElement("label");
      label.htmlFor = id;
      label.textContent = (box.querySelector("label.alt-static") || {}).textContent || "";
      const alt = document.createElement("input");
      alt.id = id;
      alt.name = "alt";
      alt.maxLength = 1500;
      alt.placeholder = file.name;
      item.append(img, label, alt);
      box.append(item);
    });
  }

  document.addEventListener("input", (event) => {
    if (event.target.matches("textarea[data-counter]")) updateCounter(event.target);
  });
  document.addEventListener("change", (event) => {
    const target = event.target;
    if (target.matches("input[type=file][data-preview]")) showPreviews(target);
    if (target.matches("select[data-autosubmit]")) target.form.requestSubmit();
  });

  // --- live updates ----------------------------------------------------------------------------
  let pending = 0;

  function newPostsBar() { return document.getElementById("new-posts"); }

  function showPending() {
    const bar = newPostsBar();
    if (!bar) return;
    bar.textContent = pending === 1 ? bar.dataset.labelOne : bar.dataset.labelMany.replace("{n}", String(pending));
    bar.hidden = pending === 0;
  }

  function onUpdate(status) {
    const timeline = document.querySelector("#timeline[data-timeline=home]");
    if (!timeline || document.getElementById("post-" + status.id)) return;
    if (status.account && status.account.id === document.body.dataset.me) return; // our own post is already shown
    pending += 1;
    showPending();
  }

  function loadPending() {
    const bar = newPostsBar();
    const timeline = document.getElementById("timeline");
    if (!bar || !timeline || !window.htmx) return;
    const first = timeline.querySelector(".post");
    const since = first ? first.id.replace("post-", "") : bar.dataset.since;
    htmx.ajax("GET", bar.dataset.url + "?since_id=" + encodeURIComponent(since || ""), {
      target: "#timeline", swap: "afterbegin", headers: { "X-Agora-Fragment": "new" },
    }).then(() => {
      pending = 0;
      showPending();
      timeline.querySelectorAll(".post").forEach((post, index) => { if (index < 3) post.classList.add("arrived"); });
      const top = timeline.querySelector(".post a, .post button");
      if (top) top.focus({ preventScroll: true });
      window.scrollTo({ top: 0 });
    });
  }

  function bumpNotifications(by) {
    // The tab's title carries the count too, as X's does: "(3) Home · Agora".
    const unread = parseInt((document.title.match(/^\((\d+)\) /) || [0, "0"])[1], 10) + by;
    document.title = (unread > 0 ? "(" + unread + ") " : "") + document.title.replace(/^\(\d+\) /, "");
    document.querySelectorAll(".notif-badge").forEach((badge) => {
      const count = parseInt(badge.dataset.count || "0", 10) + by;
      badge.dataset.count = String(count);
      badge.textContent = count > 99 ? "99+" : String(count);
      badge.hidden = count <= 0;
    });
  }

  // The chat badge asks the server for its count when an event may have moved it (a message from
  // someone else, a read on another device, a request accepted): the server knows what is muted.
  const CHAT_EVENTS = ["chat.message", "chat.message.update", "chat.read", "chat.typing", "chat.conversation",
                       "chat.conversation.remove", "chat.ready"];
  let chatBadgeTimer = null;

  function refreshChatBadge() {
    clearTimeout(chatBadgeTimer);
    chatBadgeTimer = setTimeout(() => {
      fetch("/web/chat/unread", { credentials: "same-origin" }).then((r) => (r.ok ? r.json() : null)).then((body) => {
        if (!body) return;
        document.querySelectorAll(".chat-badge").forEach((badge) => {
          badge.dataset.count = String(body.unread);
          badge.textContent = body.unread > 99 ? "99+" : String(body.unread);
          badge.hidden = body.unread <= 0;
        });
      }).catch(() => {});
    }, 300);
  }

  function onChat(name, data) {
    // Chat pages (chat.js) listen for these; every page keeps its badge.
    document.dispatchEvent(new CustomEvent("agora:chat", { detail: { name: name, data: data } }));
    const me = document.body.dataset.me;
    const fromMe = name === "chat.message" && data.message && data.message.account && data.message.account.id === me;
    const countless = name === "chat.typing" || name === "chat.ready" || fromMe
      || (name === "chat.read" && data.account_id !== me)
      || (name === "chat.message.update" && data.reason !== "delete");
    if (!countless) refreshChatBadge();
  }

  function connect() {
    if (document.body.dataset.live !== "on" || !window.EventSource) return;
    // One stream per page carries posts, notifications and chat; chat pages resume it from the
    // moment they were rendered, so nothing said meanwhile is missed.
    const cursor = document.body.dataset.chatCursor;
    const source = new EventSource("/web/live" + (cursor ? "?cursor=" + encodeURIComponent(cursor) : ""));
    CHAT_EVENTS.forEach((name) => source.addEventListener(name, (event) => {
      let data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      onChat(name, data);
    }));
    source.addEventListener("update", (event) => { try { onUpdate(JSON.parse(event.data)); } catch (e) { /* ignore */ } });
    source.addEventListener("notification", () => bumpNotifications(1));
    source.addEventListener("delete", (event) => {
      const gone = document.getElementById("post-" + event.data);
      if (gone) gone.remove();
    });
  }

  document.addEventListener("click", (event) => {
    if (event.target.closest("#new-posts")) loadPending();
    const dismiss = event.target.closest("[data-dismiss]");
    if (dismiss) dismiss.closest("form").remove();
  });

  // Reply and quote open a box under the card; pressing again goes back to the open box.
  document.addEventListener("htmx:beforeRequest", (event) => {
    const link = event.detail.elt;
    if (!link.matches || !link.matches("a.reply, a.quote")) return;
    const card = link.closest("article");
    const open = card && card.nextElementSibling;
    if (open && open.matches("form.compose.inline")) {
      event.preventDefault();
      const box = open.querySelector("textarea");
      if (box) box.focus();
    }
  });

  document.addEventListener("htmx:responseError", (event) => {
    let text = (event.detail.xhr && event.detail.xhr.responseText) || "";
    try { text = JSON.parse(text).error || text; } catch (e) { /* plain text, as web routes answer */ }
    toast(text && text.length < 300 ? text : message("failed"));
  });
  document.addEventListener("htmx:sendError", () => toast(message(navigator.onLine ? "unreachable" : "offline")));

  document.addEventListener("DOMContentLoaded", () => {
    configureHtmx();
    document.querySelectorAll("textarea[data-counter]").forEach(updateCounter);
    document.querySelectorAll("select[data-autosubmit] + button").forEach((button) => { button.hidden = true; });
    connect();
  });
})();
