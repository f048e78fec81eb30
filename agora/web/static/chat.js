// Chat pages: live messages, typing, read receipts, reactions without a reload, Enter to send.
// Everything here is optional: without it, the send box, reactions and group forms are ordinary
// forms. The page's one event stream (/web/live, opened by agora.js) carries the chat events;
// agora.js hands each on as an "agora:chat" DOM event. An event only says that something changed:
// the HTML for it is fetched from the server, so every message is rendered in one place.
(function () {
  "use strict";
  const me = document.body.dataset.me || "";
  const TYPING_EVERY_MS = 3000; // "… is typing" is sent at most this often while typing
  const TYPING_SHOWN_MS = 6000; // and shown this long after the last signal
  const RUN_GAP_MS = 5 * 60 * 1000; // as chat_data.RUN_GAP: messages closer than this form one run

  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || ""; } catch (e) { return ""; }
  }

  function post(url, fields) {
    return fetch(url, {
      method: "POST", body: new URLSearchParams(fields || {}), credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf(), "HX-Request": "true" },
    });
  }

  // Snowflake ids pass 2^53: compare them as decimal strings, never as numbers.
  function compareIds(a, b) {
    a = String(a || ""); b = String(b || "");
    return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
  }

  function newClientId() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes); // randomUUID needs a secure context; this works on plain http too
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // --- dialogs: "New message" and "New group" --------------------------------------------------
  document.addEventListener("click", (event) => {
    const opener = event.target.closest("[data-dialog]");
    if (opener) {
      const dialog = document.getElementById(opener.dataset.dialog);
      if (dialog && dialog.showModal) {
        event.preventDefault();
        dialog.showModal();
        const first = dialog.querySelector("input:not([type=hidden])");
        if (first) first.focus();
      }
    }
    const closer = event.target.closest("[data-close-dialog]");
    if (closer) {
      const dialog = closer.closest("dialog");
      if (dialog) dialog.close(); else window.location.href = "/chat";
    }
  });

  // --- the inbox: refreshed from the server when the stream says something changed --------------
  const inbox = document.querySelector("[data-chat-page=inbox]");
  let inboxTimer = null;

  function refreshInbox() {
    clearTimeout(inboxTimer);
    inboxTimer = setTimeout(() => {
      const url = new URL(window.location.href);
      url.searchParams.set("fragment", "list");
      url.searchParams.delete("max_id");
      fetch(url, { credentials: "same-origin" }).then((r) => (r.ok ? r.text() : null)).then((html) => {
        const list = document.getElementById("chat-list");
        if (html !== null && list) list.innerHTML = html;
      }).catch(() => {});
    }, 250);
  }

  // --- a conversation --------------------------------------------------------------------------
  const view = document.getElementById("chat-view");
  const list = document.getElementById("chat-messages");
  const form = document.getElementById("chat-send");
  const textarea = form && form.querySelector("textarea");
  const conversationId = view ? view.dataset.conversation : null;
  const readers = view ? JSON.parse(view.dataset.readers || "{}") : {};
  let readUpTo = "";

  function items() { return list ? Array.from(list.querySelectorAll("li.msg")) : []; }

  function lastId() {
    const all = items();
    return all.length ? all[all.length - 1].dataset.id : "";
  }

  function nearBottom() {
    return window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 160;
  }

  function scrollDown() { window.scrollTo({ top: document.documentElement.scrollHeight }); }

  // The sender's name shows once per run of messages, as the server renders a page.
  function markRuns() {
    let previous = null;
    items().forEach((li) => {
      const continued = previous !== null && !li.classList.contains("system") && !previous.classList.contains("system")
        && previous.dataset.sender === li.dataset.sender
        && Date.parse(li.dataset.created) - Date.parse(previous.dataset.created) < RUN_GAP_MS;
      li.classList.toggle("cont", continued);
      previous = li;
    });
  }

  // "Seen" under the member's last message: who of the others has read up to it.
  function showReceipt() {
    if (!list) return;
    const old = document.getElementById("chat-seen");
    if (old) old.remove();
    const mine = list.querySelectorAll("li.msg.mine:not(.deleted)");
    const last = mine[mine.length - 1];
    if (!last) return;
    const seen = Object.values(readers).filter((read) => compareIds(read, last.dataset.id) >= 0).length;
    if (!seen) return;
    const note = document.createElement("p");
    note.className = "chat-seen";
    note.id = "chat-seen";
    note.textContent = view.dataset.kind === "direct" ? view.dataset.seen : view.dataset.seenBy.replace("{n}", String(seen));
    last.querySelector(".msg-body").append(note);
  }

  // Put server-rendered <li> messages in their place: a known one is replaced, a new one goes in id order.
  function insert(html) {
    const template = document.createElement("template");
    template.innerHTML = html;
    const added = [];
    template.content.querySelectorAll("li.msg").forEach((li) => {
      const existing = document.getElementById(li.id);
      if (existing) {
        existing.replaceWith(li);
      } else {
        const before = items().find((other) => compareIds(other.dataset.id, li.dataset.id) > 0) || null;
        list.insertBefore(li, before);
        added.push(li);
      }
      if (window.htmx) htmx.process(li);
    });
    if (added.length) {
      const empty = document.getElementById("chat-empty");
      if (empty) empty.remove();
    }
    markRuns();
    showReceipt();
    return added;
  }

  function markRead() {
    // Only while the member can see the page; never for a request (its sender must not learn it was seen).
    if (!view || view.dataset.request || document.visibilityState !== "visible") return;
    const last = lastId();
    if (!last || compareIds(last, readUpTo) <= 0) return;
    readUpTo = last;
    post(view.dataset.readUrl, { message_id: last }).catch(() => { readUpTo = ""; });
  }

  let fetching = false;
  let fetchAgain = false;

  function fetchNew() {
    if (fetching) { fetchAgain = true; return; }
    fetching = true;
    const after = lastId();
    fetch(view.dataset.messagesUrl + (after ? "?after=" + encodeURIComponent(after) : ""), { credentials: "same-origin" })
      .then((r) => (r.ok ? r.text() : ""))
      .then((html) => {
        const atBottom = nearBottom();
        const added = insert(html);
        added.forEach((li) => stopTyping(li.dataset.sender));
        if (added.length && atBottom) scrollDown();
        markRead();
      })
      .catch(() => {})
      .finally(() => {
        fetching = false;
        if (fetchAgain) { fetchAgain = false; fetchNew(); }
      });
  }

  function refreshMessage(id) {
    const shown = document.getElementById("msg-" + id);
    if (!shown) return; // older than the page shows
    if (shown.querySelector("form.msg-edit")) return; // being edited here: saving re-renders it
    fetch(view.dataset.messagesUrl + "/" + encodeURIComponent(id), { credentials: "same-origin" })
      .then((r) => (r.ok ? r.text() : "")).then(insert).catch(() => {});
  }

  // --- typing ----------------------------------------------------------------------------------
  const typers = new Map(); // account id -> { name, timer }

  function showTyping() {
    const box = document.getElementById("chat-typing");
    if (!box) return;
    const names = Array.from(typers.values(), (t) => t.name);
    box.textContent = names.length ? view.dataset.typing.replace("{name}", names.join(", ")) : "";
  }

  function stopTyping(accountId) {
    const typer = typers.get(accountId);
    if (!typer) return;
    clearTimeout(typer.timer);
    typers.delete(accountId);
    showTyping();
  }

  function startTyping(account) {
    if (!account || account.id === me) return;
    stopTyping(account.id);
    typers.set(account.id, {
      name: account.display_name || account.username,
      timer: setTimeout(() => stopTyping(account.id), TYPING_SHOWN_MS),
    });
    showTyping();
  }

  // --- sending ---------------------------------------------------------------------------------
  let sending = false;
  let lastTypingSent = 0;
  let failedText = null; // what a failed send held: retried unchanged, it keeps its client id

  function showError(text) {
    const box = document.getElementById("chat-send-error");
    if (!box) return;
    box.textContent = text || "";
    box.hidden = !text;
    if (textarea) textarea.setAttribute("aria-invalid", text ? "true" : "false");
  }

  function setReply(id, acct, excerpt) {
    const box = document.getElementById("chat-replying");
    form.elements.reply_to_id.value = id || "";
    if (!box) return;
    box.hidden = !id;
    box.querySelector("[data-reply-acct]").textContent = id ? "@" + acct : "";
    box.querySelector("[data-reply-text]").textContent = id ? excerpt : "";
  }

  function grow() {
    textarea.style.height = "auto";
    textarea.style.height = Math.min(textarea.scrollHeight + 2, 200) + "px";
  }

  function send() {
    const image = form.elements.media;
    const hasImage = !!(image && image.files && image.files.length);
    if (sending || (!textarea.value.trim() && !hasImage)) return; // a second Enter while the first is on its way
    sending = true;
    const fields = new FormData(form);
    if (!hasImage) { fields.delete("media"); fields.delete("alt"); }
    const body = hasImage ? fields : new URLSearchParams(fields); // a file goes as multipart
    fetch(form.action, { method: "POST", body: body, credentials: "same-origin",
                         headers: { "HX-Request": "true", "X-CSRF-Token": csrf() } })
      .then((r) => r.text().then((text) => {
        if (!r.ok) {
          failedText = textarea.value;
          showError(text && text.length < 300 ? text : document.body.dataset.msgFailed);
          return;
        }
        failedText = null;
        showError("");
        textarea.value = "";
        if (image) {
          image.value = "";
          form.elements.alt.value = "";
          const attach = image.closest("details");
          if (attach) attach.open = false;
        }
        grow();
        setReply(null);
        form.elements.client_id.value = newClientId(); // the next message is a new one
        lastTypingSent = 0;
        insert(text);
        scrollDown();
        readUpTo = lastId(); // our own message is read
      }))
      .catch(() => {
        failedText = textarea.value; // the message may have arrived: a retry with this id will not double it
        showError(document.body.dataset[navigator.onLine ? "msgUnreachable" : "msgOffline"]);
      })
      .finally(() => { sending = false; });
  }

  if (view && form && textarea) {
    form.addEventListener("submit", (event) => { event.preventDefault(); send(); });
    textarea.addEventListener("keydown", (event) => {
      // Enter sends, Shift+Enter is a new line; never while an input method is composing a character.
      if (event.key === "Enter" && !event.shiftKey && !event.altKey && !event.ctrlKey && !event.metaKey && !event.isComposing) {
        event.preventDefault();
        send();
      }
    });
    textarea.addEventListener("input", () => {
      grow();
      if (failedText !== null && textarea.value !== failedText) {
        failedText = null;
        form.elements.client_id.value = newClientId(); // a different message now
      }
      const now = Date.now();
      if (textarea.value.trim() && now - lastTypingSent >= TYPING_EVERY_MS) {
        lastTypingSent = now;
        post(view.dataset.typingUrl).catch(() => {});
      }
    });
    document.addEventListener("click", (event) => {
      const reply = event.target.closest("a.msg-reply");
      if (reply) {
        event.preventDefault();
        const li = reply.closest("li.msg");
        setReply(li.dataset.id, li.dataset.acct, li.dataset.excerpt);
        textarea.focus();
      }
      if (event.target.closest("[data-cancel-reply]")) {
        event.preventDefault();
        setReply(null);
        textarea.focus();
      }
    });
    document.addEventListener("visibilitychange", markRead);
    readUpTo = lastId(); // the server marked the page's messages read as it rendered them
    markRuns();
    showReceipt();
    if (!view.dataset.pagedBack && (!window.location.hash || window.location.hash === "#chat-send")) scrollDown();
    if (window.location.hash === "#chat-send") textarea.focus();
  }

  // --- the stream ------------------------------------------------------------------------------
  document.addEventListener("agora:chat", (event) => {
    const name = event.detail.name;
    const data = event.detail.data || {};
    const othersRead = name === "chat.read" && data.account_id !== me; // changes none of our counts
    if (inbox && name !== "chat.typing" && name !== "chat.ready" && !othersRead) refreshInbox();
    if (!view) return;
    const latest = !view.dataset.pagedBack; // an older page shows no new messages (its link goes to them)
    if (name === "chat.ready") { if (latest) fetchNew(); return; } // (re)connected: anything from before the stream
    if (data.conversation_id !== conversationId) return;
    if (name === "chat.message") {
      if (data.message && data.message.account) stopTyping(data.message.account.id);
      if (latest) fetchNew();
    } else if (name === "chat.message.update" && data.message) {
      refreshMessage(data.message.id);
    } else if (name === "chat.read" && data.account_id !== me) {
      if (compareIds(data.last_read_id, readers[data.account_id]) > 0) readers[data.account_id] = data.last_read_id;
      showReceipt();
    } else if (name === "chat.typing") {
      startTyping(data.account);
    } else if (name === "chat.conversation.remove") {
      window.location.href = "/chat"; // removed, left or declined: no longer this member's to see
    } else if (name === "chat.conversation" && data.conversation && data.conversation.kind === "group" && data.conversation.name) {
      const title = document.querySelector(".chat-head h1");
      if (title) title.textContent = data.conversation.name;
    }
  });
})();

// Choosing an image opens its fold, so the description field beside it is in view.
document.addEventListener("change", (event) => {
  const input = event.target;
  if (input && input.id === "chat-image" && input.files && input.files.length) {
    const attach = input.closest("details");
    if (attach) attach.open = true;
  }
});
