"""TwoWay's judgement: pure functions that classify mentions and draft replies."""
