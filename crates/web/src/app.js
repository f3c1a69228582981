// paperboy's only script: votes toggle in place. Without it every form still works.
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!form.matches("form.vote")) return;
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
    const vote = await response.json();
    form.querySelector("input[name=up]").value = vote.voted ? "0" : "1";
    form.querySelector(".n").textContent = vote.upvotes;
    button.setAttribute("aria-pressed", String(vote.voted));
    button.title = vote.voted ? "Remove your upvote" : "Upvote";
  } catch (e) {
    form.submit(); // the full page says what went wrong
  } finally {
    button.disabled = false;
  }
});
