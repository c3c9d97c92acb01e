// envgen site: the install selector. Reads window.ENVGEN_SITE (data.js, written by `envgen site`); the
// driver/GPU rule below is envgen.matrix.compat.judge ported line by line (tests/test_site.py holds them equal).
(function () {
  "use strict";
  var D = window.ENVGEN_SITE;
  var S = D.strings, L = D.lists;
  var KEYS = ["torch", "platform", "family", "accel", "python"];
  var OS_OF = { linux: "linux", win: "windows", osx: "macos" };

  // --- versions and compute capabilities (packaging.version semantics for dotted numbers) -------------
  function nums(text) { return String(text).split(".").map(function (x) { return parseInt(x, 10); }); }
  function cmp(a, b) {
    var x = nums(a), y = nums(b), n = Math.max(x.length, y.length);
    for (var i = 0; i < n; i++) {
      var p = x[i] || 0, q = y[i] || 0;
      if (p !== q) { return p < q ? -1 : 1; }
    }
    return 0;
  }
  function archCc(arch) {  // envgen.models.arch_cc
    var t = arch.trim().toLowerCase(), i = t.indexOf("_");
    var kind = i < 0 ? t : t.slice(0, i), digits = i < 0 ? "" : t.slice(i + 1).replace(/[af]+$/, "");
    if ((kind !== "sm" && kind !== "compute") || !/^[0-9]+$/.test(digits) || digits.length < 2) { return null; }
    return [kind, parseInt(digits.slice(0, -1), 10) + "." + digits.slice(-1)];
  }
  function parseCc(text) {  // envgen.matrix.compat.parse_cc
    var raw = text.trim().toLowerCase();
    if (raw.indexOf("sm_") === 0 || raw.indexOf("compute_") === 0) { var p = archCc(raw); return p ? p[1] : null; }
    var parts = raw.split(".");
    if (parts.length === 2 && parts.every(function (x) { return /^[0-9]{1,2}$/.test(x); }) &&
        parseInt(parts[0], 10) >= 1 && parseInt(parts[0], 10) <= 20) {
      return parseInt(parts[0], 10) + "." + parseInt(parts[1], 10);
    }
    return null;
  }
  function major(v) { return nums(v)[0]; }
  function minor(v) { return nums(v)[1] || 0; }
  function smName(cc) { return "sm_" + major(cc) + minor(cc); }
  function cudaOf(tag) { var d = tag.slice(2); return parseInt(d.slice(0, -1), 10) + "." + d.slice(-1); }

  // --- GPU names (envgen.matrix.model.Matrix.gpu_cc / is_datacenter) ----------------------------------
  var BRANDS = { nvidia: 1, geforce: 1, quadro: 1, tesla: 1 };
  var TRIM = /\b(?:\d+\s?gb|hbm\d*e?|pcie|sxm\d*|nvl|mig|with max q design|max q|laptop gpu|mobile|(?:tm)|gpu)\b/g;
  function normGpu(name) {
    var t = name.toLowerCase().split("(r)").join(" ").split("(tm)").join(" ").split("...").join(" ")
      .split("-").join(" ").split("_").join(" ");
    t = t.split(/\s+/).filter(Boolean).join(" ");
    return t.indexOf("nvidia ") === 0 ? t.slice(7) : t;
  }
  function bareGpu(name) {
    return normGpu(name).replace(TRIM, " ").split(/\s+/).filter(function (w) { return w && !BRANDS[w]; }).join(" ");
  }
  function longestIn(wanted, keyed) {
    var best = null, padded = " " + wanted + " ";
    for (var i = 0; i < keyed.length; i++) {
      var key = keyed[i][0];
      if (!key) { continue; }
      if (key === wanted) { return keyed[i][1]; }
      if (padded.indexOf(" " + key + " ") >= 0 && (best === null || key.length > best[0])) { best = [key.length, keyed[i][1]]; }
    }
    return best ? best[1] : null;
  }
  var byNorm = null;
  function gpuCc(name) {
    if (byNorm === null) {
      byNorm = [normGpu, bareGpu].map(function (f) { return D.gpus.map(function (g) { return [f(g[0]), g[1]]; }); });
    }
    var norms = [normGpu, bareGpu];
    for (var i = 0; i < 2; i++) {
      var wanted = norms[i](name);
      if (!wanted) { continue; }
      var found = longestIn(wanted, byNorm[i]);
      if (found !== null) { return found; }
    }
    return null;
  }
  function isDatacenter(name) {
    return longestIn(normGpu(name), D.datacenter.map(function (n) { return [normGpu(n), n]; })) !== null;
  }
  function gpu(name, cc) { return { name: name, cc: (cc && parseCc(cc)) || gpuCc(name), datacenter: isDatacenter(name) }; }

  // --- the verdict (envgen.matrix.compat.judge) ---------------------------------------------------------
  function runsOn(cc, archs, ptx) {
    for (var i = 0; i < archs.length; i++) {
      var p = archCc(archs[i]);
      if (!p) { continue; }
      if (p[0] === "sm" && major(p[1]) === major(cc) && minor(p[1]) <= minor(cc)) { return true; }
      if (ptx && p[0] === "compute" && cmp(p[1], cc) <= 0) { return true; }
    }
    return false;
  }
  function label(g) { return g.cc ? g.name + " (" + smName(g.cc) + ")" : g.name; }
  function mmOf(v) { return major(v) + "." + minor(v); }
  function impliedDriver(driverCuda, os) {  // envgen.matrix.compat.implied_driver
    var found = D.toolkits[os].filter(function (t) { return cmp(mmOf(t[0]), mmOf(driverCuda)) <= 0; })
      .map(function (t) { return t[1]; });
    return found.length ? found.reduce(function (a, b) { return cmp(a, b) >= 0 ? a : b; }) : null;
  }
  function driverSide(m, cuda, full, compat) {
    var mm = mmOf(cuda);
    if (m.driver === null && m.driver_cuda) {
      if (cmp(mm, mmOf(m.driver_cuda)) <= 0) { return ["full", "the driver runs CUDA up to " + mmOf(m.driver_cuda) + ", so CUDA " + mm + " fully"]; }
      var low = impliedDriver(m.driver_cuda, m.os);
      if (major(cuda) === major(m.driver_cuda) && major(cuda) >= 11 && compat !== null && low !== null && cmp(low, compat) >= 0) {
        return ["minor", "the driver runs CUDA up to " + mmOf(m.driver_cuda) + " (so it is >= " + low + "): minor-version compatibility"];
      }
      return ["no", "the driver runs CUDA up to " + mmOf(m.driver_cuda) + "; CUDA " + mm + " needs more" + (full ? " (a driver >= " + full + " on " + m.os + ")" : "")];
    }
    if (m.driver === null) { return ["unknown", "the NVIDIA driver version is unknown"]; }
    if (full !== null && cmp(m.driver, full) >= 0) { return ["full", "driver " + m.driver + " runs CUDA " + mm + " fully"]; }
    if (major(cuda) >= 11 && compat !== null && cmp(m.driver, compat) >= 0) {
      return ["minor", "driver " + m.driver + " runs CUDA " + mm + " through minor-version compatibility (fully from " + full + ")"];
    }
    if (full === null) { return ["no", "envgen knows no driver floor for CUDA " + mm + " on " + m.os]; }
    var also = compat && major(cuda) >= 11 ? " (>= " + compat + " through minor-version compatibility)" : "";
    return ["no", "CUDA " + mm + " needs a driver >= " + full + also + " on " + m.os + "; this driver is " + m.driver];
  }
  function kernels(m, archs) {
    var missing = [], ptxOnly = [];
    if (!archs.some(function (a) { return archCc(a); })) { return [missing, ptxOnly]; }
    m.gpus.forEach(function (g) {
      if (g.cc === null) { return; }
      if (!runsOn(g.cc, archs, true)) { missing.push(label(g)); } else if (!runsOn(g.cc, archs, false)) { ptxOnly.push(label(g)); }
    });
    return [missing, ptxOnly];
  }
  function forwardPackage(m, cuda) {
    var fc = D.forward;
    if (!fc || fc.oses.indexOf(m.os) < 0 || cmp(cuda, fc.since) < 0 || !m.gpus.length) { return null; }
    if (!m.gpus.every(function (g) { return g.datacenter; })) { return null; }
    return fc["package"].replace("{major}", major(cuda)).replace("{minor}", minor(cuda));
  }
  // machine: {os, driver (text or null), driver_cuda (the CUDA it runs, when the driver is unknown), gpus:
  // [{name, cc, datacenter}]}; build: {tag, archs}
  function judge(m, build) {
    var tag = build.tag;
    if (tag === "cpu") { return { runs: "full", why: "the CPU build runs anywhere" }; }
    if (tag.indexOf("cu") !== 0) { return { runs: "no", why: "a " + D.accel_names[tag] + " build does not run on NVIDIA GPUs" }; }
    if (!m.gpus.length) { return { runs: "no", why: "there is no NVIDIA GPU" }; }
    var cuda = cudaOf(tag), fl = D.floors[tag][m.os];
    var side = driverSide(m, cuda, fl[0], fl[1]), runs = side[0];
    var k = kernels(m, build.archs);
    if (k[0].length) { return { runs: "no", why: "the " + tag + " build carries no kernels for " + k[0].join(", ") }; }
    if (k[1].length && runs === "minor") {
      return { runs: "no", why: k[1].join(", ") + " would need PTX JIT compilation, which minor-version compatibility does not provide" };
    }
    if (runs === "no" || runs === "forward") {
      var pkg = forwardPackage(m, cuda);
      if (pkg !== null) { return { runs: "forward", why: side[1] + "; NVIDIA's forward-compatibility package (" + pkg + ") could make it run" }; }
      return { runs: "no", why: side[1] };
    }
    return { runs: runs, why: side[1] };
  }

  // --- the machine the fields describe (envgen.doctor.detect: ENVGEN_DRIVER, ENVGEN_GPU, nvidia-smi) -------
  function readMachine(driverText, gpuText) {
    var driver = driverText.trim(), text = gpuText.trim(), gpus = [], errors = [];
    if (/NVIDIA-SMI|Driver Version/i.test(text)) {
      var dm = /Driver Version:\s*([0-9.]+)/i.exec(text);
      if (dm && !driver) { driver = dm[1]; }
      text.split(/\r?\n/).forEach(function (line) {
        var g = /^\|\s*\d+\s+(.+?)\s+(?:On|Off)\s*\|/.exec(line);
        if (g && !/^Name\b/.test(g[1])) { gpus.push(gpu(g[1])); }
      });
    } else if (text) {
      text.split(/[,;\n]/).map(function (x) { return x.trim(); }).filter(Boolean).forEach(function (item) {
        var cc = parseCc(item);
        var spec = cc !== null ? { name: "compute capability " + cc, cc: cc, datacenter: false } : gpu(item);
        if (spec.cc === null) { errors.push("unknown GPU '" + item + "': give its compute capability (e.g. 8.6)"); } else { gpus.push(spec); }
      });
    }
    var cuda = null, cm = /^(?:cuda\s*)?([0-9]{1,2}\.[0-9]+)$/i.exec(driver);
    if (cm && major(cm[1]) >= 7) { cuda = cm[1]; driver = ""; }  // the CUDA version nvidia-smi shows (ENVGEN_CUDA)
    if (!cuda && !driver) { var sm = /CUDA Version:\s*([0-9]+\.[0-9]+)/i.exec(text); cuda = sm ? sm[1] : null; }
    if (driver && (!/^[0-9]+(\.[0-9]+)*$/.test(driver) || major(driver) < 100)) {
      errors.push("'" + driver + "' is neither an NVIDIA driver version (e.g. 535.104.05) nor a CUDA version (e.g. 12.2)");
      driver = "";
    }
    if (!driver && !cuda && !gpus.length) { return { machine: null, errors: errors }; }
    if (!gpus.length) { gpus.push({ name: "an NVIDIA GPU of unknown model", cc: null, datacenter: false }); }
    return { machine: { os: "linux", driver: driver || null, driver_cuda: driver ? null : cuda, gpus: gpus }, errors: errors };
  }

  // --- the selector ------------------------------------------------------------------------------------
  function fill(segs, values) {  // envgen.site.data.fill
    var t = segs.map(function (i) { return S[i]; }).join("");
    for (var i = values.length - 1; i >= 0; i--) { t = t.split(values[i][0]).join(values[i][1]); }
    return t;
  }
  function indexRelease(r) {
    if (r.ix) { return r.ix; }
    var ix = { cells: {}, ok: {}, no: {} };
    r.cells.forEach(function (c) {
      ix.cells[c.slice(0, 4).join("|")] = c;
      for (var n = 1; n <= 3; n++) { ix.ok[c.slice(0, n).join("|")] = true; }
    });
    r.no.forEach(function (row) { ix.no[row.slice(0, 4).filter(function (x) { return x >= 0; }).join("|")] = row[4]; });
    r.ix = ix;
    return ix;
  }
  var els = {}, machine = null, state = {};
  function $(id) { return document.getElementById(id); }
  function release() { return D.releases.filter(function (r) { return r.torch === state.torch; })[0]; }
  function slotValues(r, key) {
    var vals = [[D.slots[0], r.torch]];
    if (key.length > 0) { vals.push([D.slots[1], D.platforms[key[0]]]); }
    if (key.length > 1) { vals.push([D.slots[2], D.families[key[1]][0]]); }
    if (key.length > 2) { vals.push([D.slots[3], D.accel_names[r.accels[key[2]]]]); }
    if (key.length > 3) { vals.push([D.slots[4], r.pythons[key[3]]]); }
    return vals;
  }
  function reasonFor(r, key) {
    var seg = indexRelease(r).no[key.join("|")];
    return seg === undefined ? "not available" : fill(L[seg], slotValues(r, key));
  }
  function osOf(platform) { return OS_OF[platform.split("-")[0]]; }
  function verdict(r, tag) {
    if (!machine) { return null; }
    var j = r.judge[tag];
    var m = { os: osOf(state.platform), driver: machine.driver, driver_cuda: machine.driver_cuda, gpus: machine.gpus };
    return judge(m, { tag: tag, archs: j ? j[0] : [] });
  }
  function setOptions(key, choices) {
    // choices: [{value, text, ok, why, hidden}]
    var sel = els[key], why = $("why-" + key), list = why.querySelector("ul");
    sel.textContent = "";
    list.textContent = "";
    var off = 0;
    choices.forEach(function (c) {
      var o = document.createElement("option");
      o.value = c.value;
      o.textContent = c.text + (c.ok ? (c.mark || "") : c.hidden ? " (hidden: does not run here)" : " (unavailable)");
      o.disabled = !c.ok;
      o.hidden = !!c.hidden;
      if (c.why) { o.title = c.why; }
      sel.appendChild(o);
      if (!c.ok) {
        off++;
        var li = document.createElement("li"), b = document.createElement("b"), span = document.createElement("span");
        li.dataset.value = c.value;
        b.textContent = c.text + ": ";
        span.textContent = c.why;
        li.appendChild(b); li.appendChild(span); list.appendChild(li);
      }
    });
    why.hidden = off === 0;
    why.querySelector("summary").textContent = off + " unavailable here, and why";
    var cur = choices.filter(function (c) { return c.value === state[key] && c.ok; })[0];
    var pick = cur || choices.filter(function (c) { return c.ok && c.preferred; })[0] || choices.filter(function (c) { return c.ok; })[0];
    state[key] = pick ? pick.value : null;
    sel.value = pick ? pick.value : "";
    return pick ? choices.indexOf(pick) : -1;
  }
  function render() {
    var r = release(), ix = indexRelease(r);
    var p = setOptions("platform", D.platforms.map(function (pl, i) {
      var ok = !!ix.ok[String(i)];
      return { value: pl, text: pl, ok: ok, why: ok ? "" : reasonFor(r, [i]) };
    }));
    var f = p < 0 ? setOptions("family", []) : setOptions("family", D.families.map(function (fam, i) {
      var ok = !!ix.ok[p + "|" + i];
      return { value: fam[0], text: fam[1] + " (" + fam[0] + ")", ok: ok, why: ok ? "" : reasonFor(r, [p, i]) };
    }));
    var hidden = [];
    var a = f < 0 ? setOptions("accel", []) : setOptions("accel", r.accels.map(function (tag, i) {
      var ok = !!ix.ok[p + "|" + f + "|" + i], v = ok ? verdict(r, tag) : null, text = D.accel_names[tag];
      if (v && v.runs === "no") { hidden.push(text + ": " + v.why); return { value: tag, text: text, ok: false, hidden: true, why: "does not run on this machine: " + v.why }; }
      var mark = v && v.runs === "minor" ? " (minor-version compatibility)" : v && v.runs === "forward" ? " (forward-compat package)" : "";
      return { value: tag, text: text, ok: ok, why: ok ? "" : reasonFor(r, [p, f, i]), mark: mark, preferred: ok && tag !== "cpu" && tag.indexOf("cu") === 0 };
    }));
    var y = a < 0 ? setOptions("python", []) : setOptions("python", r.pythons.map(function (py, i) {
      var ok = !!ix.cells[[p, f, a, i].join("|")];
      return { value: py, text: py, ok: ok, why: ok ? "" : reasonFor(r, [p, f, a, i]), preferred: ok && !/t$/.test(py) };
    }));
    renderMachine(hidden);
    renderResult(r, y < 0 ? null : ix.cells[[p, f, a, y].join("|")]);
    var hash = "#" + KEYS.map(function (k) { return k + "=" + encodeURIComponent(state[k] || ""); }).join("&");
    if (location.hash !== hash && history.replaceState) { history.replaceState(null, "", hash); }
  }
  function renderMachine(hidden) {
    var list = $("m-hidden");
    list.textContent = "";
    hidden.forEach(function (h) { var li = document.createElement("li"); li.textContent = "hidden: " + h; list.appendChild(li); });
  }
  function fact(dl, term, value) {
    if (!value) { return; }
    var dt = document.createElement("dt"), dd = document.createElement("dd");
    dt.textContent = term; dd.textContent = value;
    dl.appendChild(dt); dl.appendChild(dd);
  }
  function renderResult(r, cell) {
    var dl = $("facts"), notes = $("notes");
    dl.textContent = ""; notes.textContent = "";
    $("release-link").innerHTML = "";
    var link = document.createElement("a");
    link.href = "releases/" + r.torch + ".html";
    link.textContent = "torch " + r.torch + ": every build, on one page";
    $("release-link").appendChild(link);
    if (!cell) {
      $("command").textContent = machine ? "No build of this selection runs on this machine." : "No build fits this selection.";
      $("equiv").textContent = "";
      return;
    }
    var tag = state.accel, os = osOf(state.platform);
    $("command").textContent = S[cell[4]];
    var flags = tag === "cpu" || tag === "xpu" ? "--" + tag : tag.indexOf("rocm") === 0 ? "--rocm " + tag.slice(4) : "--cuda " + tag;
    $("equiv").textContent = "envgen command --torch " + r.torch + " --platform " + state.platform + " --channel " +
      state.family + " " + flags + " --python " + state.python;
    fact(dl, "Release", r.torch + (r.date ? " (" + r.date + ")" : ""));
    fact(dl, "Companions", Object.keys(r.companions).sort().map(function (k) { return k + " " + r.companions[k]; }).join(", "));
    fact(dl, "Route", S[cell[6]]);
    fact(dl, "cuDNN", cell[7] >= 0 ? S[cell[7]] : "");
    if (D.floors[tag]) {
      var fl = D.floors[tag][os];
      fact(dl, "Driver floor", (fl[0] ? ">= " + fl[0] + " (full)" : "unknown") +
        (fl[1] && major(cudaOf(tag)) >= 11 ? "; >= " + fl[1] + " through minor-version compatibility" : ""));
    }
    fact(dl, "GPU architectures", (r.archs[tag] || []).join(" "));
    var v = verdict(r, tag);
    if (v) { fact(dl, "On this machine", { full: "runs fully", minor: "runs through minor-version compatibility", forward: "runs only with NVIDIA's forward-compatibility package", unknown: "unknown", no: "does not run" }[v.runs] + ": " + v.why); }
    L[cell[5]].forEach(function (n) { var li = document.createElement("li"); li.textContent = S[n]; notes.appendChild(li); });
  }
  function onMachine() {
    var read = readMachine($("m-driver").value, $("m-gpu").value);
    machine = read.machine;
    var status = read.errors.join("; ");
    if (machine) {
      status = (status ? status + ". " : "") + "Judging for " + (machine.driver ? "NVIDIA driver " + machine.driver :
        machine.driver_cuda ? "an NVIDIA driver that runs CUDA " + machine.driver_cuda : "an NVIDIA driver of unknown version") +
        "; " + machine.gpus.map(label).join(", ") + ".";
    }
    $("m-status").textContent = status;
    render();
  }
  function copy() {
    var text = $("command").textContent, done = function () { $("copied").textContent = "Copied"; };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(text); done(); });
    } else { fallbackCopy(text); done(); }
  }
  function fallbackCopy(text) {
    var range = document.createRange();
    range.selectNodeContents($("command"));
    var sel = window.getSelection();
    sel.removeAllRanges(); sel.addRange(range);
    try { document.execCommand("copy"); } catch (e) { /* the selection stays for Ctrl+C */ }
  }
  function fromHash() {  // index.html#torch=1.8.1&platform=linux-64&family=pytorch&accel=cu102&python=3.8
    var wanted = {};
    location.hash.slice(1).split("&").forEach(function (kv) { var i = kv.indexOf("="); if (i > 0) { wanted[kv.slice(0, i)] = decodeURIComponent(kv.slice(i + 1)); } });
    state.torch = D.releases.some(function (r) { return r.torch === wanted.torch; }) ? wanted.torch : D.releases[0].torch;
    els.torch.value = state.torch;
    state.platform = wanted.platform || "linux-64"; state.family = wanted.family; state.accel = wanted.accel; state.python = wanted.python;
  }
  function init() {
    KEYS.forEach(function (k) { els[k] = $("sel-" + k); });
    D.releases.forEach(function (r) {
      var o = document.createElement("option");
      o.value = r.torch; o.textContent = r.torch + (r.date ? "  (" + r.date + ")" : "");
      els.torch.appendChild(o);
    });
    fromHash();
    window.addEventListener("hashchange", function () { fromHash(); render(); });
    KEYS.forEach(function (k) {
      els[k].addEventListener("change", function () { state[k] = els[k].value; render(); });
    });
    $("m-driver").addEventListener("input", onMachine);
    $("m-gpu").addEventListener("input", onMachine);
    $("copy").addEventListener("click", copy);
    render();
    window.envgenSite.firstRender = performance.now();
  }
  window.envgenSite = { judge: judge, gpu: gpu, parseCc: parseCc, readMachine: readMachine, fill: fill, cmp: cmp };
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
}());
