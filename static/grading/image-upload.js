// Image upload: drag and drop several files, choose the eye and image context per file, see
// thumbnails, upload them in one request and show the per-file outcome. Plain JS, no CDN.
(function () {
  "use strict";
  function setup(form) {
    var input = form.querySelector("[data-file-input]");
    var zone = form.querySelector("[data-dropzone]");
    var table = form.querySelector("[data-file-table]");
    var body = table.querySelector("tbody");
    var template = form.querySelector("[data-row-template]");
    var files = [];
    form.querySelector("[data-nojs-fields]").hidden = true;

    function guessEye(name) {
      var n = name.toUpperCase();
      if (/(^|[^A-Z])(OD|RIGHT|R)([^A-Z]|$)/.test(n)) return "OD";
      if (/(^|[^A-Z])(OS|LEFT|L)([^A-Z]|$)/.test(n)) return "OS";
      return "OD";
    }
    function add(list) {
      Array.prototype.forEach.call(list, function (file) {
        if (!/^image\/(jpeg|png)$/.test(file.type)) return;
        var row = template.content.firstElementChild.cloneNode(true);
        row.querySelector("img").src = URL.createObjectURL(file);
        row.querySelector("[data-name]").textContent = file.name;
        row.querySelector("[data-laterality]").value = guessEye(file.name);
        body.appendChild(row);
        files.push({file: file, row: row});
      });
      table.hidden = files.length === 0;
    }
    input.addEventListener("change", function () { add(input.files); input.value = ""; });
    ["dragenter", "dragover"].forEach(function (type) {
      zone.addEventListener(type, function (event) { event.preventDefault(); zone.classList.add("iris-drag"); });
    });
    ["dragleave", "drop"].forEach(function (type) {
      zone.addEventListener(type, function () { zone.classList.remove("iris-drag"); });
    });
    zone.addEventListener("drop", function (event) { event.preventDefault(); add(event.dataTransfer.files); });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!files.length) return;
      var data = new FormData();
      data.append("csrfmiddlewaretoken", form.querySelector("[name=csrfmiddlewaretoken]").value);
      files.forEach(function (item) {
        data.append("file", item.file);
        data.append("laterality", item.row.querySelector("[data-laterality]").value);
        data.append("image_context", item.row.querySelector("[data-context]").value);
      });
      fetch(form.action, {method: "POST", body: data, headers: {"Accept": "application/json"}, credentials: "same-origin"})
        .then(function (response) { return response.json(); })
        .then(function (payload) {
          payload.results.forEach(function (result, index) {
            var cell = files[index] && files[index].row.querySelector("[data-status]");
            if (!cell) return;
            cell.textContent = result.success ? "attached" : result.error;
            cell.className = "small " + (result.success ? "text-success" : "text-danger");
          });
          files = files.filter(function (item, index) { return !payload.results[index].success; });
        });
    });
  }
  document.querySelectorAll("[data-iris-upload]").forEach(setup);
})();
