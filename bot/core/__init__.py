"""Infrastructure every part of the bot uses: settings, logging, time, encryption, the context."""
