// Draws the dashboard's charts from the numbers the page embeds (#chart-data) with Chart.js,
// served from static/vendor (./kb setup fetches it). Without it the tables still show.
(function () {
  "use strict";
  if (typeof Chart === "undefined") return;
  const data = JSON.parse(document.getElementById("chart-data").textContent);
  const colours = { generated: "#0969da", curated: "#1a7f37", cached: "#54aeff", refused: "#cf222e", passages: "#bf8700", quoted: "#8250df" };
  const kinds = Object.keys(colours);
  Chart.defaults.font.size = 12;
  Chart.defaults.animation = false;

  new Chart(document.getElementById("chart-per-day"), {
    type: "bar",
    data: {
      labels: data.per_day.map((d) => d.day),
      datasets: kinds.map((k) => ({ label: k, data: data.per_day.map((d) => d[k]), backgroundColor: colours[k] })),
    },
    options: { responsive: true, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } },
  });
  new Chart(document.getElementById("chart-kinds"), {
    type: "doughnut",
    data: { labels: kinds, datasets: [{ data: kinds.map((k) => data.kinds[k] || 0), backgroundColor: kinds.map((k) => colours[k]) }] },
    options: { plugins: { legend: { position: "right" } } },
  });
  new Chart(document.getElementById("chart-feedback"), {
    type: "bar",
    data: {
      labels: data.feedback.map((r) => r.kind),
      datasets: [
        { label: "helpful", data: data.feedback.map((r) => r.up), backgroundColor: "#1a7f37" },
        { label: "not helpful", data: data.feedback.map((r) => r.down), backgroundColor: "#cf222e" },
      ],
    },
    options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } },
  });
  new Chart(document.getElementById("chart-ttft"), {
    type: "bar",
    data: {
      labels: data.ttft.map((r) => r.kind),
      datasets: [
        { label: "p50", data: data.ttft.map((r) => r.p50), backgroundColor: "#54aeff" },
        { label: "p95", data: data.ttft.map((r) => r.p95), backgroundColor: "#0969da" },
      ],
    },
    options: { scales: { y: { beginAtZero: true, title: { display: true, text: "ms" } } } },
  });
  new Chart(document.getElementById("chart-cited"), {
    type: "bar",
    data: {
      labels: data.most_cited.map((d) => d.title.length > 24 ? d.title.slice(0, 23) + "…" : d.title),
      datasets: [{ label: "answers citing it", data: data.most_cited.map((d) => d.answers), backgroundColor: "#0969da" }],
    },
    options: { indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
  window.__chartsDrawn = true;
})();
