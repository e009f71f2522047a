// berth console: live pages. A page whose <main> has data-live polls that
// URL for the version of what it shows; when the version changes, it
// fetches the page again and swaps in its <main>. A refusal (signed out,
// gone) reloads the page, so that the person sees why.
"use strict";
(function () {
  var period = 2000;
  var busy = false;
  function main() { return document.querySelector("main[data-live]"); }
  async function poll() {
    var m = main();
    if (!m) { clearInterval(timer); return; }
    if (busy || document.hidden) { return; }
    busy = true;
    try {
      var r = await fetch(m.dataset.live, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } });
      if (!r.ok) { location.reload(); return; }
      var state = await r.json();
      if (state.version === m.dataset.version) { return; }
      var page = await fetch(location.href, { credentials: "same-origin", cache: "no-store" });
      if (!page.ok) { location.reload(); return; }
      var fresh = new DOMParser().parseFromString(await page.text(), "text/html").querySelector("main");
      if (!fresh) { location.reload(); return; }
      m.replaceWith(document.importNode(fresh, true));
    } catch (e) {
      // berthd unreachable for a moment: try again at the next tick.
    } finally {
      busy = false;
    }
  }
  var timer = setInterval(poll, period);
})();
