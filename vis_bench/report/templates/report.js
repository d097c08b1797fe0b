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

  // The video browser: one video shown at a time. Its frames are one strip shared by the
  // columns, each track a transparent strip laid over them; all are moved to the chosen frame.
  // Captions, headers and timelines are drawn here from the video's data, so the captions can be
  // hidden and one ground-truth track shown alone (with its matches and misses).
  var picker = document.getElementById("video-picker");
  if (!picker) { return; }
  var slider = document.getElementById("frame-slider");
  var label = document.getElementById("frame-label");
  var button = document.getElementById("play");
  var labels = document.getElementById("show-labels");
  var trackPicker = document.getElementById("track-picker");
  var zoom = document.getElementById("zoom");
  var current = null;
  var data = null;
  var frames = [];
  var position = 0;
  var timer = null;

  function ink(colour) {
    var r = parseInt(colour.substr(1, 2), 16), g = parseInt(colour.substr(3, 2), 16), b = parseInt(colour.substr(5, 2), 16);
    return 0.299 * r + 0.587 * g + 0.114 * b > 140 ? "#000" : "#fff";
  }

  function chosenSlot() { return trackPicker.value; }

  function shows(slot) {
    var wanted = chosenSlot();
    return wanted === "" || String(slot) === wanted;
  }

  function drawColumn(figure, column) {
    var height = parseInt(current.getAttribute("data-height"), 10);
    figure.querySelectorAll(".layer").forEach(function (layer) {
      layer.style.backgroundPosition = "0 " + (-position * height) + "px";
      if (layer.classList.contains("track")) {
        layer.classList.toggle("hidden", !shows(layer.getAttribute("data-slot")));
      }
    });
    var status = figure.querySelector(".status");
    status.textContent = "";
    column.status[position].forEach(function (item, index) {
      var span = document.createElement("span");
      span.textContent = item[0];
      if (index > 0) { span.className = "key"; span.style.background = item[1]; span.style.color = ink(item[1]); }
      status.appendChild(span);
    });
    var captions = figure.querySelector(".captions");
    captions.textContent = "";
    if (labels.checked) {
      column.captions[position].forEach(function (caption) {
        if (!shows(caption.slot === null ? "" : caption.slot)) { return; }
        var span = document.createElement("span");
        span.textContent = caption.text;
        span.style.left = caption.x + "px";
        span.style.top = caption.y + "px";
        span.style.background = caption.bg;
        span.style.color = caption.fg;
        captions.appendChild(span);
      });
    }
    figure.querySelectorAll(".timeline span").forEach(function (cell, index) {
      cell.classList.toggle("current", index === parseInt(frames[position], 10));
    });
  }

  function draw() {
    current.querySelectorAll(".panel").forEach(function (figure) {
      drawColumn(figure, data.columns[parseInt(figure.getAttribute("data-column"), 10)]);
    });
    slider.value = String(position);
    label.textContent = "frame " + frames[position] + " (" + (position + 1) + " of " + frames.length + " shown)";
  }

  function buildTimelines() {
    current.querySelectorAll(".panel").forEach(function (figure) {
      var column = data.columns[parseInt(figure.getAttribute("data-column"), 10)];
      var line = figure.querySelector(".timeline");
      if (line.childElementCount) { return; }
      column.timeline.forEach(function (colour, index) {
        var cell = document.createElement("span");
        cell.style.background = colour;
        if (frames.indexOf(String(index)) >= 0) { cell.classList.add("shown"); }
        line.appendChild(cell);
      });
    });
  }

  function fillTracks() {
    trackPicker.textContent = "";
    var all = document.createElement("option");
    all.value = "";
    all.textContent = "all tracks";
    trackPicker.appendChild(all);
    data.tracks.forEach(function (track) {
      var option = document.createElement("option");
      option.value = String(track[0]);
      option.textContent = track[1];
      trackPicker.appendChild(option);
    });
  }

  function choose(id) {
    document.querySelectorAll(".video").forEach(function (video) {
      var chosen = video.getAttribute("data-video") === id;
      video.hidden = !chosen;
      if (chosen) { current = video; }
    });
    data = JSON.parse(current.querySelector(".video-data").textContent);
    frames = current.getAttribute("data-frames").split(",");
    position = 0;
    slider.max = String(frames.length - 1);
    fillTracks();
    buildTimelines();
    draw();
  }

  function stop() {
    if (timer !== null) { window.clearInterval(timer); timer = null; }
    button.textContent = "Play";
  }

  function applyZoom() {
    document.querySelectorAll(".panel").forEach(function (panel) { panel.style.zoom = zoom.value; });
  }

  picker.addEventListener("change", function () { stop(); choose(picker.value); });
  zoom.addEventListener("change", applyZoom);
  labels.addEventListener("change", draw);
  trackPicker.addEventListener("change", draw);
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
