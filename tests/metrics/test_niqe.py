"""NIQE: an independent loop-by-loop transliteration of MATLAB's computequality.m, the AGGD
estimator against samples of known shape, MATLAB's NaN semantics, and the metric's properties."""

import hashlib
from importlib import resources

import numpy as np
import pytest
from PIL import Image
from scipy import stats
from scipy.ndimage import correlate, gaussian_filter
from scipy.special import gamma

from srlab.metrics import niqe
from srlab.metrics.niqe import aggd_params, mscn, niqe_features, pristine_model
from srlab.ops import rgb_to_y
from srlab.ops.resize import imresize

# Published in shared/data/niqe/README.md for the MATLAB parameters distributed by BasicSR.
PRISTINE_SHA256 = "2a7c182a68c9e7f1b2e2e5ec723279d6f65d912b6fcaf37eb2bf03d7367c4296"


def _photo(shared_dir, name):
    path = shared_dir / "data" / "photos" / "dev" / name
    return np.asarray(Image.open(path).convert("RGB"))


@pytest.fixture(scope="module")
def baboon(shared_dir):
    return _photo(shared_dir, "opencv_baboon.png")


@pytest.fixture(scope="module")
def butterfly(shared_dir):
    return _photo(shared_dir, "opencv_butterfly.png")


# ---- an independent reference, written the way the MATLAB code reads ----


def _ref_estimateaggdparam(vec):
    gam = np.arange(0.2, 10.001, 0.001)
    r_gam = gamma(2.0 / gam) ** 2 / (gamma(1.0 / gam) * gamma(3.0 / gam))
    leftstd = np.sqrt(np.mean(vec[vec < 0] ** 2))
    rightstd = np.sqrt(np.mean(vec[vec > 0] ** 2))
    gammahat = leftstd / rightstd
    rhat = np.mean(np.abs(vec)) ** 2 / np.mean(vec**2)
    rhatnorm = rhat * (gammahat**3 + 1) * (gammahat + 1) / (gammahat**2 + 1) ** 2
    alpha = gam[np.argmin((r_gam - rhatnorm) ** 2)]
    factor = np.sqrt(gamma(1.0 / alpha) / gamma(3.0 / alpha))
    return alpha, leftstd * factor, rightstd * factor


def _ref_computefeature(block):
    alpha, betal, betar = _ref_estimateaggdparam(block.ravel())
    feat = [alpha, (betal + betar) / 2]
    for shift in ([0, 1], [1, 0], [1, 1], [1, -1]):
        pair = block.ravel() * np.roll(block, shift, axis=(0, 1)).ravel()
        alpha, betal, betar = _ref_estimateaggdparam(pair)
        feat += [alpha, (betar - betal) * gamma(2 / alpha) / gamma(1 / alpha), betal, betar]
    return feat


def _ref_computequality(im, mu_prisparam, cov_prisparam, window):
    rows, cols = im.shape[0] // 96, im.shape[1] // 96
    im = im[: rows * 96, : cols * 96]
    feat = []
    for itr_scale in (1, 2):
        mu = correlate(im, window, mode="nearest")
        sigma = np.sqrt(np.abs(correlate(im * im, window, mode="nearest") - mu * mu))
        structdis = (im - mu) / (sigma + 1)
        size = 96 // itr_scale
        feat.append(
            [
                _ref_computefeature(structdis[r * size : (r + 1) * size, c * size : (c + 1) * size])
                for c in range(cols)
                for r in range(rows)
            ]
        )
        im = imresize(im, 0.5)
    distparam = np.hstack([np.array(f) for f in feat])
    mu_distparam = np.nanmean(distparam, axis=0)
    cov_distparam = np.cov(distparam[~np.isnan(distparam).any(axis=1)], rowvar=False)
    invcov_param = np.linalg.pinv((cov_prisparam + cov_distparam) / 2)
    diff = mu_prisparam - mu_distparam
    return float(np.sqrt(diff @ invcov_param @ diff))


# ---- tests ----


def test_pristine_model_is_the_published_file():
    data = resources.files("srlab.metrics").joinpath("data/niqe_pris_params.npz").read_bytes()
    assert hashlib.sha256(data).hexdigest() == PRISTINE_SHA256
    model = pristine_model()
    assert model.mu.shape == (36,) and model.cov.shape == (36, 36) and model.window.shape == (7, 7)
    assert model.window.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(model.cov, model.cov.T)
    license_note = resources.files("srlab.metrics").joinpath("data/NIQE-LICENSE.md").read_text()
    assert "Apache License" in license_note and "BasicSR" in license_note


@pytest.mark.parametrize("name", ["baboon", "butterfly"])
def test_matches_the_matlab_transliteration(request, name):
    rgb = request.getfixturevalue(name)[:288, :384]
    y = rgb_to_y(rgb.astype(np.float64), round_y=True)
    model = pristine_model()
    # Precondition of an exact comparison: no flat neighbourhoods, where the reference's
    # E[x^2] - mu^2 leaves rounding residue (srlab gives exact zeros there by design).
    assert np.abs(mscn(y, model.window)).min() > 1e-6
    expected = _ref_computequality(y, model.mu, model.cov, model.window)
    assert niqe(rgb) == pytest.approx(expected, rel=1e-9)
    assert 2 < expected < 10


def test_mscn_matches_the_filter_formula_and_is_exactly_zero_where_flat(baboon):
    window = pristine_model().window
    y = rgb_to_y(baboon[:64, :80].astype(np.float64))
    mu = correlate(y, window, mode="nearest")
    expected = (y - mu) / (np.sqrt(np.abs(correlate(y * y, window, mode="nearest") - mu**2)) + 1)
    np.testing.assert_allclose(mscn(y, window), expected, rtol=0, atol=1e-12)
    flat = y.copy()
    flat[10:40, 20:60] = 117.0
    assert np.all(mscn(flat, window)[13:37, 23:57] == 0.0)


@pytest.mark.parametrize("shape", [0.6, 1.3, 2.0, 3.5])
def test_aggd_fit_recovers_generalised_gaussian_shape_and_scale(shape):
    samples = stats.gennorm.rvs(shape, scale=0.7, size=200_000, random_state=1)
    alpha, beta_l, beta_r = aggd_params(samples[None])
    assert alpha[0] == pytest.approx(shape, rel=0.03)
    assert beta_l[0] == pytest.approx(0.7, rel=0.03) and beta_r[0] == pytest.approx(0.7, rel=0.03)


def test_aggd_fit_matches_brute_force_grid_search_row_by_row():
    rng = np.random.default_rng(4)
    rows = np.concatenate(
        [
            rng.standard_normal((20, 500)) * rng.uniform(0.2, 3, (20, 1)),
            stats.gennorm.rvs(0.8, size=(20, 500), random_state=5) - 0.3,
        ]
    )
    alpha, beta_l, beta_r = aggd_params(rows)
    expected = np.array([_ref_estimateaggdparam(r) for r in rows])
    np.testing.assert_allclose(alpha, expected[:, 0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(beta_l, expected[:, 1], rtol=1e-12)
    np.testing.assert_allclose(beta_r, expected[:, 2], rtol=1e-12)


def test_one_sided_samples_follow_matlab_nan_semantics():
    """No negative values: MATLAB's min over an all-NaN vector picks the first grid alpha."""
    samples = np.array([0.0, 1.0, 2.0, 0.5])
    with pytest.warns(RuntimeWarning, match="empty"), np.errstate(invalid="ignore"):
        expected = _ref_estimateaggdparam(samples)
    alpha, beta_l, beta_r = aggd_params(samples[None])
    assert alpha[0] == expected[0] == pytest.approx(0.2)
    assert np.isnan(beta_l[0]) and np.isnan(expected[1])
    assert beta_r[0] == pytest.approx(expected[2], rel=1e-14) and np.isfinite(beta_r[0])


def test_degraded_photos_score_worse(baboon, butterfly):
    for rgb in (baboon, butterfly):
        blurred = np.round(gaussian_filter(rgb.astype(float), sigma=(2.5, 2.5, 0)))
        noise = np.random.default_rng(0).normal(0, 25, rgb.shape)
        noisy = np.clip(np.round(rgb + noise), 0, 255).astype(np.uint8)
        clean = niqe(rgb)
        assert niqe(blurred.astype(np.uint8)) > clean + 1
        assert niqe(noisy) > clean + 1


def test_crop_border_and_input_types(baboon):
    img = baboon[:300, :310]
    assert niqe(img, crop_border=5) == niqe(img[5:-5, 5:-5])
    gray_y = rgb_to_y(img.astype(np.float64), round_y=True).astype(np.uint8)
    assert niqe(img) == niqe(gray_y)
    assert niqe(img.astype(np.uint16) * 257) == niqe(img)
    assert niqe(img / 255.0) == niqe(img)


def test_only_whole_blocks_from_the_top_left_count(baboon):
    img = baboon[:200, :300]
    assert niqe(img) == niqe(img[:192, :288])


def test_size_limits_are_clear_errors(baboon):
    assert np.isfinite(niqe(baboon[:96, :192]))
    with pytest.raises(ValueError, match="two whole 96 x 96 blocks"):
        niqe(baboon[:95, :300])
    with pytest.raises(ValueError, match="two whole 96 x 96 blocks"):
        niqe(baboon[:191, :191])
    with pytest.raises(ValueError, match="two whole 96 x 96 blocks"):
        niqe(baboon[:200, :200], crop_border=5)


def test_flat_image_is_undefined():
    assert np.isnan(niqe(np.full((192, 192), 128, np.uint8)))


def test_features_have_36_columns_per_block(baboon):
    y = rgb_to_y(baboon[:192, :288].astype(np.float64))
    feats = niqe_features(y, pristine_model().window)
    assert feats.shape == (6, 36) and np.isfinite(feats).all()
