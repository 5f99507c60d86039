// Hearth's one script. Every page works without it; it makes chat live:
// - the composer sends on Enter (Shift+Enter starts a new line) without reloading the page,
//   and "Edit" opens a message's text in place; files dropped on the composer or pasted
//   into it are attached like those chosen with its file button;
// - the channel and thread pages hold the websocket: new, edited and deleted messages (or
//   replies) appear in place,
//   in id order, once, rendered by the server (the script only fetches and places them);
// - it reconnects by itself with a growing delay, and after any break (or a "resync" frame)
//   refills the list from the server, so nothing missed stays missing;
// - other channels in the sidebar count what arrives while you are away from them, from the
//   server's counts, and the server hears how far you have read this one.
"use strict";

(() => {
  const list = document.querySelector("ol.messages[data-channel]");
  const composer = document.querySelector("form.composer");

  // Enter sends; Shift+Enter (or an input method composing) does not.
  document.addEventListener("keydown", (event) => {
    const field = event.target;
    if (!(field instanceof HTMLTextAreaElement) || field.form !== composer) return;
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      const files = composer.querySelector("input[type=file]");
      if (field.value.trim() !== "" || files?.files.length) composer.requestSubmit();
    }
  });

  // Show times in the reader's own time zone.
  const localTimes = (root) => {
    for (const time of root.querySelectorAll("time[datetime]")) {
      const at = new Date(time.getAttribute("datetime"));
      if (!Number.isNaN(at.getTime())) {
        time.textContent = at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
        time.title = at.toLocaleString();
      }
    }
  };
  localTimes(document);

  if (!list || !composer) return;
  const channel = list.dataset.channel;

  // Ids are decimal strings beyond JavaScript's exact integers: compare them as strings.
  const before = (a, b) => a.length < b.length || (a.length === b.length && a < b);

  const parse = (html) => {
    const template = document.createElement("template");
    template.innerHTML = html;
    return template.content;
  };

  // Puts a server-rendered message in its place: replacing the one with its id, or inserted
  // in id order.
  const place = (item) => {
    const id = item.dataset.id;
    const existing = list.querySelector(`li.message[data-id="${id}"]`);
    if (existing) {
      existing.replaceWith(item);
      return;
    }
    list.querySelector("li.empty")?.remove();
    const later = [...list.querySelectorAll("li.message")].find((li) => before(id, li.dataset.id));
    const stuck = window.innerHeight + window.scrollY >= document.body.scrollHeight - 80;
    list.insertBefore(item, later || null);
    if (stuck && !later) item.scrollIntoView({ block: "end" });
  };

  const fetchText = async (url) => {
    // A fragment answers with a redirect only when the session has ended: then the whole
    // page goes to the sign-in page, rather than the sign-in page into the list.
    const response = await fetch(url, { credentials: "same-origin", redirect: "manual" });
    if (response.type === "opaqueredirect") {
      location.reload();
      return null;
    }
    return response.ok ? response.text() : null;
  };

  const showMessage = async (id) => {
    const html = await fetchText(`${list.dataset.fragment}${id}`);
    if (html === null) return; // not one of this list's messages, or no longer readable
    const item = parse(html).querySelector("li.message");
    if (item) {
      localTimes(item);
      place(item);
      markRead();
    }
  };

  // After a break: the server's newest page replaces what is shown.
  const refill = async () => {
    const html = await fetchText(list.dataset.latest);
    if (html === null) return;
    const fresh = parse(html);
    localTimes(fresh);
    list.replaceChildren(fresh);
  };

  // Other channels' badges start from the server's counts and grow as messages arrive.
  const countUnread = (otherChannel) => {
    const link = document.querySelector(`.sidebar a[href="/channels/${otherChannel}"]`);
    if (!link) return;
    let badge = link.querySelector(".unread");
    if (!badge) {
      badge = document.createElement("span");
      badge.className = "unread";
      link.append(badge);
    }
    const shown = badge.textContent;
    if (shown === "99+") return;
    const count = (Number.parseInt(shown, 10) || 0) + 1;
    badge.textContent = count > 99 ? "99+" : String(count);
    badge.setAttribute("aria-label", `${badge.textContent} unread`);
  };

  // Tells the server how far the reader has seen, while the page is in view.
  const token = composer.querySelector("input[name=form_token]")?.value;
  let readTimer = null;
  const markRead = () => {
    if (document.visibilityState !== "visible" || !token) return;
    clearTimeout(readTimer);
    readTimer = setTimeout(() => {
      const items = list.querySelectorAll("li.message");
      const last = items[items.length - 1]?.dataset.id;
      if (!last) return;
      if (!list.dataset.fragment.startsWith("/channels/")) return;
      fetch(`/channels/${channel}/read`, {
        method: "POST",
        body: new URLSearchParams({ form_token: token, up_to: last }),
        credentials: "same-origin",
        redirect: "manual",
      }).catch(() => {});
    }, 500);
  };
  document.addEventListener("visibilitychange", markRead);

  let delay = 500;
  let connectedBefore = false;
  const connect = () => {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(`${scheme}${location.host}/api/v1/ws`);
    socket.addEventListener("message", (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (frame.type === "hello") {
        delay = 500;
        document.body.dataset.live = "connected";
        // Whatever happened while we were away is fetched afresh.
        if (connectedBefore) refill();
        connectedBefore = true;
      } else if (frame.type === "resync") {
        refill();
      } else if (frame.channel_id === channel && frame.message_id) {
        showMessage(frame.message_id);
      } else if (frame.type === "message.posted" && frame.channel_id) {
        countUnread(frame.channel_id);
      }
    });
    socket.addEventListener("close", () => {
      document.body.dataset.live = "reconnecting";
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    });
  };
  connect();

  // Edit in place: "Edit" opens the message's own text in a box where it stands (Enter saves,
  // Escape cancels); the saved message comes back through the websocket like any edit.
  list.addEventListener("click", async (event) => {
    const link = event.target instanceof Element && event.target.closest("a[href$='/edit']");
    if (!link || !list.contains(link)) return;
    const item = link.closest("li.message");
    const body = item?.querySelector(".body");
    if (!item || !body || item.querySelector("form.inline-edit")) return;
    event.preventDefault();
    const page = await fetchText(link.getAttribute("href"));
    const source = page === null ? null : parse(page).querySelector("textarea#body");
    if (!source) {
      location.href = link.href;
      return;
    }
    const form = document.createElement("form");
    form.className = "inline-edit";
    form.method = "post";
    form.action = link.getAttribute("href");
    const label = document.createElement("label");
    label.className = "visually-hidden";
    label.htmlFor = `edit-${item.dataset.id}`;
    label.textContent = "Edit message";
    const field = document.createElement("textarea");
    field.id = `edit-${item.dataset.id}`;
    field.name = "body";
    field.rows = 3;
    field.required = true;
    field.value = source.value;
    const save = document.createElement("button");
    save.type = "submit";
    save.className = "primary";
    save.textContent = "Save";
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.textContent = "Cancel";
    form.append(label, field, save, cancel);
    body.hidden = true;
    body.after(form);
    field.focus();
    const close = () => {
      form.remove();
      body.hidden = false;
    };
    cancel.addEventListener("click", close);
    field.addEventListener("keydown", (key) => {
      if (key.key === "Escape") close();
      if (key.key === "Enter" && !key.shiftKey && !key.isComposing) {
        key.preventDefault();
        form.requestSubmit();
      }
    });
    form.addEventListener("submit", async (submit) => {
      submit.preventDefault();
      const response = await fetch(form.action, {
        method: "POST",
        body: new URLSearchParams({ form_token: token, body: field.value }),
        credentials: "same-origin",
      }).catch(() => null);
      if (response?.ok) {
        close();
        showMessage(item.dataset.id);
      } else {
        location.href = link.href;
      }
    });
  });

  // Files dropped on the composer, or pasted into it, join those chosen with the button.
  const fileInput = composer.querySelector("input[type=file]");
  const addFiles = (added) => {
    if (!fileInput || !added || added.length === 0) return false;
    const all = new DataTransfer();
    for (const file of fileInput.files) all.items.add(file);
    for (const file of added) all.items.add(file);
    fileInput.files = all.files;
    return true;
  };
  composer.addEventListener("dragover", (event) => {
    if (!event.dataTransfer?.types.includes("Files")) return;
    event.preventDefault();
    composer.classList.add("dropping");
  });
  composer.addEventListener("dragleave", () => composer.classList.remove("dropping"));
  composer.addEventListener("drop", (event) => {
    composer.classList.remove("dropping");
    if (addFiles(event.dataTransfer?.files)) event.preventDefault();
  });
  composer.addEventListener("paste", (event) => {
    if (addFiles(event.clipboardData?.files)) event.preventDefault();
  });

  // Send without reloading: the message comes back through the websocket like anyone's.
  composer.addEventListener("submit", async (event) => {
    event.preventDefault();
    const field = composer.querySelector("textarea");
    let response = null;
    try {
      response = await fetch(composer.action, {
        method: "POST",
        // With files, as the page's own form sends them; else as plain fields.
        body: fileInput ? new FormData(composer) : new URLSearchParams(new FormData(composer)),
        credentials: "same-origin",
      });
    } catch {
      response = null;
    }
    if (response?.ok) {
      field.value = "";
      const files = composer.querySelector("input[type=file]");
      if (files) files.value = "";
      composer.parentElement.querySelector(".error")?.remove();
      field.focus();
    } else {
      // Let the server's page say what was wrong, as it does without the script.
      composer.submit();
    }
  });
})();
