// The live dashboard: polls /api/stats once a second, shows the figures, and draws the last
// minute of HTTP requests and context switches per second on a canvas. No libraries.
//
// When the kernel stops answering (halted, stopped in a debugger, the network down), a poll
// fails or hangs: each one gives up after POLL_TIMEOUT_MS, and the badge turns from "live" to
// "stale" (the figures shown are old) until a poll succeeds again.
"use strict";

const POLL_MS = 1000;
const POLL_TIMEOUT_MS = 2500; // a poll not answered by then has failed
const HISTORY = 60; // samples kept for the chart: one minute

const samples = []; // {rps, csps}
let previous = null; // the last /api/stats document, for rates

const $ = (id) => document.getElementById(id);

function setText(id, text) {
  const element = $(id);
  if (element.textContent !== text) element.textContent = text;
}

function formatUptime(ms) {
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n) => String(n).padStart(2, "0");
  return (h > 0 ? h + ":" + pad(m) : String(m)) + ":" + pad(s % 60);
}

function formatBytes(n) {
  const units = ["B", "KiB", "MiB", "GiB"];
  let unit = 0;
  while (n >= 1024 && unit < units.length - 1) {
    n /= 1024;
    unit += 1;
  }
  return (unit === 0 ? n : n.toFixed(1)) + " " + units[unit];
}

const formatCount = (n) => n.toLocaleString("en-US");

function setBar(id, used, total) {
  $(id).style.width = total > 0 ? ((100 * used) / total).toFixed(1) + "%" : "0";
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function fillTable(id, rows) {
  const body = $(id);
  body.replaceChildren(
    ...rows.map((cells) => {
      const tr = document.createElement("tr");
      tr.append(...cells);
      return tr;
    })
  );
}

function showStats(stats) {
  setText("uptime", formatUptime(stats.uptime_ms));

  const sched = stats.scheduler;
  setText("thread-count", formatCount(sched.thread_count));
  setText("context-switches", formatCount(sched.context_switches));
  fillTable(
    "threads",
    sched.threads.map((t) => [
      cell(String(t.id)),
      cell(t.name),
      cell(t.state, "state-" + t.state),
      cell(formatCount(t.ticks), "num"),
    ])
  );

  const mem = stats.memory;
  const framesUsed = mem.frames_total - mem.frames_free;
  setText("frames-text", formatCount(framesUsed) + " / " + formatCount(mem.frames_total) + " used");
  setBar("frames-bar", framesUsed, mem.frames_total);
  setText("heap-text", formatBytes(mem.heap_used_bytes) + " / " + formatBytes(mem.heap_bytes));
  setBar("heap-bar", mem.heap_used_bytes, mem.heap_bytes);

  const nic = stats.nic;
  setText("nic-model", nic.model ? nic.model + " (" + nic.driver + " driver)" : "none");
  setText("nic-mac", nic.mac);
  setText("nic-irq", String(nic.irq));
  setText("nic-address", nic.address || "waiting for DHCP");
  setText("nic-packets", formatCount(nic.rx_packets) + " / " + formatCount(nic.tx_packets));
  setText("nic-bytes", formatBytes(nic.rx_bytes) + " / " + formatBytes(nic.tx_bytes));
  setText("nic-interrupts", formatCount(nic.interrupts));
  setText("nic-sockets", nic.tcp_sockets_used + " of " + nic.tcp_sockets_max);

  const http = stats.http;
  setText("http-requests", formatCount(http.requests));
  setText("http-classes", [http.responses_2xx, http.responses_4xx, http.responses_5xx].map(formatCount).join(" / "));
  setText(
    "http-connections",
    formatCount(http.connections_active) + " open (" + formatCount(http.connections_parked) + " parked), " +
      formatCount(http.connections_accepted) + " total"
  );
  setText("http-rejected", formatCount(http.connections_rejected));
  setText("http-workers", http.workers_busy + " of " + http.workers);
  setText("http-bytes", formatBytes(http.bytes_sent));
}

function recordRates(stats) {
  if (previous && stats.uptime_ms > previous.uptime_ms) {
    const seconds = (stats.uptime_ms - previous.uptime_ms) / 1000;
    const rps = (stats.http.requests - previous.http.requests) / seconds;
    const csps = (stats.scheduler.context_switches - previous.scheduler.context_switches) / seconds;
    samples.push({ rps, csps });
    if (samples.length > HISTORY) samples.shift();
    setText("rps", rps.toFixed(1));
    setText("csps", csps.toFixed(0));
  }
  previous = stats;
}

// Two lines, each scaled to its own maximum (the two rates differ by orders of magnitude).
function drawChart() {
  const canvas = $("chart");
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (canvas.width !== width * ratio) {
    canvas.width = width * ratio;
    canvas.height = height * ratio;
  }
  const g = canvas.getContext("2d");
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);
  const style = getComputedStyle(document.documentElement);
  const pad = 24;

  g.strokeStyle = style.getPropertyValue("--line");
  g.lineWidth = 1;
  for (let i = 0; i <= 4; i += 1) {
    const y = pad + ((height - 2 * pad) * i) / 4;
    g.beginPath();
    g.moveTo(pad, y);
    g.lineTo(width - pad, y);
    g.stroke();
  }
  g.fillStyle = style.getPropertyValue("--muted");
  g.font = "11px ui-monospace, monospace";
  g.fillText("-60 s", pad, height - 6);
  g.fillText("now", width - pad - 20, height - 6);

  const series = [
    ["rps", style.getPropertyValue("--accent")],
    ["csps", style.getPropertyValue("--accent2")],
  ];
  series.forEach(([key, color], index) => {
    const max = Math.max(1, ...samples.map((h) => h[key]));
    g.fillStyle = color;
    g.fillText("max " + max.toFixed(0) + "/s", pad + index * 110, pad - 8);
    g.strokeStyle = color;
    g.lineWidth = 2;
    g.beginPath();
    samples.forEach((sample, i) => {
      const x = width - pad - ((samples.length - 1 - i) * (width - 2 * pad)) / (HISTORY - 1);
      const y = height - pad - (sample[key] / max) * (height - 2 * pad);
      if (i === 0) g.moveTo(x, y);
      else g.lineTo(x, y);
    });
    g.stroke();
  });
}

function setLive(live) {
  const badge = $("live");
  badge.textContent = live ? "live" : "stale";
  badge.className = "badge " + (live ? "live" : "stale");
  badge.title = live ? "" : "the kernel has not answered for a while: the figures are old";
  document.body.classList.toggle("stale", !live);
}

async function poll() {
  const controller = new AbortController();
  const timeout = setTimeout(() => controller.abort(), POLL_TIMEOUT_MS);
  try {
    const response = await fetch("/api/stats", { cache: "no-store", signal: controller.signal });
    if (!response.ok) throw new Error("HTTP " + response.status);
    const stats = await response.json();
    showStats(stats);
    recordRates(stats);
    drawChart();
    setLive(true);
  } catch (error) {
    setLive(false);
  } finally {
    clearTimeout(timeout);
  }
  setTimeout(poll, POLL_MS);
}

// A BAR's size as the boot log prints it: 256, 4K, 16M (sizes are powers of two).
function barSize(size) {
  for (const [unit, suffix] of [[1 << 30, "G"], [1 << 20, "M"], [1 << 10, "K"]]) {
    if (size >= unit && size % unit === 0) return size / unit + suffix;
  }
  return String(size);
}

// One BAR in a few words, as the boot log's BAR lines say it: "BAR0 I/O 0xc000 (256)".
function describeBar(bar) {
  const space = bar.space === "io" ? "I/O" : "mem" + (bar.bits === 64 ? "64" : "");
  return "BAR" + bar.slot + " " + space + " " + bar.address + " (" + barSize(bar.size) + ")";
}

async function loadPci() {
  try {
    const response = await fetch("/api/pci");
    const { devices } = await response.json();
    fillTable(
      "pci",
      devices.map((d) => [
        cell(d.address),
        cell(d.vendor_id + ":" + d.device_id),
        cell(d.class),
        cell(d.irq === null ? "–" : String(d.irq)),
        cell(d.description),
        cell(d.bars.map(describeBar).join(", ") || "–", "pci-bars"),
      ])
    );
  } catch (error) {
    fillTable("pci", [[cell("unavailable")]]);
  }
}

// Points each "docs" link with a data-chapter keyword at the chapter of the book whose file
// name or title mentions it, as listed in the book's table of contents.
async function linkChapters() {
  try {
    const summary = await (await fetch("/docs/SUMMARY.md")).text();
    const chapters = [...summary.matchAll(/\[([^\]]*)\]\(([^)]+\.md)\)/g)];
    for (const link of document.querySelectorAll("a[data-chapter]")) {
      const word = link.dataset.chapter;
      const found = chapters.find(([, title, file]) => (title + " " + file).toLowerCase().includes(word));
      if (found) link.href = "/docs/" + found[2];
    }
  } catch (error) {
    // The links keep pointing at the table of contents.
  }
}

poll();
loadPci();
linkChapters();
window.addEventListener("resize", drawChart);
