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
