"""The card in the review channel and what staff do with it: send, edit, like, dismiss, reclassify."""
