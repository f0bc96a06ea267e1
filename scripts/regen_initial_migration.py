"""Regenerate migration 0001 from storage/models.py (only while 0001 is unreleased).

Once TwoWay has a release, schema changes get a new revision instead:
write it with `alembic revision --autogenerate` through storage.migrate.alembic_config.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from alembic import command

from storage.db import make_engine
from storage.migrate import MIGRATIONS, alembic_config


def main() -> None:
    versions = MIGRATIONS / "versions"
    for old in versions.glob("0001_*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'gen.db'}")
        config = alembic_config(engine)
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.revision(config, message="initial schema", autogenerate=True, rev_id="0001")
        engine.dispose()
    generated = next(versions.glob("0001_*.py"))
    source = generated.read_text().replace("astext_type=Text()", "astext_type=sa.Text()")
    generated.write_text(source.replace("Revises: \n", "Revises:\n"))
    subprocess.run([sys.executable, "-m", "ruff", "check", "--fix", "-q", str(generated)], check=False)
    subprocess.run([sys.executable, "-m", "ruff", "format", "-q", str(generated)], check=False)
    print(f"wrote {generated}")


if __name__ == "__main__":
    main()
