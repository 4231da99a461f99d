"""The inline CSS and JavaScript of report.html, and the colour of each verdict.

Kept apart from the markup so that html.py reads as the page's structure. The script never
reads report data from a string (nothing from the server is ever inside <script>): it only
wires the page's own elements (filters, expand/collapse, jump-to-case, copy, mark-to-row).
"""

from __future__ import annotations

from conformance.engine.model import Verdict

__all__ = ["SCRIPT", "STYLE", "VERDICT_COLOURS"]

VERDICT_COLOURS: dict[str, str] = {
    Verdict.PASS.value: "#2e7d32",  # green
    Verdict.NON_STRICT.value: "#e69500",  # amber
    Verdict.FAILED.value: "#c62828",  # red
    Verdict.INFORMATIONAL.value: "#1565c0",  # blue
    Verdict.UNSUPPORTED.value: "#7b7b7b",  # grey
    Verdict.BLOCKED.value: "#a0763c",  # brown: not judged, see the failure it names
    Verdict.ERROR.value: "#6a1b9a",  # purple
}

_VERDICT_RULES = "\n".join(
    f".v-{verdict} {{ --v: {colour}; }}" for verdict, colour in VERDICT_COLOURS.items()
)

STYLE = (
    """
:root { --fg: #1d1f23; --muted: #5f6670; --line: #d9dce1; --bg: #f6f7f9; --card: #fff;
  --sent: #1565c0; --received: #00897b; --v: #9e9e9e;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); }
body { margin: 0; background: var(--bg); }
header, main, footer { max-width: 1180px; margin: 0 auto; padding: 0 20px; }
header { padding-top: 18px; }
h1 { font-size: 22px; margin: 0 0 8px; }
h2 { font-size: 17px; margin: 26px 0 10px; }
h4 { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted);
  margin: 14px 0 6px; }
code, pre { font: 12.5px/1.4 ui-monospace, "SF Mono", Menlo, Consolas, monospace; }
pre { margin: 0; white-space: pre-wrap; word-break: break-word; }
.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 0 0 10px; }
.meta dt { color: var(--muted); }
.meta dd { margin: 0; }
.command { background: #272b33; color: #e8eaed; padding: 8px 12px; border-radius: 6px; }
.summary { display: flex; flex-wrap: wrap; gap: 8px; margin: 14px 0 4px; }
.chip { border: 2px solid var(--v); background: var(--card); color: var(--fg); border-radius: 20px;
  padding: 4px 12px; cursor: pointer; font: inherit; }
.chip b { color: var(--v); font-size: 17px; margin-right: 4px; }
.chip.zero { opacity: .45; }
.chip.active { background: var(--v); color: #fff; }
.chip.active b { color: #fff; }
.chip.all { --v: #444; }
.badge { display: inline-block; background: var(--v); color: #fff; border-radius: 4px;
  padding: 0 6px; font-size: 12px; font-weight: 600; min-width: 92px; text-align: center; }
.matrix { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
  padding: 8px 14px; border-collapse: separate; width: 100%; }
.matrix th { text-align: left; font-weight: 600; padding: 4px 12px 4px 0; white-space: nowrap;
  vertical-align: top; width: 1%; }
.matrix td.count { color: var(--muted); white-space: nowrap; text-align: right; width: 1%; }
.cells { display: flex; flex-wrap: wrap; gap: 3px; padding: 4px 0; }
.cell { display: block; width: 18px; height: 18px; border-radius: 3px; background: var(--v); }
.cell:hover, .cell:focus { outline: 2px solid var(--fg); outline-offset: 1px; }
.legend { display: flex; flex-wrap: wrap; gap: 14px; color: var(--muted); font-size: 12px;
  margin: 6px 0; }
.legend i { display: inline-block; width: 11px; height: 11px; border-radius: 2px;
  background: var(--v); margin-right: 5px; vertical-align: -1px; }
.toolbar { display: flex; gap: 8px; margin-bottom: 8px; }
.toolbar button, .copy { font: inherit; font-size: 12px; border: 1px solid var(--line);
  background: var(--card); border-radius: 4px; padding: 2px 10px; cursor: pointer; }
details.case { background: var(--card); border: 1px solid var(--line);
  border-left: 5px solid var(--v); border-radius: 6px; margin: 0 0 8px; }
details.case > summary { cursor: pointer; padding: 8px 12px; display: flex; gap: 10px;
  align-items: baseline; flex-wrap: wrap; }
details.case:target, details.case.flash { box-shadow: 0 0 0 3px var(--v); }
.case .id { font-weight: 600; }
.case .title { flex: 1; }
.level, .flag { font-size: 11px; border: 1px solid var(--line); border-radius: 3px;
  padding: 0 5px; color: var(--muted); }
.flag { border-color: #b26a00; color: #b26a00; }
.dur { color: var(--muted); font-size: 12px; }
.body { padding: 0 16px 14px; border-top: 1px solid var(--line); }
blockquote.clause { margin: 12px 0 0; padding: 6px 12px; border-left: 3px solid var(--line);
  background: var(--bg); }
blockquote.clause cite { display: block; color: var(--muted); font-size: 12px; font-style: normal; }
.message { font-weight: 600; margin: 10px 0 0; }
.eo { display: grid; grid-template-columns: 1fr 1fr; gap: 10px; }
.eo > div { border: 1px solid var(--line); border-radius: 4px; padding: 6px 10px; }
.eo .observed { border-color: var(--v); }
.rerun { display: flex; gap: 8px; align-items: flex-start; }
.rerun pre { flex: 1; background: #272b33; color: #e8eaed; padding: 6px 10px; border-radius: 4px; }
ul.notes { margin: 0; padding-left: 20px; }
svg { display: block; }
svg text { font: 11px system-ui, sans-serif; fill: var(--muted); }
svg .grid { stroke: #eceef1; }
svg .lane { stroke: #c5c9d0; }
svg .lane-label { fill: var(--fg); font-weight: 600; }
svg .mark { cursor: pointer; }
svg .mark.sent polygon { fill: var(--sent); }
svg .mark.received circle { fill: #fff; stroke: var(--received); stroke-width: 2; }
svg .mark:hover polygon, svg .mark:focus polygon { fill: #000; }
svg .mark:hover circle, svg .mark:focus circle { stroke: #000; fill: #ffe082; }
svg .bar { fill: #5c6bc0; }
svg .bar-label { fill: var(--fg); }
.key { font-size: 12px; color: var(--muted); }
.key .s { color: var(--sent); }
.key .r { color: var(--received); }
.scroll { max-height: 360px; overflow: auto; border: 1px solid var(--line); border-radius: 4px; }
table.transcript { border-collapse: collapse; width: 100%; font-size: 12px; }
table.transcript th { position: sticky; top: 0; background: var(--bg); text-align: left; }
table.transcript th, table.transcript td { padding: 2px 8px; border-bottom: 1px solid #eef0f2;
  vertical-align: top; }
table.transcript td.t { text-align: right; white-space: nowrap;
  font-variant-numeric: tabular-nums; }
table.transcript td.p { font-family: ui-monospace, Menlo, Consolas, monospace;
  word-break: break-all; }
tr.sent td.d { color: var(--sent); }
tr.received td.d { color: var(--received); }
tr.hit { background: #fff3c4; }
.audio figure { margin: 0 0 8px; }
.audio figcaption { font-size: 12px; color: var(--muted); }
.missing { color: #c62828; font-weight: 600; }
.none { color: var(--muted); font-style: italic; }
footer { color: var(--muted); font-size: 12px; padding: 24px 20px 40px; }
@media (max-width: 760px) { .eo { grid-template-columns: 1fr; } }
"""
    + _VERDICT_RULES
    + "\n"
)

SCRIPT = """
(function () {
  "use strict";
  var cases = Array.prototype.slice.call(document.querySelectorAll("details.case"));
  var chips = Array.prototype.slice.call(document.querySelectorAll(".chip"));
  function filter(verdict) {
    cases.forEach(function (c) { c.hidden = verdict !== "" && c.dataset.verdict !== verdict; });
    chips.forEach(function (c) { c.classList.toggle("active", c.dataset.verdict === verdict); });
  }
  chips.forEach(function (chip) {
    chip.addEventListener("click", function () {
      filter(chip.classList.contains("active") ? "" : chip.dataset.verdict);
    });
  });
  function reveal() {
    var target = location.hash ? document.getElementById(location.hash.slice(1)) : null;
    if (!target || !target.classList.contains("case")) { return; }
    target.hidden = false;
    target.open = true;
    target.scrollIntoView({block: "start"});
  }
  window.addEventListener("hashchange", reveal);
  reveal();
  document.querySelectorAll("[data-open]").forEach(function (button) {
    button.addEventListener("click", function () {
      var open = button.dataset.open === "1";
      cases.forEach(function (c) { if (!c.hidden) { c.open = open; } });
    });
  });
  document.querySelectorAll(".copy").forEach(function (button) {
    button.addEventListener("click", function () {
      var code = button.parentNode.querySelector("code");
      function done() { button.textContent = "copied"; setTimeout(function () {
        button.textContent = "copy"; }, 1200); }
      function select() { var range = document.createRange(); range.selectNodeContents(code);
        var s = window.getSelection(); s.removeAllRanges(); s.addRange(range); }
      if (navigator.clipboard) {
        navigator.clipboard.writeText(code.textContent).then(done, select);
      } else { select(); }
    });
  });
  document.querySelectorAll("svg .mark").forEach(function (mark) {
    mark.addEventListener("click", function () {
      var row = document.getElementById(mark.getAttribute("data-row"));
      if (!row) { return; }
      document.querySelectorAll("tr.hit").forEach(function (r) { r.classList.remove("hit"); });
      row.classList.add("hit");
      row.scrollIntoView({block: "nearest"});
    });
  });
})();
"""
