// Reload the document list every few seconds while an upload is queued or processing,
// so admins see status and progress move without pressing F5 (not while rows are ticked).
(function () {
  var busy = '.kb-status[data-status="queued"], .kb-status[data-status="processing"]';
  function tick() {
    if (!document.querySelector(busy)) return;
    if (document.querySelector("input.action-select:checked")) { setTimeout(tick, 3000); return; }
    location.reload();
  }
  setTimeout(tick, 3000);
})();
