"""The drawing pad: draw a digit in your browser and watch the network read it.

    python -m solutions draw [--checkpoint PATH] [--port N] [--host HOST]

A local web page (Gradio) with a canvas for a mouse, finger or pen and an upload
field for a photo. After every stroke it shows the digit read, the probability of
each of the ten, and the preprocessing step by step, so that you see what the
network sees. Run as ``python -m exercises draw``, it uses your own model,
preprocessing and inference code. The page works offline and is served on
127.0.0.1 only, unless ``--host`` says otherwise.

Whatever a page sends, the work it causes is bounded: drawings and uploads are
read one at a time from a short queue, request bodies, uploads and images have
size limits checked before anything is decoded, and uploaded files and the step
images shown are deleted ten to twenty minutes later, and all of them when the pad stops.
"""

from __future__ import annotations

import base64
import binascii
import io
import os
import signal
import tempfile
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError

from .checkpoint import load_checkpoint
from .data import match_input_scale
from .device import select_device
from .errors import CourseError
from .mnist import MNIST_MEAN, MNIST_STD
from .parts import Parts, chosen
from .serving import BodyLimit, check_bindable, reach_note
from .unfinished import require_written

DRAWING_MODULES = ("model.py", "inference.py", "preprocess.py")  # the exercises the pad runs
PANEL = 128  # pixels a side of each step in the strip
CAPTION = 22  # pixels below each step for its caption
CANVAS = 280  # pixels a side of the canvas, ten times MNIST's 28
PNG_DATA_URL = "data:image/png;base64,"
MAX_DRAWING_CHARS = 2_000_000  # a data URL of the canvas is a few kilobytes
MAX_DRAWING_PIXELS = 4_000_000  # the canvas sends 280x280
MAX_UPLOAD_BYTES = 20 * 2**20  # a phone photo is a few megabytes
MAX_UPLOAD_PIXELS = 50_000_000  # decoded, after a JPEG's reduced decoding: at most 200 MB in RGBA
MAX_REQUEST_BYTES = 4 * 2**20  # any other request: an event with its drawing
CACHE_SECONDS = 600  # how long uploads and the step strips shown stay on the disk, at least
QUEUE_SIZE = 8  # readings waiting for their turn; more are refused until the queue empties
# A plain 2D canvas rather than gr.Sketchpad: the sketchpad exports its layers through WebGL after every
# stroke (about 500 ms where the browser draws in software) and uploads them in several requests. This one
# sends its PNG, a few kilobytes, as the event's value once per stroke: one request from stroke to answer.
CANVAS_HTML = (f'<div style="display: flex; justify-content: center; padding: 28px 8px 8px;">'
               f'<canvas width="{CANVAS}" height="{CANVAS}" aria-label="Drawing canvas: draw one digit" '
               'style="touch-action: none; cursor: crosshair; background: #fff; max-width: 100%; '
               'box-shadow: 0 0 0 1px var(--border-color-primary);"></canvas></div>'
               # The answer in words, announced by a screen reader, which cannot see the bars; kept by CANVAS_JS
               '<p role="status" aria-live="polite" style="position: absolute; width: 1px; height: 1px; '
               'overflow: hidden; clip-path: inset(50%); white-space: nowrap;"></p>')
CANVAS_JS = """
const canvas = element.querySelector('canvas');
const pen = canvas.getContext('2d');
const blank = () => { pen.fillStyle = '#fff'; pen.fillRect(0, 0, canvas.width, canvas.height); };
blank();
canvas.clear = blank;
pen.lineWidth = 18; pen.lineCap = 'round'; pen.lineJoin = 'round'; pen.strokeStyle = '#000';
let last = null;
const at = (event) => {
    const box = canvas.getBoundingClientRect();
    return [(event.clientX - box.left) * canvas.width / box.width,
            (event.clientY - box.top) * canvas.height / box.height];
};
const line = (to) => { pen.beginPath(); pen.moveTo(...last); pen.lineTo(...to); pen.stroke(); last = to; };
canvas.addEventListener('pointerdown', (event) => {
    canvas.setPointerCapture(event.pointerId);
    last = at(event);
    line(last);
});
canvas.addEventListener('pointermove', (event) => { if (last) line(at(event)); });
const end = () => {
    if (!last) return;
    last = null;
    props.value = canvas.toDataURL('image/png');  // a new value is a change, which nothing listens to
    trigger('input');  // read once per stroke, even when this stroke leaves the drawing as it was
};
canvas.addEventListener('pointerup', end);
canvas.addEventListener('pointercancel', end);
const said = element.querySelector('[role=status]');
new MutationObserver(() => {
    const digit = document.querySelector('#answer [data-testid=label-output-value]');
    const text = digit ? `The network reads ${digit.innerText.trim()}.` : '';
    if (said.textContent !== text) said.textContent = text;  // only a change is announced, and observed
    // Gradio names its empty placeholders on plain divs, where a name is not allowed: they are pictures yet to come.
    for (const empty of document.querySelectorAll('div.empty[aria-label]:not([role])')) {
        empty.setAttribute('role', 'img');
    }
}).observe(document.body, {subtree: true, childList: true, characterData: true});
"""
# Clearing the canvas is the page's own business: no request needed.
CLEAR_CANVAS = """() => { document.querySelector('#pad canvas').clear(); }"""
STEP_TITLES = ("as drawn", "ink on black", "cropped", "scaled into 20x20", "centred by mass", "normalised")


@dataclass(frozen=True)
class Reading:
    """What the network made of one drawing, and the steps that led there."""

    digit: int
    probabilities: list[float]
    steps: list[tuple[str, np.ndarray]]

    def confidences(self) -> dict[str, float]:
        """The probabilities by digit, as the page's probability bars take them."""
        return {str(digit): probability for digit, probability in enumerate(self.probabilities)}


class DigitReader:
    """A trained model and the preprocessing in front of it, ready to read drawings one by one."""

    def __init__(self, checkpoint: str | os.PathLike, device: torch.device | str = "cpu",
                 parts: Parts | None = None) -> None:
        self.parts = chosen(parts)  # whose model, preprocessing and predict read the drawings
        path = Path(checkpoint)
        if not path.is_file():
            raise CourseError(f"no checkpoint at {path}: train one first with python -m {self.parts.package} train "
                              f"(or pass --checkpoint PATH)")
        self.device = torch.device(device)
        try:
            self.model, metadata = load_checkpoint(path, self.device, self.parts)
            self.normalized = metadata.get("normalize", True)
            self.read(a_stroke())  # a first reading runs every step once: missing code shows now, not later
        except NotImplementedError as error:
            raise CourseError(f"the drawing pad runs your own code, and it is not finished: {error}") from error

    def read(self, image: Image.Image) -> Reading:
        """Prepare ``image`` like MNIST, run the model on it, and keep every step to show."""
        preprocess = self.parts.preprocess
        image = preprocess.reduce_to_working_size(image)
        model_input = preprocess.prepare_drawing(image)
        scaled = match_input_scale(model_input, self.normalized).unsqueeze(0)
        prediction = self.parts.inference.predict(self.model, scaled, self.device)
        steps = steps_of(image, model_input, self.parts)
        return Reading(int(prediction.digits[0]), prediction.probabilities[0].tolist(), steps)


def a_stroke() -> Image.Image:
    """A single dark stroke on white, as a first drawing to read."""
    canvas = Image.new("L", (64, 64), 255)
    ImageDraw.Draw(canvas).line([(32, 8), (30, 56)], fill=0, width=5)
    return canvas


def drawing_from(value: object, parts: Parts | None = None) -> Image.Image | None:
    """The canvas's drawing from the PNG data URL it sends after each stroke; ``None`` before the first.

    The URL's length and the PNG's size in pixels are checked before anything is decoded.

    Raises:
        ValueError: the value is not a PNG data URL of sensible size, or not a readable PNG.
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not value.startswith(PNG_DATA_URL):
        raise ValueError("the canvas sent something other than a PNG data URL; reload the page")
    if len(value) > MAX_DRAWING_CHARS:
        raise ValueError(f"the canvas sent {len(value) / 1e6:.1f} MB, more than a drawing needs "
                         f"({MAX_DRAWING_CHARS / 1e6:g} MB at most); reload the page")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # check_pixels is stricter
            image = Image.open(io.BytesIO(base64.b64decode(value[len(PNG_DATA_URL):], validate=True)), formats=["PNG"])
            chosen(parts).preprocess.check_pixels(image, MAX_DRAWING_PIXELS, "the drawing")
            image.load()
    except CourseError as error:
        raise ValueError(f"{error}") from error
    except Image.DecompressionBombError as error:  # so large that Pillow refuses to open it
        raise ValueError(f"the drawing has far more than the {MAX_DRAWING_PIXELS / 1e6:g} megapixels read here; "
                         "reload the page") from error
    except (binascii.Error, OSError, SyntaxError) as error:
        detail = "not a PNG image" if isinstance(error, UnidentifiedImageError) else f"{error}"
        raise ValueError(f"the canvas sent an unreadable PNG ({detail}); reload the page") from error
    return image


def as_drawn(image: Image.Image, parts: Parts | None = None) -> np.ndarray:
    """The image as a person sees it, transparent parts on grey so that white and black ink both show."""
    preprocess = chosen(parts).preprocess
    if image.mode in preprocess.DEEP_MODES:
        return preprocess.grayscale_pixels(image)
    grey = Image.new("RGBA", image.size, (128, 128, 128, 255))
    return np.asarray(Image.alpha_composite(grey, image.convert("RGBA")).convert("RGB"), dtype=np.float32) / 255.0


def steps_of(image: Image.Image, model_input: torch.Tensor, parts: Parts | None = None) -> list[tuple[str, np.ndarray]]:
    """The drawing at each step of the preprocessing, as images in [0, 1] to show side by side.

    The last three come from ``model_input``, the prepared tensor itself; the first
    three retrace the way there from the given code's grayscale pixels.
    """
    preprocess = chosen(parts).preprocess
    pixels = preprocess.even_out_lighting(preprocess.grayscale_pixels(image))
    ink = 1.0 - pixels if np.median(pixels) > 0.5 else pixels
    inked = ink > preprocess.INK_THRESHOLD * ink.max()
    rows, cols = np.flatnonzero(inked.any(axis=1)), np.flatnonzero(inked.any(axis=0))
    cropped = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1] if rows.size else ink
    field = model_input[0].numpy()
    centred = np.clip(field * MNIST_STD + MNIST_MEAN, 0.0, 1.0)
    drawn = np.nonzero(centred > 0.05)
    box = preprocess.DIGIT_BOX
    boxed = np.zeros((box, box), dtype=np.float32)
    if drawn[0].size:
        digit = centred[drawn[0].min() : drawn[0].max() + 1, drawn[1].min() : drawn[1].max() + 1][:box, :box]
        top, left = (box - digit.shape[0]) // 2, (box - digit.shape[1]) // 2
        boxed[top : top + digit.shape[0], left : left + digit.shape[1]] = digit
    span = float(field.max() - field.min()) or 1.0
    normalised = (field - field.min()) / span
    return list(zip(STEP_TITLES, [as_drawn(image, parts), ink, cropped, boxed, centred, normalised]))


def step_strip(steps: Sequence[tuple[str, np.ndarray]], columns: int = 3) -> Image.Image:
    """The steps on one image, ``columns`` to a row, each scaled to fit a square panel, with its title below."""
    font = ImageFont.load_default(size=13)
    rows = -(-len(steps) // columns)
    cell = (PANEL + 8, PANEL + CAPTION + 8)
    strip = Image.new("RGB", (columns * cell[0] + 8, rows * cell[1] + 8), (32, 33, 36))
    draw = ImageDraw.Draw(strip)
    for index, (title, picture) in enumerate(steps):
        panel = Image.fromarray((np.clip(picture, 0.0, 1.0) * 255).astype(np.uint8))
        small = max(panel.size) <= 28  # the model's pixels stay visible as squares
        scale = PANEL / max(panel.size)
        size = (max(1, round(panel.width * scale)), max(1, round(panel.height * scale)))
        panel = panel.resize(size, Image.Resampling.NEAREST if small else Image.Resampling.LANCZOS)
        left, top = 8 + index % columns * cell[0], 8 + index // columns * cell[1]
        strip.paste(panel, (left + (PANEL - size[0]) // 2, top + (PANEL - size[1]) // 2))
        draw.text((left + PANEL / 2, top + PANEL + 6), title, fill=(232, 232, 232), font=font, anchor="mt")
    return strip


def build_app(reader: DigitReader):
    """The Gradio page: canvas, upload field, the digit read with its probabilities, and the steps."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # no telemetry and no version check: the page works offline
    import gradio as gr

    def show(image: Image.Image | None, notes: Sequence[str] = ()):
        if image is None:
            return None, None, ""
        try:
            reading = reader.read(image)
        except CourseError as error:
            return None, None, f"{error}"
        except NotImplementedError as error:
            return None, None, f"Your code is not finished: {error}"
        except Exception as error:  # the learner's own code may fail in any way; the page says how
            return None, None, f"The preprocessing or the model failed: {type(error).__name__}: {error}"
        return reading.confidences(), save_strip(step_strip(reading.steps), steps.GRADIO_CACHE), "\n\n".join(notes)

    def on_draw(value: str | None):
        try:
            return show(drawing_from(value, reader.parts))
        except ValueError as error:
            return None, None, f"{error}"

    def on_upload(path: str | None):
        # The upload stays where it is: one photo uploaded from two pages is one file, which Gradio's
        # cache clears with the rest. Deleting it here would take it from the page read second.
        if not path:
            return show(None)
        notes: list[str] = []
        try:
            image = reader.parts.preprocess.load_image(path, report=notes.append, max_pixels=MAX_UPLOAD_PIXELS)
        except CourseError as error:
            return None, None, f"{error}".replace(str(Path(path).parent) + os.sep, "")
        return show(image, [note.replace(str(Path(path).parent) + os.sep, "") for note in notes])

    # Uploads and the step strips shown are files: those older than CACHE_SECONDS are deleted as often.
    with gr.Blocks(title="Draw a digit", analytics_enabled=False, delete_cache=(CACHE_SECONDS, CACHE_SECONDS)) as app:
        gr.Markdown("# Draw a digit\nDraw one digit, 0 to 9, as large as the canvas. "
                    "After each stroke the network says what it reads.")
        with gr.Row():
            with gr.Column(scale=1, min_width=300):
                pad = gr.HTML(html_template=CANVAS_HTML, js_on_load=CANVAS_JS, elem_id="pad", label="Canvas",
                              show_label=True, container=True)
                clear = gr.Button("Clear", elem_id="clear")
                upload = gr.File(label="…or a photo or image file", file_types=["image"], type="filepath",
                                 height=140, elem_id="upload")
            with gr.Column(scale=1, min_width=300):
                answer = gr.Label(num_top_classes=10, label="The network reads", elem_id="answer")
                note = gr.Markdown(elem_id="note")
                gr.Markdown("**What the network sees, step by step**")
                steps = gr.Image(show_label=False, type="filepath", interactive=False, buttons=[], elem_id="steps")
        outputs = [answer, steps, note]
        # One reading at a time, drawings and uploads alike, whatever the number of pages sending them.
        pad.input(on_draw, pad, outputs, show_progress="hidden", trigger_mode="always_last", concurrency_limit=1,
                   concurrency_id="reading")
        upload.upload(on_upload, upload, outputs, show_progress="hidden", concurrency_limit=1,
                      concurrency_id="reading")
        # Clearing waits for the reading under way, which would otherwise show its answer on the blank canvas.
        clear.click(lambda: (None, None, None, ""), None, [upload, *outputs], js=CLEAR_CANVAS, show_progress="hidden",
                    concurrency_limit=1, concurrency_id="reading")
    return app.queue(max_size=QUEUE_SIZE, default_concurrency_limit=1)


def save_strip(strip: Image.Image, folder: str | os.PathLike) -> str:
    """Save a step strip as a new PNG file in ``folder``, and return its path.

    Every reading gets a file of its own, never written again. Gradio's cache names an
    image by its content and writes it anew when the same image is shown twice (one photo
    uploaded from two pages, say), and a page still loading the first copy gets it cut short.
    Files in Gradio's cache are deleted with the rest of it after ``CACHE_SECONDS``.
    """
    Path(folder).mkdir(parents=True, exist_ok=True)  # Gradio makes its cache only when it first writes to it
    handle, path = tempfile.mkstemp(prefix="steps-", suffix=".png", dir=folder)
    with os.fdopen(handle, "wb") as file:
        strip.save(file, format="PNG")
    return path


def open_pad(checkpoint: str, port: int, host: str, device: str, parts: Parts | None = None) -> int:
    """Serve the drawing pad with ``parts`` until Ctrl-C (``python -m solutions draw`` or ``exercises``; see :mod:`.cli`).

    Raises:
        CourseError: the pad's modules are stubs, the checkpoint cannot be read, or the port cannot be served.
    """
    # Stopped by a service manager, even while starting: clean up as for Ctrl-C.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        parts = chosen(parts)
        require_written("draw", DRAWING_MODULES, parts.folder)
        note = reach_note(host)
        reader = DigitReader(checkpoint, select_device(device), parts)
        check_bindable(host, port)
        with tempfile.TemporaryDirectory(prefix="drawing-pad-") as uploads:
            os.environ["GRADIO_TEMP_DIR"] = uploads  # uploads land here, and go when the pad stops
            serve(reader, host, port, note)
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0


def serve(reader: DigitReader, host: str, port: int, note: str | None) -> None:
    """Build the page, serve it on ``host``:``port`` with its limits, and keep it served until stopped."""
    try:
        app = build_app(reader)
    except ImportError as error:
        raise CourseError(f"the drawing pad needs Gradio: pip install -e '.[draw]' ({error})") from error
    from starlette.middleware import Middleware

    limits = Middleware(BodyLimit, upload_bytes=MAX_UPLOAD_BYTES + 2**20, other_bytes=MAX_REQUEST_BYTES)
    try:
        app.launch(server_name=host, server_port=port, theme=gradio_theme(), ssr_mode=False, quiet=True,
                   footer_links=[], show_error=True, prevent_thread_lock=True, max_file_size=MAX_UPLOAD_BYTES,
                   app_kwargs={"middleware": [limits]})
    except OSError as error:
        raise CourseError(f"cannot serve on {host}:{port} ({error}); choose another --port N") from error
    if note:
        print(note, flush=True)
    print(f"Drawing pad on http://{host}:{port}/ (Ctrl-C stops it)", flush=True)
    serve_until_interrupted(app)


def serve_until_interrupted(app) -> None:
    """Keep the page served until Ctrl-C or a termination signal (see :func:`open_pad`), then close the server."""
    try:
        while app.is_running:
            time.sleep(0.2)
    except KeyboardInterrupt:
        print("Drawing pad stopped.", flush=True)
    finally:
        app.close()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def gradio_theme():
    """Gradio's default look with the computer's own fonts, so that no font is fetched from the internet,
    and its softer text (the upload field's "- or -") dark enough to read: 4.5:1 at least (WCAG 1.4.3)."""
    import gradio as gr

    system = ["ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif"]
    return gr.themes.Default(font=system, font_mono=["ui-monospace", "Consolas", "monospace"]).set(
        body_text_color_subdued="*neutral_600", body_text_color_subdued_dark="*neutral_300")
