// oauthscope: exchange and login pages.
"use strict";
(() => {
  const btn = document.getElementById("copy-curl");
  const pre = document.getElementById("curl");
  if (btn && pre) {
    btn.addEventListener("click", async () => {
      const text = pre.textContent;
      const said = document.getElementById("copied");
      try {
        await navigator.clipboard.writeText(text);
        said.textContent = "copied";
      } catch (e) {
        pre.hidden = false;
        const r = document.createRange();
        r.selectNodeContents(pre);
        const s = window.getSelection();
        s.removeAllRanges();
        s.addRange(r);
        said.textContent = "selected: press Ctrl-C";
      }
    });
  }
  // Each expected/actual box scrolls (as a whole) so its caret is in view.
  for (const box of document.querySelectorAll("pre.diffbox")) {
    const caret = box.querySelector(".caret");
    if (!caret) continue;
    const over = caret.offsetLeft + 40 - box.clientWidth;
    if (over > 0) box.scrollLeft = over;
  }
  document.addEventListener("keydown", (e) => {
    if (e.target instanceof Element && e.target.closest("input, textarea, select")) return;
    if (e.key === "Escape" || e.key === "Backspace" || e.key === "u") location.href = "/";
  });
})();
