"""Issue 27, item 2: one 113 KB PNG cost ~600 MB of server memory. A screenshot's size is refused
from its header before any pixel is decoded (at most 4096 px on the long side and 16 MP), the
entry's state and the uploader's right are checked before the image is read, uploads are limited
per account, and a decode is bounded in memory (one at a time per process, no copies of the
pixels). Peak RSS per upload through gunicorn: tests/deploy/test_probe_proof_uploads_gunicorn.py and
bench/proof_upload.py."""

from __future__ import annotations

import io
import threading
import time

import pytest
from PIL import Image, ImageFile
from sqlalchemy import func, select

from app.models import PaymentProof, ProofImage
from app.services.registration import proof_images
from tests.web.players.test_registration_portal import (  # noqa: F401  (fixtures)
    SETTINGS,
    STAFF_URL,
    app,
    captain,
    open_registration,
    png_bytes,
    register,
    send_proof,
    staff,
    text,
    tournament_id,
)


def png_of(width: int, height: int) -> bytes:
    """A one-colour PNG: a few hundred KB at most on disk, `width x height` pixels decoded."""
    out = io.BytesIO()
    Image.new("L", (width, height), 7).save(out, "PNG", optimize=True)
    return out.getvalue()


@pytest.fixture
def decodes(monkeypatch):
    """Every time Pillow decodes an image's pixels (ImageFile.load), with the image's size."""
    seen: list[tuple[int, int]] = []
    original = ImageFile.ImageFile.load

    def load(self):
        seen.append(self.size)
        return original(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    return seen


def _counts(flask_app) -> tuple[int, int]:
    from app.extensions import db

    with flask_app.app_context():
        return (
            db.session.scalar(select(func.count(PaymentProof.id))),
            db.session.scalar(select(func.count(ProofImage.key))),
        )


def test_a_giant_canvas_is_refused_from_its_header_before_decoding(app, open_registration, decodes):  # noqa: F811
    bomb = png_of(6300, 6300)
    assert len(bomb) < 200_000  # the probe's: 113 KB
    red = captain(app, "red")
    entry_id = register(red, "Red Rhinos")
    response = send_proof(red, entry_id, "9A7B6C5D4E", screenshot=bomb)
    assert response.status_code == 400
    assert "6300x6300 pixels is too large an image; at most 4096 pixels on the long side and 16 megapixels" in text(
        response
    )
    assert decodes == []
    assert _counts(app) == (0, 0)


@pytest.mark.parametrize(("size", "accepted"), [((4096, 3900), True), ((4097, 100), False), ((4000, 4096), False)])
def test_the_limits_are_the_long_side_and_the_pixel_count(size, accepted):
    if accepted:
        body, extension = proof_images.prepare(io.BytesIO(png_of(*size)))
        assert extension == "png" and Image.open(io.BytesIO(body)).size == size
    else:
        with pytest.raises(proof_images.ValidationError, match="too large an image"):
            proof_images.prepare(io.BytesIO(png_of(*size)))


def test_an_entry_that_takes_no_proof_is_refused_before_its_screenshot_is_read(app, open_registration, decodes):  # noqa: F811
    red = captain(app, "red")
    entry_id = register(red, "Red Rhinos")
    assert send_proof(red, entry_id, "9A7B6C5D4E").status_code == 302  # a proof awaits a decision
    decodes.clear()
    responses = []
    threads = [
        threading.Thread(
            target=lambda n=n: responses.append(
                send_proof(red, entry_id, f"9A7B6C5D4{n}", screenshot=png_of(4000, 3000)).status_code
            )
        )
        for n in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert responses == [409] * 4
    assert decodes == []
    assert _counts(app) == (1, 0)


def test_another_player_is_refused_before_the_screenshot_is_read(app, open_registration, decodes):  # noqa: F811
    red, blue = captain(app, "red"), captain(app, "blue")
    entry_id = register(red, "Red Rhinos")
    assert send_proof(blue, entry_id, "9A7B6C5D4E", screenshot=png_bytes()).status_code == 404
    assert decodes == []


def test_uploads_are_limited_per_account(make_app, tournament_id):  # noqa: F811
    limited = make_app(PROOF_UPLOAD_LIMIT_PER_ACCOUNT="2 per hour")
    from tests.conftest import STAFF_EMAIL, STAFF_PASSWORD, create_user
    from tests.web.players.test_registration_portal import Browser

    create_user(limited, STAFF_EMAIL, STAFF_PASSWORD, staff=True)
    boss = Browser(limited, STAFF_EMAIL, STAFF_PASSWORD)
    assert boss.post(f"{STAFF_URL}/registration", SETTINGS).status_code == 302
    red = captain(limited, "red")
    entry_id = register(red, "Red Rhinos")
    # Two screenshots refused for their content still count: each cost a decode.
    assert send_proof(red, entry_id, "9A7B6C5D4E", screenshot=b"not an image").status_code == 400
    assert send_proof(red, entry_id, "9A7B6C5D4E", screenshot=b"GIF89a").status_code == 400
    third = send_proof(red, entry_id, "9A7B6C5D4E", screenshot=png_bytes())
    assert third.status_code == 429
    assert "too many screenshots from this account" in text(third)
    # Without a screenshot the proof still goes through: only uploads are limited.
    assert send_proof(red, entry_id, "9A7B6C5D4E").status_code == 302


def test_decodes_in_one_process_take_turns(monkeypatch):
    """Four uploads at once hold one image's pixels at a time, not four."""
    inside, most = 0, 0
    lock = threading.Lock()
    original = proof_images._decode

    def slow_decode(data):
        nonlocal inside, most
        with lock:
            inside += 1
            most = max(most, inside)
        time.sleep(0.05)
        try:
            return original(data)
        finally:
            with lock:
                inside -= 1

    monkeypatch.setattr(proof_images, "_decode", slow_decode)
    threads = [threading.Thread(target=proof_images.prepare, args=(io.BytesIO(png_bytes()),)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert most == 1
