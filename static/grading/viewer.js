// Grader workspace: zoom (slider or wheel), pan (drag), brightness and contrast for the OD and OS
// images side by side, optionally linked; and showing only the fields of each eye's status.
(function () {
  "use strict";
  var viewer = document.querySelector("[data-viewer]");
  if (viewer) {
    var controls = viewer.querySelector("[data-viewer-controls]");
    var input = function (name) { return controls.querySelector('[data-control="' + name + '"]'); };
    var eyes = Array.prototype.map.call(viewer.querySelectorAll("[data-eye-viewer]"), function (el) {
      return {el: el, stage: el.querySelector("[data-stage]"), zoom: 1, x: 0, y: 0, brightness: 1, contrast: 1};
    });
    var active = eyes[0];
    function targets(eye) { return input("link").checked ? eyes : [eye || active]; }
    function draw(eye) {
      eye.stage.querySelectorAll("img").forEach(function (img) {
        img.style.transform = "translate(calc(-50% + " + eye.x + "px), calc(-50% + " + eye.y + "px)) scale(" + eye.zoom + ")";
        img.style.filter = "brightness(" + eye.brightness + ") contrast(" + eye.contrast + ")";
      });
    }
    function set(prop, value, eye) {
      targets(eye).forEach(function (e) { e[prop] = value; if (prop === "zoom" && value === 1) { e.x = 0; e.y = 0; } draw(e); });
    }
    ["zoom", "brightness", "contrast"].forEach(function (name) {
      input(name).addEventListener("input", function () { set(name, parseFloat(this.value)); });
    });
    input("reset").addEventListener("click", function () {
      eyes.forEach(function (e) { e.zoom = 1; e.x = 0; e.y = 0; e.brightness = 1; e.contrast = 1; draw(e); });
      input("zoom").value = 1; input("brightness").value = 1; input("contrast").value = 1;
    });
    eyes.forEach(function (eye) {
      draw(eye);
      eye.el.addEventListener("pointerdown", function () { active = eye; });
      eye.stage.addEventListener("wheel", function (event) {
        event.preventDefault();
        var zoom = Math.min(6, Math.max(1, eye.zoom * (event.deltaY < 0 ? 1.1 : 0.9)));
        input("zoom").value = zoom; set("zoom", zoom, eye);
      }, {passive: false});
      var start = null;
      eye.stage.addEventListener("pointerdown", function (event) {
        start = {x: event.clientX, y: event.clientY};
        eye.stage.classList.add("iris-panning");
        eye.stage.setPointerCapture(event.pointerId);
      });
      eye.stage.addEventListener("pointermove", function (event) {
        if (!start) return;
        var dx = event.clientX - start.x, dy = event.clientY - start.y;
        start = {x: event.clientX, y: event.clientY};
        targets(eye).forEach(function (e) { e.x += dx; e.y += dy; draw(e); });
      });
      eye.stage.addEventListener("pointerup", function () { start = null; eye.stage.classList.remove("iris-panning"); });
      eye.el.querySelectorAll("[data-show]").forEach(function (button) {
        button.addEventListener("click", function () {
          eye.stage.querySelectorAll("[data-image]").forEach(function (img) {
            img.hidden = img.getAttribute("data-image") !== button.getAttribute("data-show");
          });
        });
      });
    });
  }
  document.querySelectorAll("[data-grading-form]").forEach(function (form) { form.classList.add("iris-js"); });
  document.querySelectorAll("[data-grading-form] fieldset[data-eye]").forEach(function (fieldset) {
    function sync() {
      var checked = fieldset.querySelector("[data-status]:checked");
      fieldset.setAttribute("data-status-value", checked ? checked.value : "");
    }
    fieldset.querySelectorAll("[data-status]").forEach(function (radio) { radio.addEventListener("change", sync); });
    sync();
  });
})();
