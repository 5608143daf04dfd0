// Report template editor: ask before dropping a template (buttons with data-confirm). The live
// preview itself is plain htmx (hx-post on the textarea); the CSRF token travels in the form.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-confirm]");
  if (button && !window.confirm(button.getAttribute("data-confirm"))) {
    event.preventDefault();
  }
});
