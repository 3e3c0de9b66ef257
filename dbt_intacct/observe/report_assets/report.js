// Filtering and expanding only: the page is complete without this script (every section is a <details>).
(function () {
  "use strict";
  var query = document.getElementById("filter");
  var problemsOnly = document.getElementById("problems-only");
  var runs = Array.prototype.slice.call(document.querySelectorAll("section.run"));
  var overview = Array.prototype.slice.call(document.querySelectorAll("tr[data-run]"));
  function apply() {
    var text = query.value.trim().toLowerCase();
    var shown = {};
    runs.forEach(function (section) {
      var matches = (!text || section.getAttribute("data-search").indexOf(text) !== -1) &&
        (!problemsOnly.checked || section.getAttribute("data-problems") === "1");
      section.classList.toggle("hidden", !matches);
      shown[section.id] = matches;
    });
    overview.forEach(function (row) { row.classList.toggle("hidden", !shown[row.getAttribute("data-run")]); });
  }
  function setOpen(open) {
    document.querySelectorAll("section.run > details").forEach(function (d) { d.open = open; });
  }
  query.addEventListener("input", apply);
  problemsOnly.addEventListener("change", apply);
  document.getElementById("expand-all").addEventListener("click", function () { setOpen(true); });
  document.getElementById("collapse-all").addEventListener("click", function () { setOpen(false); });
  // A link from the overview opens the run it points at.
  overview.forEach(function (row) {
    var link = row.querySelector("a");
    link.addEventListener("click", function () {
      var target = document.getElementById(row.getAttribute("data-run"));
      target.querySelector("details").open = true;
    });
  });
})();
