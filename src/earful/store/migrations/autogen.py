"""Developer tool: autogenerate a migration against a scratch SQLite database.

    python -m earful.store.migrations.autogen "add escalations" 0002 --branch escalation

A feature's first revision starts its own branch off the baseline (``--branch``), so features
developed in parallel never fight over one linear history; ``earful db upgrade`` applies all heads.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from alembic import command
from alembic.config import Config

from earful.store.db import MIGRATIONS_DIR, make_engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("message")
    parser.add_argument("rev_id")
    parser.add_argument("--branch", help="start a new branch off the baseline with this label")
    parser.add_argument("--head", default="heads", help="parent revision (default: all heads)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'scratch.db'}")
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "heads")
            command.revision(
                cfg,
                message=args.message,
                autogenerate=True,
                rev_id=args.rev_id,
                head="0001" if args.branch else args.head,
                branch_label=args.branch,
            )


if __name__ == "__main__":
    main()
