(function () {
  "use strict";

  // Sortable tables: a click on a column title sorts by it; numbers as numbers, "-" last.
  function sortValue(row, index) {
    var cell = row.cells[index];
    var text = cell ? cell.textContent.trim() : "";
    var number = parseFloat(text.replace(/^#/, ""));
    return isNaN(number) ? text.toLowerCase() : number;
  }

  function compare(a, b) {
    var aNumber = typeof a === "number";
    var bNumber = typeof b === "number";
    if (aNumber && bNumber) { return a - b; }
    if (aNumber !== bNumber) { return aNumber ? -1 : 1; }
    return a < b ? -1 : (a > b ? 1 : 0);
  }

  function makeSortable(table) {
    var headers = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(headers, function (header, index) {
      header.addEventListener("click", function () {
        var ascending = header.getAttribute("data-order") !== "asc";
        Array.prototype.forEach.call(headers, function (h) { h.removeAttribute("data-order"); });
        header.setAttribute("data-order", ascending ? "asc" : "desc");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var result = compare(sortValue(a, index), sortValue(b, index));
          return ascending ? result : -result;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  }

  document.querySelectorAll(".markdown table").forEach(function (table) {
    table.classList.add("sortable");
  });
  document.querySelectorAll("table.sortable").forEach(makeSortable);

  // The video browser: one video shown at a time, its strips moved to the chosen frame.
  var picker = document.getElementById("video-picker");
  if (!picker) { return; }
  var slider = document.getElementById("frame-slider");
  var label = document.getElementById("frame-label");
  var button = document.getElementById("play");
  var current = null;
  var frames = [];
  var position = 0;
  var timer = null;

  function draw() {
    current.querySelectorAll(".strip").forEach(function (strip) {
      var height = parseInt(strip.getAttribute("data-height"), 10);
      strip.style.backgroundPosition = "0 " + (-position * height) + "px";
    });
    slider.value = String(position);
    label.textContent = "frame " + frames[position] + " (" + (position + 1) + " of " + frames.length + " shown)";
  }

  function choose(id) {
    document.querySelectorAll(".video").forEach(function (video) {
      var chosen = video.getAttribute("data-video") === id;
      video.hidden = !chosen;
      if (chosen) { current = video; }
    });
    frames = current.getAttribute("data-frames").split(",");
    position = 0;
    slider.max = String(frames.length - 1);
    draw();
  }

  function stop() {
    if (timer !== null) { window.clearInterval(timer); timer = null; }
    button.textContent = "Play";
  }

  var zoom = document.getElementById("zoom");
  function applyZoom() {
    document.querySelectorAll(".strip").forEach(function (strip) { strip.style.zoom = zoom.value; });
  }

  picker.addEventListener("change", function () { stop(); choose(picker.value); });
  zoom.addEventListener("change", applyZoom);
  slider.addEventListener("input", function () { stop(); position = parseInt(slider.value, 10); draw(); });
  button.addEventListener("click", function () {
    if (timer !== null) { stop(); return; }
    button.textContent = "Pause";
    timer = window.setInterval(function () {
      position = (position + 1) % frames.length;
      draw();
    }, 400);
  });
  applyZoom();
  choose(picker.value);
}());
