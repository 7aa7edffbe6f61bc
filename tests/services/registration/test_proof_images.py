"""Payment screenshots: only real PNG/JPEG/WebP images up to 2 MB are kept, re-encoded without
their metadata and outside static/; anything else is a clear 400 with nothing stored (no file,
no proof). The stored image is served to staff and the team only, privately and inline."""

from __future__ import annotations

import io
import os
import re

import pytest
from PIL import Image, PngImagePlugin
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from app.errors import NotFound, ValidationError
from app.extensions import db
from app.models import Entry, PaymentProof
from app.services.registration import proof_images
from tests.conftest import STAFF_EMAIL, STAFF_PASSWORD, create_user
from tests.factories import br_tournament
from tests.web.players.test_registration_portal import SETTINGS, SLUG, Browser, captain, register, send_proof, text


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def open_registration(app):
    """A tournament taking paid entries (BDT 500, bKash or Nagad); its staff member."""
    with app.app_context():
        br_tournament(SLUG, status="registration", teams=())
        db.session.commit()
    create_user(app, STAFF_EMAIL, STAFF_PASSWORD, staff=True)
    staff = Browser(app, STAFF_EMAIL, STAFF_PASSWORD)
    assert staff.post(f"/staff/tournaments/{SLUG}/registration", SETTINGS).status_code == 302
    return staff


pytestmark = pytest.mark.usefixtures("open_registration")


@pytest.fixture
def proofs_dir(app):
    """Where screenshots are kept: the database (every app host reads the same ones)."""
    return app


def stored_files(app) -> list[str]:
    from app.models import ProofImage

    with app.app_context():
        return sorted(db.session.scalars(db.select(ProofImage.key)))


def stored_bytes(app, key: str) -> bytes:
    from app.models import ProofImage

    with app.app_context():
        return bytes(db.session.get(ProofImage, key).data)


def jpeg_with_exif() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "SecretPhoneMaker"  # Make
    exif[0x0110] = "Model-XYZ-123"  # Model
    exif[0x0131] = "EditorSoftware"  # Software
    out = io.BytesIO()
    Image.new("RGB", (360, 720), (30, 120, 220)).save(out, "JPEG", exif=exif.tobytes(), quality=95)
    return out.getvalue()


def proof_count(app) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count(PaymentProof.id)))


@pytest.fixture
def team(app):
    browser = captain(app, "shot")
    return browser, register(browser, "Screenshot Team")


def post_multipart(browser, entry_id, fields: dict):
    """The proof form as a browser posts it. Encoded here, in memory: for a body over 500 kB the
    test client would spool it to a temporary file that it never closes."""
    boundary, body = encode_multipart({"csrf_token": browser.token, **fields})
    return browser.client.post(
        f"/account/registrations/{entry_id}/proof",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def upload(browser, entry_id, data: bytes, filename="payment.png"):
    return post_multipart(
        browser,
        entry_id,
        {
            "method": "bkash",
            "transaction_id": "SHOT12345",
            "amount": "500",
            "screenshot": FileStorage(io.BytesIO(data), filename),
        },
    )


def test_a_real_image_is_kept_without_its_metadata(app, team, proofs_dir):
    browser, entry_id = team
    original = jpeg_with_exif()
    assert b"SecretPhoneMaker" in original
    assert upload(browser, entry_id, original, "IMG_0001.jpg").status_code == 302
    files = stored_files(proofs_dir)
    assert len(files) == 1 and files[0].endswith(".jpg")
    kept = stored_bytes(app, files[0])
    assert b"SecretPhoneMaker" not in kept and b"Model-XYZ" not in kept and b"Exif" not in kept
    image = Image.open(io.BytesIO(kept))
    assert (image.format, image.size) == ("JPEG", (360, 720)) and not image.getexif()
    with app.app_context():
        proof = db.session.scalar(db.select(PaymentProof))
        assert proof.screenshot_key == files[0] and "IMG_0001" not in proof.screenshot_key


def test_png_text_chunks_are_dropped_and_transparency_kept(app, team, proofs_dir):
    browser, entry_id = team
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "sender phone 01711111111")
    out = io.BytesIO()
    Image.new("RGBA", (50, 40), (255, 0, 0, 128)).save(out, "PNG", pnginfo=info)
    assert b"01711111111" in out.getvalue()
    assert upload(browser, entry_id, out.getvalue()).status_code == 302
    (name,) = stored_files(proofs_dir)
    kept = stored_bytes(app, name)
    assert b"01711111111" not in kept
    image = Image.open(io.BytesIO(kept))
    assert image.mode == "RGBA" and image.getpixel((0, 0)) == (255, 0, 0, 128) and not image.text


def big_noise_png() -> bytes:
    """A real PNG of about 3 MB (noise does not compress)."""
    out = io.BytesIO()
    Image.frombytes("RGB", (1000, 1000), os.urandom(3_000_000)).save(out, "PNG", compress_level=0)
    return out.getvalue()


def bomb_png(width=8000, height=8000) -> bytes:
    """A few kB of PNG declaring 64 megapixels."""
    out = io.BytesIO()
    Image.new("1", (width, height)).save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    "make, filename, message",
    [
        (lambda: b"This is a text file, not a picture.\n" * 20, "payment.png", "not a PNG, JPEG or WebP image"),
        (lambda: b"%PDF-1.4\n" + b"0" * 500, "receipt.jpg", "not a PNG, JPEG or WebP image"),
        (lambda: png_gif(), "payment.gif", "not a PNG, JPEG or WebP image"),
        (lambda: png_truncated(), "payment.png", "damaged or cut short"),
        (bomb_png, "bomb.png", "too large an image"),
        (lambda: bomb_png(20000, 20000), "bigger-bomb.png", "too many pixels"),
        (big_noise_png, "huge.png", "larger than 2 MB"),
    ],
)
def test_bad_files_are_refused_with_a_clear_400_and_nothing_stored(app, team, proofs_dir, make, filename, message):
    browser, entry_id = team
    data = make()
    response = upload(browser, entry_id, data, filename)
    assert response.status_code == 400
    html = text(response)
    assert message in html and 'id="screenshot-errors"' in html
    assert stored_files(proofs_dir) == []
    assert proof_count(app) == 0
    with app.app_context():
        assert db.session.get(Entry, entry_id).payment_status == "none"
    # The captain can send a good one straight after.
    assert send_proof(browser, entry_id, "GOOD12345").status_code == 302


def png_gif() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 20)).save(out, "GIF")
    return out.getvalue()


def png_truncated() -> bytes:
    out = io.BytesIO()
    Image.frombytes("RGB", (200, 200), os.urandom(120_000)).save(out, "PNG")
    return out.getvalue()[:5000]


def test_a_screenshot_over_the_limit_with_other_fields_too_big_is_refused(app, team, proofs_dir):
    """Beyond the proof form's own request limit the body is not read at all (413), still
    nothing stored."""
    browser, entry_id = team
    response = upload(browser, entry_id, b"\x89PNG" + b"0" * (5 * 1024 * 1024), "huge.png")
    assert response.status_code == 413
    assert stored_files(proofs_dir) == [] and proof_count(app) == 0


def test_a_service_refusal_removes_the_stored_screenshot(app, team, proofs_dir):
    browser, entry_id = team
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, "PNG")
    response = browser.post(
        f"/account/registrations/{entry_id}/proof",
        {
            "method": "bkash",
            "transaction_id": "LOW12345",
            "amount": "5",
            "screenshot": (io.BytesIO(out.getvalue()), "a.png"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400 and "the entry fee is BDT 500.00" in text(response)
    assert stored_files(proofs_dir) == [] and proof_count(app) == 0


@pytest.fixture
def shot(app, team):
    browser, entry_id = team
    assert send_proof(browser, entry_id, "ACCESS123", screenshot=jpeg_with_exif()).status_code == 302
    with app.app_context():
        proof = db.session.scalar(db.select(PaymentProof).where(PaymentProof.entry_id == entry_id))
    return browser, entry_id, f"/proofs/{proof.id}/screenshot"


def test_the_team_and_staff_see_the_screenshot_privately(app, shot, open_registration):
    browser, _entry_id, url = shot
    for viewer in (browser, open_registration):
        response = viewer.get(url)
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "image/jpeg"
        assert response.headers["Cache-Control"] == "private, no-store"
        assert response.headers["Content-Disposition"].startswith("inline")
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert Image.open(io.BytesIO(response.data)).size == (360, 720)
        assert b"SecretPhoneMaker" not in response.data


def test_a_teammate_sees_it_other_players_and_anonymous_do_not(app, shot):
    browser, entry_id, url = shot
    page = browser.post(f"/account/registrations/{entry_id}/join-code")
    code = re.search(r'<code id="join-code">([A-Z0-9-]+)</code>', text(page)).group(1)
    mate = captain(app, "teammate")
    assert mate.post("/account/teams", {"code": code}).status_code == 302
    assert mate.get(url).status_code == 200

    other = captain(app, "other")
    response = other.get(url)
    assert response.status_code == 404 and b"\xff\xd8" not in response.data
    anonymous = app.test_client().get(url)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    assert app.test_client().get("/proofs/99999/screenshot").status_code == 302


def test_the_screenshot_is_never_under_static(app, shot):
    _browser, _entry_id, url = shot
    static_root = os.path.join(app.root_path, "static")
    for _root, _dirs, files in os.walk(static_root):
        assert not any(name.endswith((".jpg", ".webp")) and len(name) > 30 for name in files)
    assert app.test_client().get("/static/proofs/").status_code == 404


def test_keys_are_never_paths(app):
    with app.app_context():
        for key in ("../../etc/passwd", "/etc/passwd", "x.png", "", "A" * 32 + ".gif"):
            with pytest.raises(NotFound):
                proof_images.open(key)
        with pytest.raises(ValidationError, match="empty"):
            proof_images.store(io.BytesIO(b""))


def test_webp_round_trip(app):
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (1, 2, 3)).save(out, "WEBP")
    with app.app_context():
        key = proof_images.store(io.BytesIO(out.getvalue()))
        assert key.endswith(".webp")
        stored = proof_images.open(key)
    assert stored.mimetype == "image/webp" and Image.open(io.BytesIO(stored.data)).size == (64, 48)


def test_the_proof_form_still_checks_csrf(app, team, proofs_dir):
    """The proof view runs the CSRF check itself (after raising its body limit): a forged post
    is refused before any file is looked at."""
    browser, entry_id = team
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, "PNG")
    boundary, body = encode_multipart(
        {
            "method": "bkash",
            "transaction_id": "FORGED123",
            "amount": "500",
            "screenshot": FileStorage(io.BytesIO(out.getvalue()), "a.png"),
        }
    )
    response = browser.client.post(
        f"/account/registrations/{entry_id}/proof",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert response.status_code == 400
    assert stored_files(proofs_dir) == [] and proof_count(app) == 0
    anonymous = app.test_client().post(f"/account/registrations/{entry_id}/proof")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
