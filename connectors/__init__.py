"""One module per platform; each turns the platform's API into TwoWay's domain types."""
