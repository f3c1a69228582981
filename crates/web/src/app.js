// paperboy's only script: votes and saves toggle in place. Without it every form still works.
const toggles = {
  "form.vote": (form, state) => {
    const button = form.querySelector("button");
    form.querySelector("input[name=up]").value = state.voted ? "0" : "1";
    form.querySelector(".n").textContent = state.upvotes;
    button.setAttribute("aria-pressed", String(state.voted));
    button.title = state.voted ? "Remove your upvote" : "Upvote";
  },
  "form.save": (form, state) => {
    const button = form.querySelector("button");
    form.querySelector("input[name=save]").value = state.saved ? "0" : "1";
    button.setAttribute("aria-pressed", String(state.saved));
    button.textContent = state.saved ? "Saved" : "Save";
    button.title = state.saved ? "Remove from your library" : "Save to your library";
  },
};

document.addEventListener("submit", async (event) => {
  const form = event.target;
  const kind = Object.keys(toggles).find((selector) => form.matches(selector));
  if (!kind) return;
  event.preventDefault();
  const button = form.querySelector("button");
  button.disabled = true;
  try {
    const response = await fetch(form.action, {
      method: "POST",
      headers: { Accept: "application/json" },
      body: new URLSearchParams(new FormData(form)),
    });
    if (!response.ok) throw new Error(String(response.status));
    toggles[kind](form, await response.json());
  } catch (e) {
    form.submit(); // the full page says what went wrong
  } finally {
    button.disabled = false;
  }
});

// "Not interested" and "Fewer like this" on /for-you: the entry folds away in place, with an
// Undo button that takes the mark off. Without the script the form goes round the server,
// whose page offers the same undo.
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!form.matches("form.mark")) return;
  const entry = form.closest("li.entry");
  if (!entry) return; // on /account the round trip redraws the list
  event.preventDefault();
  const body = new URLSearchParams(new FormData(form));
  try {
    const response = await fetch(form.action, {
      method: "POST",
      headers: { Accept: "application/json" },
      body,
    });
    if (!response.ok) throw new Error(String(response.status));
    const state = await response.json();
    if (state.mark) {
      entry.classList.add("dismissed");
      const undo = form.cloneNode(true);
      undo.classList.add("undo");
      undo.querySelector("input[name=mark]").value = "none";
      const button = undo.querySelector("button");
      button.textContent = "Undo";
      const note = document.createElement("span");
      note.className = "muted";
      note.setAttribute("role", "status");
      note.textContent = state.mark === "fewer" ? "Fewer like this. " : "Not interested. ";
      const marks = form.closest(".marks");
      marks.dataset.was = marks.innerHTML;
      marks.replaceChildren(note, undo);
      button.focus();
    } else {
      const marks = form.closest(".marks");
      entry.classList.remove("dismissed");
      marks.innerHTML = marks.dataset.was || "";
      delete marks.dataset.was;
    }
  } catch (e) {
    form.submit();
  }
});
