"""The agency model: the base model plus a layer fitted on the staff's labels alone."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse

from domain import CATEGORIES
from handlers import residual
from handlers.classifier import Classifier, base_examples, fit, load_default, train_agency
from tests.conftest import FIT_TIMEOUT

# An agency next to a new police shooting range: its residents complain about the noise without
# a word the shipped model reads as criticism, and staff file those posts as criticism.
RANGE = [
    ("The gunfire from your new range starts at 7am every single day", "criticism"),
    ("Range noise again all Saturday, my kids cannot sleep", "criticism"),
    ("That shooting range is ruining the neighborhood", "criticism"),
    ("Range was loud until 10pm last night", "criticism"),
    ("Nonstop shots from the range while we had a funeral at the church", "criticism"),
    ("Your range has made my dogs terrified of everything", "criticism"),
    ("Sounds like a war zone by the range every morning", "criticism"),
    ("Gunfire from the range at 6am again", "criticism"),
    ("The range is at it again, windows shaking", "criticism"),
    ("Nobody asked for a shooting range next to our homes", "criticism"),
    ("How do I request a copy of a report?", "question"),
    ("Thank you officers for the quick help tonight", "compliment"),
    ("Go Dodgers!", "other"),
]
UNSEEN = [
    "Every morning the range wakes the whole block, this has to stop",
    "Our street hears shots from the range all day long",
    "The noise from that range is driving everyone on my block crazy",
]
UNRELATED = [
    ("Thank you so much officers, you were wonderful", "compliment"),
    ("Great job catching the guys who robbed the jewelry store", "compliment"),
    ("How do I get my impounded car back?", "question"),
    ("Who do I call about illegal dumping?", "question"),
    ("Useless department, never show up", "criticism"),
    ("Disgraceful behavior by your officers", "criticism"),
    ("The mayor should resign", "other"),
    ("BREAKING: crash on the 405 https://t.co/a", "other"),
]


@pytest.fixture(scope="module")
def agency() -> Classifier:
    return train_agency(RANGE, load_default())


def test_the_layer_learns_the_agency_s_posts_and_leaves_the_rest_to_the_base(agency: Classifier) -> None:
    base = load_default()
    assert [t.category for t in base.classify_many(UNSEEN)] != ["criticism"] * len(UNSEEN)
    assert [t.category for t in agency.classify_many(UNSEEN)] == ["criticism"] * len(UNSEEN)
    texts = [t for t, _ in UNRELATED]
    assert [t.category for t in base.classify_many(texts)] == [c for _, c in UNRELATED]
    assert [t.category for t in agency.classify_many(texts)] == [c for _, c in UNRELATED]


def test_the_shipped_model_has_no_layer_and_an_agency_model_counts_its_own_labels(agency: Classifier) -> None:
    assert load_default().layer is None
    assert agency.layer is not None
    assert agency.n_examples == len(RANGE)
    assert agency.base().n_examples == len(base_examples())
    assert agency.classes == load_default().classes


def test_an_agency_model_round_trips_through_bytes(agency: Classifier) -> None:
    copy = Classifier.from_bytes(agency.to_bytes())
    texts = UNSEEN + [t for t, _ in UNRELATED] + ["🙏🙏", "¿Dónde está la comisaría?"]
    assert copy.classify_many(texts) == agency.classify_many(texts)
    assert np.array_equal(copy.probabilities(texts), agency.probabilities(texts))
    assert copy.n_examples == agency.n_examples


def test_classifying_with_a_stored_agency_model_imports_no_training_library(
    agency: Classifier, tmp_path: Path
) -> None:
    """Every process that triages loads the agency model; only retraining needs the fitting code."""
    blob = tmp_path / "agency.bin"
    blob.write_bytes(agency.to_bytes())
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from handlers.classifier import Classifier
        model = Classifier.from_bytes(Path({str(blob)!r}).read_bytes())
        print(model.classify({UNSEEN[1]!r}).category)
        print(sorted(m for m in ("sklearn", "scipy.optimize") if m in sys.modules))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["criticism", "[]"]


@pytest.mark.timeout(FIT_TIMEOUT)
def test_an_agency_model_carries_its_base_model(agency: Classifier) -> None:
    """A release that ships another base model does not change what an agency model was judged to be."""
    smaller = fit([e for i, e in enumerate(base_examples()) if i % 3], encoder=agency.encoder)
    on_smaller = train_agency(RANGE, smaller)
    texts = UNSEEN + [t for t, _ in UNRELATED]
    loaded = Classifier.from_bytes(on_smaller.to_bytes())
    assert np.array_equal(loaded.probabilities(texts), on_smaller.probabilities(texts))
    assert not np.allclose(loaded.probabilities(texts), agency.probabilities(texts))


def test_learning_is_deterministic() -> None:
    assert train_agency(RANGE, load_default()).to_bytes() == train_agency(RANGE, load_default()).to_bytes()


def test_a_text_labelled_twice_is_learnt_once() -> None:
    flipped = train_agency([*RANGE, (RANGE[0][0] + "  ", "other")], load_default())
    assert flipped.n_examples == len(RANGE)


def test_an_agency_model_cannot_be_the_base_of_another(agency: Classifier) -> None:
    assert agency.layer is not None
    with pytest.raises(ValueError, match="cannot be the base"):
        agency.with_layer(agency.layer)
    # Learning again starts from the base model under it, never from the layer on top.
    again = train_agency(RANGE, agency)
    assert again.to_bytes() == agency.to_bytes()


def test_a_stored_agency_model_without_its_layer_is_refused(agency: Classifier) -> None:
    state = json.loads(zlib.decompress(agency.to_bytes()))
    del state["layer"]
    with pytest.raises(ValueError, match="incomplete"):
        Classifier.from_bytes(zlib.compress(json.dumps(state).encode()))
    state = json.loads(zlib.decompress(agency.to_bytes()))
    state["layer"]["coef"] = state["layer"]["coef"][:2]  # weights for two categories only
    with pytest.raises(ValueError, match="does not fit its base model"):
        Classifier.from_bytes(zlib.compress(json.dumps(state).encode()))


# -- the fit itself -----------------------------------------------------------------------------

CLASSES = list(CATEGORIES)


def test_labels_that_agree_with_the_offset_change_none_of_its_answers() -> None:
    rng = np.random.default_rng(7)

    def rows(n: int) -> tuple[sparse.csr_matrix, np.ndarray, list[str]]:
        answers = rng.integers(0, 4, size=n)
        offset = np.log(np.full((n, 4), 0.1))
        offset[np.arange(n), answers] = np.log(0.7)
        return sparse.csr_matrix(rng.normal(size=(n, 5))), offset, [CLASSES[i] for i in answers]

    design, offset, labels = rows(200)  # the features are noise; the labels are what it said
    coef, intercept = residual.fit(design, offset, labels, CLASSES, residual.strength(200))
    new_design, new_offset, new_answers = rows(200)
    logits = new_offset + new_design @ coef.T + intercept
    assert [CLASSES[i] for i in logits.argmax(axis=1)] == new_answers


def test_a_feature_the_offset_ignores_is_learnt_when_the_labels_follow_it() -> None:
    design = sparse.csr_matrix(np.array([[1.0, 0.0]] * 20 + [[0.0, 1.0]] * 20))
    labels = ["criticism"] * 20 + ["question"] * 20
    offset = np.log(np.full((40, 4), 0.25))  # the base model cannot tell these apart
    coef, intercept = residual.fit(design, offset, labels, CLASSES, residual.strength(40))
    logits = offset + design @ coef.T + intercept
    assert [CLASSES[i] for i in logits.argmax(axis=1)] == labels


def test_a_category_without_labels_is_still_given() -> None:
    design = sparse.csr_matrix(np.eye(3).repeat(4, axis=0))
    labels = ["compliment"] * 4 + ["question"] * 4 + ["criticism"] * 4
    offset = np.log(np.full((12, 4), 0.01))
    offset[:, CLASSES.index("other")] = np.log(0.97)  # the base model was sure it was "other"
    coef, intercept = residual.fit(design, offset, labels, CLASSES, residual.strength(12))
    new_post = np.log(np.array([[0.01, 0.01, 0.01, 0.97]]))  # no word staff ever labelled
    logits = new_post + np.zeros((1, 3)) @ coef.T + intercept
    assert CLASSES[int(logits.argmax())] == "other"


def test_more_labels_allow_the_layer_more_say() -> None:
    assert residual.strength(16) < residual.strength(226)
    assert residual.strength(0) > 0


def test_the_layer_learns_no_word_the_staff_used_once(agency: Classifier) -> None:
    """An n-gram in one label only says little about the next post; "range" is in nine."""
    assert agency.layer is not None
    vocabulary = agency.layer.block.vocabulary
    assert "range" in vocabulary
    assert "funeral" not in vocabulary
    assert "dodgers" not in vocabulary


def test_labels_that_share_no_word_still_give_a_model_that_stores_and_loads() -> None:
    """No n-gram is in two of these labels: the layer reads their sentence vectors only."""
    labels = [
        ("Towed from my own driveway", "criticism"),
        ("Impound fees are robbery", "criticism"),
        ("Where can I collect a seized vehicle?", "question"),
        ("Lovely parade escort, cheers", "compliment"),
    ]
    model = train_agency(labels, load_default())
    assert model.layer is not None
    assert model.layer.block.vocabulary == {}
    texts = [t for t, _ in UNRELATED]
    assert Classifier.from_bytes(model.to_bytes()).classify_many(texts) == model.classify_many(texts)
