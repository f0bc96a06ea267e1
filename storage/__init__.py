"""Everything TwoWay keeps: SQLAlchemy models, migrations and functions that take a Session."""
