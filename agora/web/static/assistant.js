// The assistant page: the answer streams in word by word. Optional like everything else: without it
// the form posts to /assistant and the page comes back with the whole answer.
// The server answers the form at data-stream as an event stream: `start` (the answer's labels as
// HTML), `token` (a piece of the text), `done` (the finished answer as HTML, with its citation chips,
// the same piece the no-script page shows). The region is aria-live="polite" and aria-busy while the
// words arrive, so a screen reader reads the finished answer once rather than every word.
(function () {
  "use strict";
  const form = document.getElementById("assistant-form");
  const region = document.getElementById("assistant-answer");
  if (!form || !region || !window.fetch || !window.TextDecoder || !window.ReadableStream) return;
  let busy = false;

  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || ""; } catch (e) { return ""; }
  }

  function failed(text) {
    region.textContent = "";
    const p = document.createElement("p");
    p.className = "field-error";
    p.setAttribute("role", "alert");
    p.textContent = text;
    region.appendChild(p);
  }

  // The next question may follow on from this one ("and when does it close?"): the server reads it
  // with `previous`. "Start a new topic" forgets it.
  const previous = document.getElementById("assistant-previous");
  const followNote = document.getElementById("assistant-follow");
  function followOn(question) {
    if (!previous || !followNote) return;
    previous.value = question;
    followNote.hidden = !question;
  }
  const newTopic = document.getElementById("assistant-new-topic");
  if (newTopic) newTopic.addEventListener("click", (event) => {
    event.preventDefault();
    followOn("");
    const box = form.querySelector("textarea");
    if (box) { box.value = ""; box.focus(); }
  });

  function textBox() { return region.querySelector(".answer-text"); }

  function handle(block) {
    let name = "message";
    const data = [];
    block.split("\n").forEach((line) => {
      if (line.startsWith("event:")) name = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    });
    if (!data.length) return;
    const body = JSON.parse(data.join("\n"));
    if (name === "start") {
      region.innerHTML = '<article class="answer">' + body.html + '<div class="answer-text" dir="auto"></div></article>';
    } else if (name === "token" && textBox()) {
      textBox().appendChild(document.createTextNode(body.text));
    } else if (name === "done") {
      region.innerHTML = body.html;
      followOn(body.follow_on || "");
    }
  }

  async function ask() {
    if (busy) return;
    busy = true;
    const button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    region.setAttribute("aria-busy", "true");
    region.innerHTML = '<p class="muted"></p>';
    region.firstChild.textContent = region.dataset.msgThinking || "";
    try {
      const response = await fetch(form.dataset.stream, {
        method: "POST", body: new URLSearchParams(new FormData(form)), credentials: "same-origin",
        headers: { "X-CSRF-Token": csrf(), "HX-Request": "true", "Accept": "text/event-stream" },
      });
      if (!response.ok) {
        const text = await response.text();
        failed(text && text.length < 300 ? text : document.body.dataset.msgFailed);
        return;
      }
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          handle(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch (e) {
      failed(navigator.onLine === false ? document.body.dataset.msgOffline : document.body.dataset.msgUnreachable);
    } finally {
      region.setAttribute("aria-busy", "false");
      if (button) button.disabled = false;
      busy = false;
    }
  }

  form.addEventListener("submit", (event) => { event.preventDefault(); ask(); });
  // Ctrl/Cmd+Enter in the question box asks, as in the compose box.
  const box = form.querySelector("textarea");
  if (box) box.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); form.requestSubmit(); }
  });
  // Tapping a chip's excerpt (phones have no hover) shows it whole.
  region.addEventListener("click", (event) => {
    const excerpt = event.target.closest && event.target.closest(".cite-excerpt");
    if (excerpt) excerpt.parentElement.classList.toggle("open");
  });
  if (form.hasAttribute("data-autostart")) ask();
})();
