// The admin's upload page: a folder, chosen or dropped, keeps each file's path inside it
// (browsers send a folder's files by name only), sent as JSON in the hidden folder_paths field
// in the order of the files. A dropped folder is walked with the File and Directory Entries API.
(function () {
  "use strict";
  const form = document.querySelector("form[data-upload]");
  if (!form) return;
  const folder = form.querySelector('input[name="folder"]');
  const paths = form.querySelector('input[name="folder_paths"]');
  const zone = document.getElementById("drop-zone");
  const chosen = document.getElementById("drop-chosen");

  function show(items) {
    const names = items.slice(0, 8).map((item) => item.path).join(", ");
    chosen.textContent = items.length + " file(s): " + names + (items.length > 8 ? ", …" : "");
  }

  folder.addEventListener("change", () => {
    const items = Array.from(folder.files).map((file) => ({ file, path: file.webkitRelativePath || file.name }));
    paths.value = JSON.stringify(items.map((item) => item.path));
    show(items);
  });

  // readEntries returns a folder's entries in batches, until an empty one.
  function entriesOf(directory) {
    const reader = directory.createReader();
    return new Promise((resolve, reject) => {
      const all = [];
      const next = () => reader.readEntries((batch) => {
        if (!batch.length) return resolve(all);
        all.push(...batch);
        next();
      }, reject);
      next();
    });
  }

  async function walk(entry, prefix, out) {
    if (entry.name.startsWith(".")) return; // hidden files and folders, as the command line does
    if (entry.isFile) {
      const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
      out.push({ file, path: prefix + entry.name });
    } else if (entry.isDirectory) {
      const children = await entriesOf(entry);
      children.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const child of children) await walk(child, prefix + entry.name + "/", out);
    }
  }

  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", async (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    const entries = Array.from(event.dataTransfer.items)
      .map((item) => (item.webkitGetAsEntry ? item.webkitGetAsEntry() : null))
      .filter(Boolean);
    const items = [];
    for (const entry of entries) await walk(entry, "", items);
    const transfer = new DataTransfer();
    for (const item of items) transfer.items.add(item.file);
    folder.files = transfer.files;
    paths.value = JSON.stringify(items.map((item) => item.path));
    show(items);
  });
})();
