"""`python -m bot` is the same as `twoway`."""

from bot.cli import main

raise SystemExit(main())
