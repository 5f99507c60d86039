// Hearth's one script. Every page works without it; it only makes the composer send on Enter
// (Shift+Enter starts a new line).
"use strict";

document.addEventListener("keydown", (event) => {
  const field = event.target;
  if (!(field instanceof HTMLTextAreaElement) || !field.form) return;
  if (!field.form.classList.contains("composer")) return;
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    if (field.value.trim() !== "") field.form.requestSubmit();
  }
});
