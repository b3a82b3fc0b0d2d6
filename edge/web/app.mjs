// MU-Net Edge in the browser: MediaPipe Tasks ImageSegmenter (WASM, CPU) on a photo or the camera.
// The confidence mask is thresholded like munet-run (probability > the model's threshold, small components
// dropped when the model carries a min_area), drawn as munet-run's overlay, and saved as a 0/255 mask PNG.
// Served by `munet-run MODEL --web PORT`: model.json, model.tflite and the vendored runtime (`make web`).
import { FilesetResolver, ImageSegmenter } from "./vendor/vision_bundle.mjs";

const $ = (id) => document.getElementById(id);
const view = $("view");
const ctx = view.getContext("2d", { willReadFrequently: true });
const video = $("video");
const TINT = [255, 0, 0]; // munet-run's overlay: red tint (alpha 0.4), yellow outline
const OUTLINE = [255, 255, 0];
const ALPHA = 0.4;

let info = { threshold: 0.5, min_area: 0 };
let segmenter = null;
let mode = "IMAGE";
let stream = null;
let last = null; // { mask: Uint8Array (0/1), width, height, name }
let frames = 0;
let started = 0;

function setState(state, text) {
  document.body.dataset.state = state;
  if (text !== undefined) $("status").textContent = text;
}

async function useMode(wanted) {
  if (mode !== wanted) {
    await segmenter.setOptions({ runningMode: wanted });
    mode = wanted;
  }
}

// Components (8-connected) under min_area x the image area are dropped, like munet.edge.postproc.
function dropSmall(mask, w, h, minPixels) {
  const label = new Int32Array(w * h);
  const stack = new Int32Array(w * h);
  let next = 0;
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || label[start]) continue;
    next += 1;
    let top = 0;
    const members = [];
    stack[top++] = start;
    label[start] = next;
    while (top) {
      const i = stack[--top];
      members.push(i);
      const x = i % w, y = (i - x) / w;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx, ny = y + dy;
          if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue;
          const j = ny * w + nx;
          if (mask[j] && !label[j]) { label[j] = next; stack[top++] = j; }
        }
      }
    }
    if (members.length < minPixels) for (const i of members) mask[i] = 0;
  }
}

// The 0/1 mask of a MediaPipe result: the first confidence mask (the lesion probability) > threshold.
function maskOf(result) {
  const conf = result.confidenceMasks[0];
  const w = conf.width, h = conf.height;
  const prob = conf.getAsFloat32Array();
  const mask = new Uint8Array(w * h);
  for (let i = 0; i < prob.length; i++) mask[i] = prob[i] > info.threshold ? 1 : 0;
  if (info.min_area > 0) dropSmall(mask, w, h, info.min_area * w * h);
  return { mask, width: w, height: h };
}

// Draw the source with the tinted, outlined mask; show the lesion area in % of the image.
function draw(source, seg) {
  const { mask, width: w, height: h } = seg;
  if (view.width !== w || view.height !== h) { view.width = w; view.height = h; }
  ctx.drawImage(source, 0, 0, w, h);
  const img = ctx.getImageData(0, 0, w, h);
  const px = img.data;
  const t = Math.max(1, Math.round(Math.max(w, h) / 256));
  const inside = (x, y) => x >= 0 && y >= 0 && x < w && y < h && mask[y * w + x] === 1;
  let area = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (!mask[i]) continue;
      area++;
      const edge = !inside(x - t, y) || !inside(x + t, y) || !inside(x, y - t) || !inside(x, y + t);
      for (let c = 0; c < 3; c++) {
        px[4 * i + c] = edge ? OUTLINE[c] : px[4 * i + c] * (1 - ALPHA) + TINT[c] * ALPHA;
      }
    }
  }
  ctx.putImageData(img, 0, 0);
  const percent = (100 * area) / (w * h);
  $("area").textContent = `lesion area ${percent.toFixed(1)} %`;
  document.body.dataset.area = percent.toFixed(3);
  $("save").disabled = false;
}

async function onPhoto(file) {
  stopCamera();
  setState("busy", `segmenting ${file.name}...`);
  const bitmap = await createImageBitmap(file);
  await useMode("IMAGE");
  const t0 = performance.now();
  let seg = null;
  segmenter.segment(bitmap, (result) => { seg = maskOf(result); });
  const ms = performance.now() - t0;
  draw(bitmap, seg);
  bitmap.close();
  last = { ...seg, name: file.name.replace(/\.[^.]*$/, "") };
  $("fps").textContent = `${ms.toFixed(0)} ms`;
  setState("photo", `${file.name}: ${seg.width}x${seg.height}`);
}

function onFrame() {
  if (!stream) return;
  if (video.readyState >= 2 && video.videoWidth) {
    let seg = null;
    try {
      segmenter.segmentForVideo(video, performance.now(), (result) => { seg = maskOf(result); });
    } catch (err) {
      stopCamera();
      setState("error", `camera frame: ${err.message || err}`);
      return;
    }
    draw(video, seg);
    last = { ...seg, name: `camera_${Date.now()}` };
    frames++;
    document.body.dataset.frames = String(frames);
    const fps = (1000 * frames) / (performance.now() - started);
    $("fps").textContent = `${fps.toFixed(1)} FPS`;
    if (frames === 1) setState("camera", `camera: ${video.videoWidth}x${video.videoHeight}`);
  }
  if ("requestVideoFrameCallback" in video) video.requestVideoFrameCallback(onFrame);
  else requestAnimationFrame(onFrame);
}

async function startCamera() {
  if (!navigator.mediaDevices?.getUserMedia) {
    setState("error", "the camera needs HTTPS or localhost (this page is plain HTTP); choose a photo instead");
    return;
  }
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
  } catch (err) {
    setState("error", `camera: ${err.name}: ${err.message}; choose a photo instead`);
    return;
  }
  await useMode("VIDEO");
  video.srcObject = stream;
  await video.play();
  frames = 0;
  started = performance.now();
  $("camera").textContent = "Stop camera";
  setState("camera-starting", "camera: waiting for frames...");
  onFrame();
}

function stopCamera() {
  if (!stream) return;
  for (const track of stream.getTracks()) track.stop();
  stream = null;
  video.srcObject = null;
  $("camera").textContent = "Start camera";
  setState("ready", "camera stopped");
}

// The mask at the input's size, 0/255, named like munet-run's output (<stem>_segmentation.png).
function saveMask() {
  if (!last) return;
  const { mask, width: w, height: h, name } = last;
  const canvas = document.createElement("canvas");
  canvas.width = w;
  canvas.height = h;
  const c = canvas.getContext("2d");
  const img = c.createImageData(w, h);
  for (let i = 0; i < mask.length; i++) {
    const v = mask[i] ? 255 : 0;
    img.data.set([v, v, v, 255], 4 * i);
  }
  c.putImageData(img, 0, 0);
  canvas.toBlob((blob) => {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = `${name}_segmentation.png`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  }, "image/png");
}

async function load() {
  try {
    info = await (await fetch("model.json")).json();
    $("model").textContent = info.name;
    const base = new URL("vendor/wasm", location.href).href;
    const vision = await FilesetResolver.forVisionTasks(base);
    segmenter = await ImageSegmenter.createFromOptions(vision, {
      baseOptions: { modelAssetPath: new URL("model.tflite", location.href).href, delegate: "CPU" },
      runningMode: "IMAGE",
      outputConfidenceMasks: true,
      outputCategoryMask: false,
    });
  } catch (err) {
    setState("error", `could not load the model: ${err.message || err}`);
    throw err;
  }
  $("camera").disabled = false;
  setState("ready", `${info.name}: ready (threshold ${info.threshold}); start the camera or choose a photo`);
}

const loaded = load();
$("camera").onclick = () => (stream ? stopCamera() : startCamera());
$("save").onclick = saveMask;
$("photo").onchange = async (event) => {
  const file = event.target.files[0];
  event.target.value = ""; // choosing the same photo again segments it again
  if (!file) return;
  try {
    await loaded; // a photo chosen while the model loads waits for it
    await onPhoto(file);
  } catch (err) {
    setState("error", `${file.name}: ${err.message || err}`);
  }
};
