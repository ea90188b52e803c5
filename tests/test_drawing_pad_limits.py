"""The drawing pad against hostile and odd requests, over HTTP, on a free loopback port.

Each case sends what a page (or anyone who can reach the pad) could send: strokes that
are not PNG data URLs, images far too large, huge uploads, many at once. The pad must
answer each with a message or an HTTP status, never a 500 or a traceback, keep its
memory bounded, and leave no uploaded file behind once it stops.
"""

from __future__ import annotations

import base64
import http.client
import io
import struct
import subprocess
import sys
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

import pytest
from PIL import Image, ImageDraw

from course.checkpoint import save_checkpoint
from course.drawing_pad import MAX_DRAWING_CHARS
from course.serving import reach_note
from solutions.model import CNN
from tests.drawing_pad_browser import ROOT, free_port, running_pad
from tests.photos import png_chunk

pytest.importorskip("gradio", reason="the draw extra is not installed: pip install -e '.[draw]'")
gradio_client = pytest.importorskip("gradio_client")

MEMORY_BOUND = 600 * 2**20  # growth of the pad's resident memory allowed under any load


def png(width: int, height: int, colour_type: int = 6, rows: int | None = None) -> bytes:
    """A PNG of ``width`` × ``height`` all-zero pixels (transparent in RGBA), compressed row by row.

    ``rows`` limits the rows actually stored: the header still claims ``height``.
    """
    channels = {0: 1, 2: 3, 6: 4}[colour_type]
    compressor, data = zlib.compressobj(9), []
    row = bytes(1 + width * channels)
    for _ in range(height if rows is None else rows):
        data.append(compressor.compress(row))
    data.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", b"".join(data)) + png_chunk(b"IEND", b"")


def data_url(content: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(content).decode()


def seven() -> str:
    canvas = Image.new("RGBA", (280, 280), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).line([(70, 50), (210, 50), (120, 240)], fill=(0, 0, 0, 255), width=18)
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    return data_url(buffer.getvalue())


@pytest.fixture(scope="module")
def pad(tmp_path_factory, trained_model):
    """A running pad, its URL, process and the temporary folder its uploads go to."""
    folder = tmp_path_factory.mktemp("pad-limits")
    checkpoint = save_checkpoint(folder / "model.pt", trained_model, normalize=True)
    temporary = folder / "tmp"
    temporary.mkdir()
    with running_pad(checkpoint, env={"TMPDIR": str(temporary)}) as (url, process):
        yield url, process, temporary
    assert process.returncode == 0
    log = process.stderr.read()
    assert "Traceback" not in log and "ERROR" not in log, log
    assert list(temporary.iterdir()) == [], "uploads must be deleted when the pad stops"


def read(url: str, value: object) -> tuple[object, object, str]:
    """What the pad answers to a stroke whose value is ``value``: the probabilities, the steps and the note."""
    return gradio_client.Client(url, verbose=False).predict(value, api_name="/on_draw")


def digit_read(answer: tuple[object, object, str]) -> str | None:
    return answer[0].get("label") if isinstance(answer[0], dict) else None


def post(url: str, path: str, length: int, content_type: str = "application/json") -> int:
    """The HTTP status of a POST that announces ``length`` bytes of body (sends none if refused at once)."""
    address = urlparse(url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    try:
        connection.putrequest("POST", path)
        connection.putheader("Content-Type", content_type)
        connection.putheader("Content-Length", str(length))
        connection.endheaders()
        return connection.getresponse().status
    finally:
        connection.close()


@pytest.mark.parametrize(
    "value, expected",
    [
        (12, "something other than a PNG data URL"),
        ({"path": "/etc/passwd"}, "something other than a PNG data URL"),
        ("data:text/html;base64,PGI+", "something other than a PNG data URL"),
        ("data:image/png;base64,bm90IGEgcG5n", "unreadable PNG (not a PNG image)"),
        ("data:image/png;base64," + "A" * (MAX_DRAWING_CHARS + 10), "more than a drawing needs"),
        (data_url(png(20000, 20000, rows=1)), "far more than the 4 megapixels read here"),
        (data_url(png(12000, 12000, colour_type=0, rows=1)), "is 12000×12000 pixels, more than the 4 megapixels"),
    ],
    ids=["a number", "a file reference", "HTML", "not a PNG", "too long", "400 megapixels", "144 megapixels"],
)
def test_a_stroke_that_is_not_a_sensible_png_gets_a_message(pad, value, expected):
    url, _, _ = pad
    probabilities, steps, note = read(url, value)
    assert expected in note and steps is None and digit_read((probabilities, steps, note)) is None


def test_a_request_body_too_large_is_refused_before_it_is_read(pad):
    url, _, _ = pad
    assert post(url, "/gradio_api/queue/join", 50 * 2**20) == 413
    assert post(url, "/gradio_api/upload", 300 * 2**20, "multipart/form-data; boundary=x") == 413
    assert digit_read(read(url, seven())) == "7"


def uploads_kept(folder: Path, upload: Path) -> list[Path]:
    """Files in ``folder`` that hold the uploaded file's bytes."""
    return [path for path in folder.rglob("*") if path.is_file() and path.read_bytes() == upload.read_bytes()]


def test_an_upload_is_read_and_kept_for_the_cache_to_clear(pad, tmp_path):
    """Another page may have sent the same photo, which Gradio stores as the same file: reading it leaves it."""
    url, _, temporary = pad
    photo = tmp_path / "seven.png"
    photo.write_bytes(base64.b64decode(seven().partition(",")[2]))
    client = gradio_client.Client(url, verbose=False)
    answer = client.predict(gradio_client.handle_file(str(photo)), api_name="/on_upload")
    assert digit_read(answer) == "7"
    assert len(uploads_kept(temporary, photo)) == 1


def test_an_upload_too_large_in_pixels_gets_a_message(pad, tmp_path):
    url, _, _ = pad
    huge = tmp_path / "huge.png"
    huge.write_bytes(png(9000, 9000, colour_type=2, rows=1))  # 81 megapixels claimed in a few bytes
    answer = gradio_client.Client(url, verbose=False).predict(gradio_client.handle_file(str(huge)),
                                                             api_name="/on_upload")
    assert "is 9000×9000 pixels, more than the 50 megapixels read here" in answer[2]


def resident(pid: int, field: str) -> int:
    """A memory figure of a process from /proc, in bytes: ``VmRSS`` now, ``VmHWM`` its peak so far."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise LookupError(field)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads memory figures from /proc")
def test_hostile_strokes_four_at_a_time_keep_memory_bounded(pad):
    """20 hostile strokes, 4 at a time; the peak resident memory stays within the bound, then a 7 is read."""
    url, process, _ = pad
    assert digit_read(read(url, seven())) == "7"
    idle = resident(process.pid, "VmRSS")
    transparent = data_url(png(12000, 12000))  # a valid 560 KB PNG that decodes to 576 MB
    hostile = [transparent, data_url(png(20000, 20000, rows=1)), 12, "data:image/png;base64," + "A" * 3_000_000,
               data_url(png(4000, 4000))] * 4
    with ThreadPoolExecutor(4) as pool:
        notes = [answer[2] for answer in pool.map(lambda value: read(url, value), hostile)]
    assert all(notes), notes
    peak = resident(process.pid, "VmHWM")
    print(f"pad memory: idle {idle / 2**20:.0f} MiB, peak {peak / 2**20:.0f} MiB "
          f"(+{(peak - idle) / 2**20:.0f} MiB) under 20 hostile strokes 4 at a time")
    assert peak - idle < MEMORY_BOUND
    assert digit_read(read(url, seven())) == "7"


def test_an_address_beyond_this_computer_is_named_as_such():
    assert reach_note("127.0.0.1") is None and reach_note("localhost") is None and reach_note("::1") is None
    assert "every computer that can reach this one" in reach_note("0.0.0.0")


@pytest.mark.parametrize(
    "host, expected",
    [("256.1.1.1", "--host 256.1.1.1 is not a valid IP address"),
     ("192.0.2.1", "cannot serve on --host 192.0.2.1: it is not an address of this computer")],
)
def test_an_address_that_cannot_be_used_says_so_not_port_taken(host, expected, tmp_path):
    checkpoint = save_checkpoint(tmp_path / "untrained.pt", CNN(), normalize=True)
    completed = subprocess.run([sys.executable, "-m", "solutions", "draw", "--host", host, "--port", str(free_port()),
                                "--checkpoint", str(checkpoint)],
                               cwd=ROOT, capture_output=True, text=True, timeout=120)
    lines = completed.stderr.strip().splitlines()
    assert completed.returncode == 2 and len(lines) == 1 and lines[0].startswith(f"error: {expected}"), lines
    assert "taken" not in completed.stderr


def test_serving_to_the_network_prints_who_can_reach_the_page(trained_model, tmp_path):
    checkpoint = save_checkpoint(tmp_path / "model.pt", trained_model, normalize=True)
    with running_pad(checkpoint, options=("--host", "0.0.0.0")) as (url, process):
        assert digit_read(read(url, seven())) == "7"
    output = process.stdout.read()
    assert output.splitlines()[0].startswith("note: --host 0.0.0.0 serves the page to every computer"), output
