// The Look inside page: draw a digit, prepare it as solutions/preprocess.py does, run the course's CNN
// (solutions/model.py) layer by layer, and show every layer's answer. No library, no request but weights.json.
"use strict";

// ---- Preparation: solutions.preprocess.prepare_drawing, step for step --------------------------------------

const INK_THRESHOLD = 0.2, DIGIT_BOX = 20, FIELD = 28, LIGHTING_SIDE = 32, LIGHTING_WINDOW = 0.3;
const f32 = Math.fround;

// Python's round(): halves go to the even neighbour.
function roundHalfEven(x) {
  const low = Math.floor(x), rest = x - low;
  if (rest !== 0.5) return rest < 0.5 ? low : low + 1;
  return low % 2 === 0 ? low : low + 1;
}

// numpy.percentile's default (linear) of values sorted ascending, q in [0, 1].
function percentileSorted(sorted, q) {
  const n = sorted.length, index = n * q - q;  // numpy's virtual index for alpha = beta = 1
  const below = Math.floor(index), above = Math.min(below + 1, n - 1), t = index - below;
  const a = sorted[below], b = sorted[above], diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

// Pillow's resampling (Resample.c): a separable filter, horizontal pass first, float32 between passes.
const FILTERS = {
  box: {support: 0.5, weight: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0)},
  bilinear: {support: 1, weight: (x) => { x = Math.abs(x); return x < 1 ? 1 - x : 0; }},
  lanczos: {support: 3, weight: (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0)},
};

function sinc(x) {
  if (x === 0) return 1;
  x *= Math.PI;
  return Math.sin(x) / x;
}

function coefficients(inSize, outSize, filter) {
  const scale = inSize / outSize, filterScale = Math.max(scale, 1), support = filter.support * filterScale;
  const taps = [];
  for (let out = 0; out < outSize; out++) {
    const centre = (out + 0.5) * scale;
    const first = Math.max(0, Math.trunc(centre - support + 0.5));
    const last = Math.min(inSize, Math.trunc(centre + support + 0.5));
    const weights = [];
    let total = 0;
    for (let x = first; x < last; x++) {
      const w = filter.weight((x - centre + 0.5) / filterScale);
      weights.push(w);
      total += w;
    }
    taps.push({first, weights: weights.map((w) => (total !== 0 ? w / total : w))});
  }
  return taps;
}

function resize(pixels, width, height, newWidth, newHeight, filter) {
  let current = pixels, w = width;
  if (newWidth !== width) {
    const taps = coefficients(width, newWidth, filter), out = new Float32Array(newWidth * height);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < newWidth; x++) {
        const {first, weights} = taps[x];
        let sum = 0;
        for (let k = 0; k < weights.length; k++) sum += current[y * w + first + k] * weights[k];
        out[y * newWidth + x] = sum;
      }
    }
    current = out;
    w = newWidth;
  }
  if (newHeight !== height) {
    const taps = coefficients(height, newHeight, filter), out = new Float32Array(w * newHeight);
    for (let y = 0; y < newHeight; y++) {
      const {first, weights} = taps[y];
      for (let x = 0; x < w; x++) {
        let sum = 0;
        for (let k = 0; k < weights.length; k++) sum += current[(first + k) * w + x] * weights[k];
        out[y * w + x] = sum;
      }
    }
    current = out;
  }
  return current;
}

// Brightness in [0, 1] of opaque RGBA pixels, as Pillow's convert("L") rounds it.
function grayscale(rgba) {
  const pixels = new Float32Array(rgba.length / 4);
  for (let i = 0; i < pixels.length; i++) {
    const luma = (rgba[4 * i] * 19595 + rgba[4 * i + 1] * 38470 + rgba[4 * i + 2] * 7471 + 0x8000) >>> 16;
    pixels[i] = luma / 255;
  }
  return pixels;
}

function rankFilter(grid, rows, cols, reduce, size) {
  const half = size >> 1, out = new Float32Array(rows * cols);
  const clamp = (v, n) => Math.min(n - 1, Math.max(0, v));
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      let best = grid[clamp(r - half, rows) * cols + clamp(c - half, cols)];
      for (let dr = -half; dr <= half; dr++) {
        for (let dc = -half; dc <= half; dc++) best = reduce(best, grid[clamp(r + dr, rows) * cols + clamp(c + dc, cols)]);
      }
      out[r * cols + c] = best;
    }
  }
  return out;
}

// numpy.pad(..., margin, mode="edge").
function padEdges(pixels, width, height, margin) {
  const outWidth = width + 2 * margin, outHeight = height + 2 * margin, out = new Float32Array(outWidth * outHeight);
  for (let y = 0; y < outHeight; y++) {
    const from = Math.min(height - 1, Math.max(0, y - margin)) * width;
    for (let x = 0; x < outWidth; x++) out[y * outWidth + x] = pixels[from + Math.min(width - 1, Math.max(0, x - margin))];
  }
  return out;
}

// preprocess.paper_brightness: on the image reduced to LIGHTING_SIDE a side (Pillow's BOX), a closing (maximum,
// then minimum filter) over a window wider than any stroke, on the edge-extended image; bilinear back to full size.
function paperBrightness(pixels, width, height) {
  const scale = LIGHTING_SIDE / Math.max(height, width);
  const smallWidth = Math.max(1, roundHalfEven(width * scale)), smallHeight = Math.max(1, roundHalfEven(height * scale));
  const small = resize(pixels, width, height, smallWidth, smallHeight, FILTERS.box);
  const window = 2 * roundHalfEven(LIGHTING_SIDE * LIGHTING_WINDOW / 2) + 1;
  const rows = smallHeight + 2 * window, cols = smallWidth + 2 * window;
  const extended = padEdges(small, smallWidth, smallHeight, window);
  const closed = rankFilter(rankFilter(extended, rows, cols, Math.max, window), rows, cols, Math.min, window);
  const paper = new Float32Array(smallWidth * smallHeight);
  for (let y = 0; y < smallHeight; y++) {
    paper.set(closed.subarray((y + window) * cols + window, (y + window) * cols + window + smallWidth), y * smallWidth);
  }
  return resize(paper, smallWidth, smallHeight, width, height, FILTERS.bilinear);
}

// preprocess.even_out_lighting: divide dark ink on light paper by the paper's brightness.
// The canvas's pixels are 8-bit: sorting them by counting each of the 256 levels is exact and takes no time.
function sortedLevels(pixels) {
  const counts = new Uint32Array(256), sorted = new Float32Array(pixels.length);
  for (const v of pixels) counts[Math.round(v * 255)]++;
  let at = 0;
  counts.forEach((count, level) => { sorted.fill(level / 255, at, at + count); at += count; });
  return sorted;
}

function evenOutLighting(pixels, width, height) {
  const sorted = sortedLevels(pixels);
  const [low, middle, high] = [0.005, 0.5, 0.995].map((q) => percentileSorted(sorted, q));
  if (middle - low <= high - middle) return pixels;
  const paper = paperBrightness(pixels, width, height), floor = f32(0.05), out = new Float32Array(pixels.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.min(1, Math.max(0, f32(pixels[i] / Math.max(paper[i], floor))));
  return out;
}

function median(values) {
  const sorted = Float32Array.from(values).sort(), n = sorted.length;
  return n % 2 ? sorted[(n - 1) / 2] : f32(f32(sorted[n / 2 - 1] + sorted[n / 2]) / 2);
}

// preprocess.place_in_field: a black 28x28 field with the digit's centre of mass in the middle.
function placeInField(digit, width, height) {
  let mass = 0, rowMoment = 0, colMoment = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = digit[y * width + x];
      mass += v; rowMoment += y * v; colMoment += x * v;
    }
  }
  const clip = (v, high) => Math.min(Math.max(v, 0), high);
  const top = clip(roundHalfEven(13.5 - rowMoment / mass), FIELD - height);
  const left = clip(roundHalfEven(13.5 - colMoment / mass), FIELD - width);
  const field = new Float32Array(FIELD * FIELD);
  for (let y = 0; y < height; y++) field.set(digit.subarray(y * width, (y + 1) * width), (top + y) * FIELD + left);
  return field;
}

// The whole of prepare_drawing for the RGBA pixels of an opaque drawing: the 28x28 field in [0, 1], the
// model's input (normalised if the network was trained so), or null for a blank drawing.
function prepare(rgba, width, height, network) {
  let pixels = grayscale(rgba);
  let lowest = Infinity, highest = -Infinity;
  for (const v of pixels) { lowest = Math.min(lowest, v); highest = Math.max(highest, v); }
  if (highest - lowest < 0.1) return null;  // preprocess.grayscale_pixels: "the image is blank"
  pixels = evenOutLighting(pixels, width, height);
  const border = [];
  for (let x = 0; x < width; x++) border.push(pixels[x], pixels[(height - 1) * width + x]);
  for (let y = 0; y < height; y++) border.push(pixels[y * width], pixels[y * width + width - 1]);
  let paper = median(border);
  const light = paper > 0.5;  // dark ink on light paper: MNIST is white ink on black
  if (light) paper = 1 - paper;
  const paper32 = f32(paper), ink = new Float32Array(pixels.length);
  let most = 0;
  for (let i = 0; i < ink.length; i++) {
    ink[i] = Math.max(0, f32((light ? f32(1 - pixels[i]) : pixels[i]) - paper32));
    most = Math.max(most, ink[i]);
  }
  let top = height, bottom = -1, left = width, right = -1;
  for (let i = 0; i < ink.length; i++) {
    ink[i] = f32(ink[i] / most);
    if (ink[i] > f32(INK_THRESHOLD)) {  // numpy compares a float32 array with the float32 nearest 0.2
      const y = Math.floor(i / width), x = i % width;
      top = Math.min(top, y); bottom = Math.max(bottom, y); left = Math.min(left, x); right = Math.max(right, x);
    }
  }
  const cropWidth = right - left + 1, cropHeight = bottom - top + 1, crop = new Float32Array(cropWidth * cropHeight);
  for (let y = 0; y < cropHeight; y++) crop.set(ink.subarray((top + y) * width + left, (top + y) * width + right + 1), y * cropWidth);
  const scale = DIGIT_BOX / Math.max(cropWidth, cropHeight);
  const newWidth = Math.max(1, roundHalfEven(cropWidth * scale)), newHeight = Math.max(1, roundHalfEven(cropHeight * scale));
  const digit = resize(crop, cropWidth, cropHeight, newWidth, newHeight, FILTERS.lanczos).map((v) => Math.min(1, Math.max(0, v)));
  const field = placeInField(digit, newWidth, newHeight);
  const mean = f32(network.mean), std = f32(network.std);
  let input = field.map((v) => f32(f32(v - mean) / std));
  if (!network.normalize) input = input.map((v) => f32(f32(v * std) + mean));  // data.match_input_scale
  return {field, input};
}

// ---- The network: solutions.model.CNN in eval mode --------------------------------------------------------

const LAYERS = {
  "conv1.weight": [10, 1, 5, 5], "conv1.bias": [10],
  "conv2.weight": [20, 10, 5, 5], "conv2.bias": [20],
  "fc1.weight": [50, 320], "fc1.bias": [50],
  "fc2.weight": [10, 50], "fc2.bias": [10],
};
const FORMAT = "mnist-cnn-course-weights/1";

function decode(base64) {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  const view = new DataView(bytes.buffer), values = new Float32Array(bytes.length / 4);
  for (let i = 0; i < values.length; i++) values[i] = view.getFloat32(4 * i, true);
  return values;
}

// The network in a weights file written by `python -m solutions export`; throws an Error that says what is wrong.
function loadNetwork(file) {
  if (!file || file.format !== FORMAT) {
    throw new Error("this is not a weights file of the course: write one with python -m solutions export");
  }
  if (typeof file.mean !== "number" || typeof file.std !== "number") {
    throw new Error("the weights file does not say how its inputs are scaled (mean, std)");
  }
  const weights = {};
  for (const [name, shape] of Object.entries(LAYERS)) {
    const record = file.layers && file.layers[name];
    if (!record || JSON.stringify(record.shape) !== JSON.stringify(shape)) {
      throw new Error(`the weights file has no ${name} of shape [${shape}]: it is not the course's CNN`);
    }
    weights[name] = decode(record.data);
    if (weights[name].length !== shape.reduce((a, b) => a * b)) throw new Error(`the weights file's ${name} is cut short`);
  }
  return {weights, normalize: file.normalize !== false, mean: file.mean, std: file.std, source: file.source || {}};
}

// A convolution (no padding, stride 1), then max-pool 2, then ReLU: one stage of CNN.forward.
function convPoolRelu(input, channels, size, weight, bias, outChannels) {
  const k = 5, convSize = size - k + 1, pooled = convSize / 2;
  const conv = new Float64Array(outChannels * convSize * convSize);
  for (let o = 0; o < outChannels; o++) {
    for (let y = 0; y < convSize; y++) {
      for (let x = 0; x < convSize; x++) {
        let sum = bias[o];
        for (let c = 0; c < channels; c++) {
          const w0 = ((o * channels + c) * k) * k, i0 = c * size * size;
          for (let ky = 0; ky < k; ky++) {
            for (let kx = 0; kx < k; kx++) sum += weight[w0 + ky * k + kx] * input[i0 + (y + ky) * size + x + kx];
          }
        }
        conv[(o * convSize + y) * convSize + x] = sum;
      }
    }
  }
  const out = new Float32Array(outChannels * pooled * pooled);
  for (let o = 0; o < outChannels; o++) {
    for (let y = 0; y < pooled; y++) {
      for (let x = 0; x < pooled; x++) {
        const at = (dy, dx) => conv[(o * convSize + 2 * y + dy) * convSize + 2 * x + dx];
        out[(o * pooled + y) * pooled + x] = Math.max(0, at(0, 0), at(0, 1), at(1, 0), at(1, 1));
      }
    }
  }
  return out;
}

function linear(input, weight, bias, outputs) {
  const out = new Float64Array(outputs);
  for (let o = 0; o < outputs; o++) {
    let sum = bias[o];
    for (let i = 0; i < input.length; i++) sum += weight[o * input.length + i] * input[i];
    out[o] = sum;
  }
  return out;
}

function softmax(logits) {
  const top = Math.max(...logits), exps = logits.map((v) => Math.exp(v - top));
  const total = exps.reduce((a, b) => a + b);
  return exps.map((v) => v / total);
}

// Every layer's answer to one 28x28 input (dropout is off, as in eval mode).
function forward(network, input) {
  const w = network.weights;
  const conv1 = convPoolRelu(input, 1, 28, w["conv1.weight"], w["conv1.bias"], 10);
  const conv2 = convPoolRelu(conv1, 10, 12, w["conv2.weight"], w["conv2.bias"], 20);
  const fc1 = linear(conv2, w["fc1.weight"], w["fc1.bias"], 50).map((v) => Math.max(0, v));
  const logits = linear(fc1, w["fc2.weight"], w["fc2.bias"], 10);
  const probabilities = softmax(Array.from(logits));
  const digit = probabilities.indexOf(Math.max(...probabilities));
  return {conv1, conv2, fc1, logits, probabilities, digit};
}

// ---- The page ----------------------------------------------------------------------------------------------

const CANVAS = 280, PEN_WIDTH = 18;  // as the drawing pad of `python -m solutions draw`

function paint(canvas, values, size, colour) {
  const pen = canvas.getContext("2d"), image = pen.createImageData(size, size);
  for (let i = 0; i < size * size; i++) {
    const [red, green, blue] = colour(values[i]);
    image.data[4 * i] = red; image.data[4 * i + 1] = green; image.data[4 * i + 2] = blue; image.data[4 * i + 3] = 255;
  }
  pen.putImageData(image, 0, 0);
}

const gray = (v) => { const g = Math.round(255 * Math.min(1, Math.max(0, v))); return [g, g, g]; };
// Weights as in lesson 2's figures: red where positive (wants ink), blue where negative (wants none), white at 0.
const diverging = (v) => {
  const t = Math.min(1, Math.abs(v)), fade = Math.round(255 - 215 * t);
  return v >= 0 ? [255, fade, fade] : [fade, fade, 255];
};
const maxAbs = (values) => values.reduce((m, v) => Math.max(m, Math.abs(v)), 1e-12);

function element(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  node.append(...children);
  return node;
}

function mapTiles(container, count, size, layer) {
  return Array.from({length: count}, (_, index) => {
    const canvas = element("canvas", {width: size, height: size});
    const tile = element("button", {type: "button", class: "li-map", "data-layer": layer, "data-index": index,
                                    "aria-label": `${layer} map ${index + 1}: show its kernel`},
                         [canvas, element("span", {}, [String(index + 1)])]);
    container.append(tile);
    return canvas;
  });
}

class LookInside {
  constructor(root) {
    this.root = root;
    this.network = null;
    this.reading = null;
    this.timing = null;
    this.pad = root.querySelector("#li-canvas");
    this.pen = this.pad.getContext("2d", {willReadFrequently: true});
    this.maps = {
      conv1: mapTiles(root.querySelector("#li-conv1"), 10, 12, "conv1"),
      conv2: mapTiles(root.querySelector("#li-conv2"), 20, 4, "conv2"),
    };
    this.fc1 = Array.from({length: 50}, (_, index) => {
      const cell = element("button", {type: "button", class: "li-unit", "data-layer": "fc1", "data-index": index,
                                      "aria-label": `fc1 unit ${index + 1}: show what it votes for`});
      root.querySelector("#li-fc1").append(cell);
      return cell;
    });
    this.bars = Array.from({length: 10}, (_, digit) => {
      const bar = element("meter", {min: 0, max: 1, value: 0, "aria-label": `probability of ${digit}`});
      const value = element("span", {class: "li-value"}, ["–"]);
      root.querySelector("#li-probabilities").append(element("div", {class: "li-bar"}, [
        element("span", {class: "li-label"}, [String(digit)]), bar, value]));
      return {bar, value};
    });
    this.clear();
    this.listen();
  }

  clear() {
    this.pen.fillStyle = "#fff";
    this.pen.fillRect(0, 0, CANVAS, CANVAS);
    this.show(null);
  }

  listen() {
    const pad = this.pad;
    let last = null;
    const at = (event) => {
      const box = pad.getBoundingClientRect();
      return [(event.clientX - box.left) * CANVAS / box.width, (event.clientY - box.top) * CANVAS / box.height];
    };
    const line = (to) => {
      Object.assign(this.pen, {lineWidth: PEN_WIDTH, lineCap: "round", lineJoin: "round", strokeStyle: "#000"});
      this.pen.beginPath(); this.pen.moveTo(...last); this.pen.lineTo(...to); this.pen.stroke();
      last = to;
    };
    pad.addEventListener("pointerdown", (event) => {
      event.preventDefault();
      pad.setPointerCapture(event.pointerId);
      last = at(event);
      line(last);
    });
    pad.addEventListener("pointermove", (event) => { if (last) line(at(event)); });
    const end = () => {
      if (!last) return;
      last = null;
      this.read();
    };
    pad.addEventListener("pointerup", end);
    pad.addEventListener("pointercancel", end);
    this.root.querySelector("#li-clear").addEventListener("click", () => this.clear());
    this.root.querySelector("#li-own").addEventListener("change", (event) => this.openOwn(event.target.files[0]));
    this.root.querySelector("#li-picture").addEventListener("change", (event) => this.openPicture(event.target.files[0]));
    this.root.querySelector("#li-sample").addEventListener("change", (event) => this.drawTestDigit(event.target.value));
    for (const tile of this.root.querySelectorAll("[data-layer]")) {
      const explain = () => this.explain(tile.dataset.layer, Number(tile.dataset.index));
      tile.addEventListener("pointerenter", explain);
      tile.addEventListener("focus", explain);
      tile.addEventListener("click", explain);
    }
  }

  use(network, note) {
    this.network = network;
    this.status(note);
    this.read();
  }

  status(text, error = false) {
    const status = this.root.querySelector("#li-status");
    status.textContent = text;
    status.classList.toggle("li-error", error);
  }

  async openOwn(file) {
    if (!file) return;
    try {
      this.use(loadNetwork(JSON.parse(await file.text())), `Your network (${file.name}) is reading.`);
    } catch (error) {
      this.status(`${file.name} cannot be used: ${error instanceof SyntaxError ? "it is not a JSON file" : error.message}.`, true);
    }
  }

  // The MNIST test digits to choose from, for a reader with no pointer: a choice, and the digit's pixels.
  offerTestDigits(file) {
    this.testDigits = file.digits;
    this.root.querySelector("#li-sample").append(...file.digits.map(({label, index}, at) =>
      element("option", {value: at}, [`a ${label} (test image ${index})`])));
  }

  // Paint a test digit on the canvas as a drawing would be: dark ink on white, the canvas's size, and read it.
  drawTestDigit(at) {
    if (at === "" || !this.testDigits) return;
    const pixels = Uint8Array.from(atob(this.testDigits[Number(at)].pixels), (c) => c.charCodeAt(0));
    const digit = element("canvas", {width: 28, height: 28});
    paint(digit, Float32Array.from(pixels, (v) => 1 - v / 255), 28, gray);
    this.drawPicture(digit, 28, 28);
  }

  // A picture of a digit from the computer (a photo, a scan, a drawing), fitted into the canvas on white.
  async openPicture(file) {
    if (!file) return;
    try {
      const picture = await createImageBitmap(file);
      this.drawPicture(picture, picture.width, picture.height);
    } catch (error) {
      this.status(`${file.name} cannot be read as a picture.`, true);
    }
  }

  drawPicture(picture, width, height) {
    const scale = CANVAS / Math.max(width, height), w = width * scale, h = height * scale;
    this.pen.fillStyle = "#fff";
    this.pen.fillRect(0, 0, CANVAS, CANVAS);
    this.pen.imageSmoothingEnabled = true;
    this.pen.drawImage(picture, (CANVAS - w) / 2, (CANVAS - h) / 2, w, h);
    this.read();
  }

  // Prepare the drawing, run the network and show every layer: the stroke-to-answer path.
  read() {
    if (!this.network) return;
    const start = performance.now();
    const drawing = this.pen.getImageData(0, 0, CANVAS, CANVAS).data;
    const prepared = prepare(drawing, CANVAS, CANVAS, this.network);
    const prepareEnd = performance.now();
    const reading = prepared && {...forward(this.network, prepared.input), ...prepared};
    const forwardEnd = performance.now();
    this.show(reading);
    const end = performance.now();
    this.timing = {prepare: prepareEnd - start, forward: forwardEnd - prepareEnd, show: end - forwardEnd, total: end - start};
  }

  show(reading) {
    this.reading = reading;
    this.root.classList.toggle("li-empty", !reading);
    this.root.querySelector("#li-digit").textContent = reading ? String(reading.digit) : "–";
    this.root.querySelector("#li-confidence").textContent =
      reading ? `(${(100 * reading.probabilities[reading.digit]).toFixed(1)}%)` : "draw a digit";
    this.pad.setAttribute("aria-label", reading ? `Drawing canvas: it holds a digit the network reads as ${reading.digit}`
                                                : "Drawing canvas: draw one digit");
    this.root.querySelector("#li-input").setAttribute("aria-label", reading
      ? `The prepared 28 by 28 input: the digit in white on black, centred, as the network sees it`
      : "The prepared 28 by 28 input: empty");
    this.bars.forEach(({bar, value}, digit) => {
      const p = reading ? reading.probabilities[digit] : 0;
      bar.value = p;
      bar.classList.toggle("li-top", !!reading && digit === reading.digit);
      value.textContent = reading ? `${(100 * p).toFixed(1)}%` : "–";
    });
    const empty = new Float32Array(28 * 28);
    paint(this.root.querySelector("#li-input"), reading ? reading.field : empty, 28, gray);
    for (const [layer, size] of [["conv1", 12], ["conv2", 4]]) {
      const values = reading ? reading[layer] : empty, top = maxAbs(values);
      this.maps[layer].forEach((canvas, index) => {
        const map = values.subarray(index * size * size, (index + 1) * size * size);
        paint(canvas, map.map((v) => v / top), size, gray);
        // Said with the map's number: how strongly it answers, in words a listener can compare.
        const strongest = reading ? `, strongest answer ${Math.max(...map).toFixed(2)}` : "";
        canvas.parentElement.setAttribute("aria-label", `${layer} map ${index + 1}${strongest}: show its kernel`);
      });
    }
    const top = reading ? maxAbs(reading.fc1) : 1;
    this.fc1.forEach((cell, index) => {
      const v = reading ? reading.fc1[index] : 0;
      cell.style.setProperty("--level", (v / top).toFixed(3));
      cell.title = `fc1 unit ${index + 1}: ${v.toFixed(2)}`;
      cell.setAttribute("aria-label", `${cell.title}: show what it votes for`);
    });
    if (this.explained) this.explain(...this.explained);
  }

  explain(layer, index) {
    this.explained = [layer, index];
    const detail = this.root.querySelector("#li-detail"), w = this.network && this.network.weights;
    if (!w) return;
    detail.replaceChildren(...(layer === "fc1" ? this.unitDetail(w, index) : this.mapDetail(w, layer, index)));
    for (const tile of this.root.querySelectorAll("[data-layer]")) {
      tile.classList.toggle("li-chosen", tile.dataset.layer === layer && Number(tile.dataset.index) === index);
    }
  }

  kernelCanvas(values, scale, name) {
    const canvas = element("canvas", {width: 5, height: 5, class: "li-kernel", role: "img",
                                      "aria-label": `${name}: red where it wants ink, blue where it wants none`});
    paint(canvas, values.map((v) => v / scale), 5, diverging);
    return canvas;
  }

  mapDetail(w, layer, index) {
    const heading = element("h3", {}, [`${layer}, map ${index + 1}`]);
    const activity = this.reading ? this.reading[layer] : null, size = layer === "conv1" ? 12 : 4;
    const strongest = activity ? Math.max(...activity.subarray(index * size * size, (index + 1) * size * size)) : 0;
    const answer = element("p", {}, [activity ? `On your drawing its strongest answer is ${strongest.toFixed(2)}.` : ""]);
    if (layer === "conv1") {
      const kernel = w["conv1.weight"].subarray(25 * index, 25 * index + 25);
      return [heading, element("div", {class: "li-kernels"}, [this.kernelCanvas(kernel, maxAbs(kernel), "its 5 by 5 kernel")]),
              element("p", {}, ["Its 5×5 kernel slides over the 28×28 input. It answers most where the ink looks like ",
                                "its red weights and the paper like its blue ones: the red pattern is the stroke ",
                                "it looks for. Pooling keeps the strongest answer of each 2×2 block, ReLU drops the negatives."]),
              answer];
    }
    const kernels = w["conv2.weight"].subarray(250 * index, 250 * index + 250), scale = maxAbs(kernels);
    const strength = Array.from({length: 10}, (_, c) => kernels.subarray(25 * c, 25 * c + 25).reduce((a, b) => a + b));
    const order = strength.map((s, c) => [s, c]).sort((a, b) => b[0] - a[0]);
    const names = (pairs) => pairs.map(([, c]) => c + 1).join(", ");
    return [heading,
            element("div", {class: "li-kernels"}, Array.from({length: 10}, (_, c) => element("figure", {}, [
              this.kernelCanvas(kernels.subarray(25 * c, 25 * c + 25), scale, `its kernel on conv1 map ${c + 1}`),
              element("figcaption", {}, [String(c + 1)])]))),
            element("p", {}, ["It looks at all ten conv1 maps at once, with one 5×5 kernel for each (numbered as the ",
                              "conv1 maps). It responds to shapes built from the strokes found by conv1 maps ",
                              `${names(order.slice(0, 3))} (most weight in favour) and is held back by maps `,
                              `${names(order.slice(-2))} (most weight against).`]),
            answer];
  }

  unitDetail(w, index) {
    const votes = Array.from({length: 10}, (_, digit) => [w["fc2.weight"][digit * 50 + index], digit])
      .sort((a, b) => b[0] - a[0]);
    const value = this.reading ? this.reading.fc1[index] : 0;
    return [element("h3", {}, [`fc1, unit ${index + 1}`]),
            element("p", {}, [`It reads all 320 values of the conv2 maps. On your drawing it answers ${value.toFixed(2)}. `,
                              `When it is active it pushes the answer towards ${votes.slice(0, 2).map((v) => v[1]).join(" and ")} `,
                              `and away from ${votes.slice(-2).map((v) => v[1]).join(" and ")} (its weights in fc2).`])];
  }
}

const root = document.getElementById("look-inside");
if (root) {
  const page = new LookInside(root);
  fetch(root.dataset.weights)
    .then((response) => {
      if (!response.ok) throw new Error(`${root.dataset.weights} is missing (HTTP ${response.status})`);
      return response.json();
    })
    .then((file) => {
      const network = loadNetwork(file);
      const accuracy = network.source.accuracy ? `, ${Number(network.source.accuracy).toFixed(2)}% on the MNIST test set` : "";
      page.use(network, `The network of ${network.source.name || "the course"} is reading${accuracy}. Draw a digit.`);
    })
    .catch((error) => page.status(`The network could not be loaded: ${error.message}.`, true));
  fetch(root.dataset.testDigits)
    .then((response) => (response.ok ? response.json() : Promise.reject(new Error(`HTTP ${response.status}`))))
    .then((file) => page.offerTestDigits(file))
    .catch(() => root.querySelector(".li-sample").remove());  // drawing still works without them
  window.lookInside = {page, prepare, forward, loadNetwork};  // for the tests and the benchmark
}
