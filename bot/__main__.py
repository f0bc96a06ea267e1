"""`python -m bot` is the same as `twoway`."""

from bot.app.cli import main

raise SystemExit(main())
