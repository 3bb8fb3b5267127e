// The supervisor dashboard's charts, drawn with Chart.js from the JSON block the page embeds.
// Every chart has a table of its numbers in the page, so nothing is lost without this script.
(function () {
  "use strict";
  var el = document.getElementById("dash-data");
  if (!el || typeof Chart === "undefined") {
    return;
  }
  var data = JSON.parse(el.textContent);
  var muted = "#535b6b", grid = "#e3e6ec";
  var blue = "#1f5fbf", green = "#1b7f4b", amber = "#b26b00";
  Chart.defaults.color = muted;
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.maintainAspectRatio = false;
  var reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  if (reduceMotion) {
    Chart.defaults.animation = false;
  }
  var axes = function (extra) {
    var y = Object.assign({ beginAtZero: true, grid: { color: grid }, ticks: { precision: 0 } }, extra || {});
    return { x: { grid: { display: false } }, y: y };
  };
  // Day labels: "2026-11-23" is shown as "11-23" to keep the axis readable.
  var days = (data.days || []).map(function (d) { return d.slice(5); });

  window.dashCharts = [];
  var draw = function (id, config) {
    var canvas = document.getElementById(id);
    if (canvas) {
      window.dashCharts.push(new Chart(canvas, config));
    }
  };

  draw("dash-volume", {
    type: "bar",
    data: {
      labels: days,
      datasets: [
        { label: data.labels.created, data: data.created, backgroundColor: blue },
        { label: data.labels.solved, data: data.solved, backgroundColor: green }
      ]
    },
    options: { scales: axes(), interaction: { mode: "index", intersect: false } }
  });

  draw("dash-frt", {
    type: "bar",
    data: {
      labels: data.buckets,
      datasets: [{ label: data.labels.first_response, data: data.first_response, backgroundColor: blue }]
    },
    options: { scales: axes(), plugins: { legend: { display: false } } }
  });

  draw("dash-met", {
    type: "line",
    data: {
      labels: days,
      datasets: [{ label: data.labels.met_share, data: data.met_share, borderColor: green, backgroundColor: "rgba(27,127,75,.12)", fill: true, spanGaps: true, tension: 0, pointRadius: 2 }]
    },
    options: {
      scales: axes({ max: 100, ticks: { callback: function (v) { return v + "%"; } } }),
      plugins: { legend: { display: false } }
    }
  });

  draw("dash-tiers", {
    type: "bar",
    data: {
      labels: data.tiers,
      datasets: [
        { label: data.labels.tier_met, data: data.tier_met, backgroundColor: green, yAxisID: "y" },
        { label: data.labels.tier_fr_median, data: data.tier_fr_median, backgroundColor: amber, yAxisID: "y1" }
      ]
    },
    options: {
      scales: {
        x: { grid: { display: false } },
        y: { beginAtZero: true, max: 100, position: "left", grid: { color: grid }, ticks: { callback: function (v) { return v + "%"; } } },
        y1: { beginAtZero: true, position: "right", grid: { display: false }, ticks: { callback: function (v) { return v + "h"; } } }
      }
    }
  });
})();
